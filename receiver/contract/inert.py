"""Volunteer text made inert: shown to maintainers, acted on by nobody.

Anything a volunteer sent (a video URL, a label name, a timestamp, metadata)
or a token's operator-chosen name can reach a pull request's title or body
or a commit message, which GitHub reads for mentions, issue and commit
references, closing keywords, trailers, links and HTML. `inert` is the one
function that renders such text for those places.

Why an allow-list and not escaping: the same text lands in Markdown (PR
bodies, table cells), in inline Markdown (titles) and in plain text (commit
messages, and PR bodies that become squash-merge messages). Code spans
protect only Markdown and a fence can be outrun; backslash escapes mean
nothing in plain text. So `inert` keeps only characters that start no GitHub
construct in any of those places:

- letters, combining marks and decimal digits of any script, the space, and
  `. , : ; / - _ ( ) + = ? ! ' " %`;
- every other character becomes U+FFFD (one for each run of them): `@` and
  its lookalikes (no mentions, no `user@sha`), `#` (no `#1`, no
  `owner/repo#1`, no headings), `<`, `>` and `&` (no HTML, comments, entities
  or `<https://...>` autolinks), `[`, `]`, `` ` ``, `|`, `*`, `~`, `\\`, `$`
  (no links, images, code spans, tables, escapes or math), and every line
  break, tab, control, zero-width, bidi or other format character (so the
  text stays on the one line its caller put it on: no trailer such as
  `Co-authored-by:` and no block construct can start).

Allowed characters can still spell three constructs, so a U+FFFD is put
inside each: `://` (URL autolinks, which also make full issue URLs
references), `www.` (autolinks without a scheme) and `GH-` before a digit
(an issue reference); and every run of 7 or more hexadecimal characters is
split every 6 (GitHub links a commit SHA from 7). With no reference left,
a closing keyword (`Closes`, `fixes`, `resolves`) has nothing to act on.

What it will not do: make text safe at the start of a line. Callers put it
after their own words (`**Video:** ...`, a table cell), so a line never
begins with volunteer text; the receiver's own identifiers (record ids,
video keys, paths) are not volunteer text and are written as they are.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["MARK", "inert"]

MARK = "\N{REPLACEMENT CHARACTER}"
ELLIPSIS = "\N{HORIZONTAL ELLIPSIS}"

_PUNCTUATION = frozenset(" .,:;/-_()+=?!'\"%")
_KEPT_CATEGORIES = ("L", "M", "Nd")

# Constructs allowed characters can still spell, each split at the place a
# MARK goes (a zero-width match: the text around it is kept).
_SPLIT = re.compile(
    r"(?<=:)(?=//)"  # scheme://
    r"|(?<=[Ww]{3})(?=\.)"  # www.
    r"|(?<=[Gg][Hh])(?=-\d)"  # GH-1, with a digit of any script
)
_HEX_RUN = re.compile(r"[0-9A-Fa-f]{7,}")
_SHORTEST_SHA = 7


def _kept(character: str) -> bool:
    if character in _PUNCTUATION:
        return True
    if character.isascii():
        return character.isalnum()
    return unicodedata.category(character).startswith(_KEPT_CATEGORIES)


def _split_hex(match: re.Match[str]) -> str:
    run = match.group()
    step = _SHORTEST_SHA - 1
    return MARK.join(run[i : i + step] for i in range(0, len(run), step))


def inert(text: object, *, limit: int = 200) -> str:
    """`text` (or its `str()`) shortened to `limit` characters and rendered so GitHub cannot act on it.

    Safe inside a line of a PR title, a PR body (also in a table cell) or a
    commit message; see the module docstring for what is kept and why.
    """
    value = str(text)
    if len(value) > limit:
        value = value[: max(limit - 1, 0)] + ELLIPSIS
    kept: list[str] = []
    for character in value:
        if character == ELLIPSIS or _kept(character):
            kept.append(character)
        elif not kept or kept[-1] != MARK:
            kept.append(MARK)
    rendered = _SPLIT.sub(MARK, "".join(kept))
    return _HEX_RUN.sub(_split_hex, rendered)
