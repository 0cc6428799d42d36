"""Hostile volunteer text, and the checker that says whether GitHub could act on what the receiver wrote.

`HOSTILE` is the corpus: strings a volunteer could send as a video URL, a
label name or a metadata value, each trying to make a PR title, body or
commit message mention someone, reference or close an issue, forge a
trailer, link, inject HTML, break out of a code span or break a table.

`constructs` is the specification of "inert": it names every GitHub
construct that could form in a piece of text the receiver wrote. It is
deliberately stricter than GitHub (any `@`, any `#`, any `[`, any `<`, any
run of 7 hex characters counts), so passing it leaves no doubt.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["HOSTILE", "HOSTILE_URLS", "constructs"]

_TICKS = ["`" * n for n in range(1, 8)]

HOSTILE: tuple[str, ...] = (
    # Mentions, team mentions, lookalike at-signs.
    "@octocat",
    "hi @octocat and @github/security-team",
    "@org/team",
    "x@octocat",
    "(@octocat)",
    "\uff20octocat",
    "\ufe6boctocat",
    "octocat@a5c3785ed8d6a35868bc169f07e40e889087fd2e",
    # Issue and pull request references in every form GitHub links.
    "#1",
    "see #1, #22 and #333",
    "GH-1",
    "gh-42",
    "owner/repo#1",
    "github-linguist/linguist#4039",
    "https://github.com/owner/repo/issues/1",
    "https://github.com/owner/repo/pull/2#issuecomment-3",
    "\uff031",
    # Commit SHAs, short and long, alone and qualified.
    "a5c3785",
    "a5c3785ed8d6a35868bc169f07e40e889087fd2e",
    "owner/repo@a5c3785ed8d6a35868bc169f07e40e889087fd2e",
    "https://github.com/owner/repo/commit/a5c3785ed8d6a35868bc169f07e40e889087fd2e",
    "1234567",
    # Closing keywords, every verb form, with and without a colon.
    "Closes #1",
    "closes: #1",
    "Close #1",
    "closed #1",
    "Fix #1",
    "fixes #1",
    "FIXED: GH-1",
    "Resolve owner/repo#1",
    "resolves https://github.com/owner/repo/issues/1",
    "resolved #1",
    # Trailers after blank lines, LF and CRLF.
    "x\n\nCo-authored-by: Mallory <mallory@example.org>",
    "x\r\n\r\nSigned-off-by: Mallory <mallory@example.org>",
    "Co-authored-by: Mallory <mallory@example.org>",
    "x\n\nReviewed-by: someone\nAcked-by: someone-else",
    # HTML: tags, comments, event handlers, details, entities.
    "<!-- hidden -->",
    "<!--",
    "-->",
    "<img src=x onerror=alert(1)>",
    "<details><summary>open me</summary>@octocat</details>",
    "<a href=\"https://evil.example\">click</a>",
    "<script>alert(1)</script>",
    "&#64;octocat",
    "&commat;octocat",
    "&lt;b&gt;",
    # Markdown links, images, autolinks, reference definitions.
    "[click](https://evil.example)",
    "![pixel](https://evil.example/p.png)",
    "[x][1]\n\n[1]: https://evil.example",
    "<https://evil.example>",
    "https://evil.example",
    "http://evil.example/a?b=c&d=e",
    "www.evil.example",
    "WWW.EVIL.EXAMPLE",
    "ftp://evil.example/file",
    "mailto:mallory@example.org",
    "mallory@example.org",
    # Backticks and fences of every length, to break out of code spans.
    *(f"{ticks} @octocat {ticks}" for ticks in _TICKS),
    *(f"{ticks}\n#1\n{ticks}" for ticks in _TICKS),
    "`",
    "``@octocat",
    "~~~\n#1\n~~~",
    # Tables, headings, rules, block quotes, line breaks.
    "a | b | c",
    "|",
    "x\n| a | b |\n| - | - |",
    "x\n\n# Heading",
    "x\n===",
    "x\n---",
    "> quoted #1",
    "x\\\n#1",
    "\\#1",
    "x\ry",
    "x\u0085y",
    "x\u2028#1",
    "x\u2029#1",
    # Invisible and direction-changing characters.
    "@\u200boctocat",
    "#\u200d1",
    "\u202e1# sesolC",
    "\u2066@octocat\u2069",
    "\ufeff#1",
    "G\u00adH-1",
    "tag\U000e0040octocat",
    # Emphasis, math and escapes that might re-join split constructs.
    "**bold** _it_ ~~gone~~",
    "$x$ and $$y$$",
    "\\@octocat",
    "\\`#1\\`",
)

HOSTILE_URLS: tuple[str, ...] = (
    "https://example.org/v.mp4\n\nCloses #1\n\n@octocat\n\nCo-authored-by: Mallory <mallory@example.org>",
    "https://example.org/v.mp4#1",
    "https://example.org/@octocat/v.mp4",
    "https://example.org/v.mp4?ref=GH-1&sha=a5c3785ed8d6a35868bc169f07e40e889087fd2e",
    "https://github.com/owner/repo/issues/1",
    "https://example.org/<img src=x onerror=alert(1)>.mp4",
    "https://example.org/[x](https://evil.example).mp4",
    "https://example.org/`#1`.mp4",
    "https://example.org/a|b.mp4",
    "https://example.org/\u202ev.mp4",
    "https://example.org/v.mp4\u200b",
    "https://user@example.org/v.mp4",
    "https://www.example.org/Closes%20%231.mp4",
    "https://example.org/Fixes-GH-1.mp4",
)

_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)

# Each construct GitHub (or git) could find, matched as strictly as we can say it.
_FOUND: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("mention or user@sha", re.compile(r"[@\uff20\ufe6b]")),
    ("issue reference or heading", re.compile(r"[#\uff03\ufe5f]")),
    ("GH- reference", re.compile(r"(?i)gh-\d")),
    ("URL autolink", re.compile(r"(?i)[a-z][a-z0-9+.-]*://|\bwww\.")),
    ("commit SHA", re.compile(r"[0-9A-Fa-f]{7,}")),
    ("closing keyword with a reference", re.compile(r"(?i)\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\b\s*:?\s*(?:[#\uff03]|gh-\d|[\w.-]+/[\w.-]+#|[a-z]+://)")),
    ("HTML or entity", re.compile(r"[<>&]")),
    ("Markdown link or image", re.compile(r"[\[\]]")),
    ("unbalanced code span", re.compile(r"`")),
    ("invisible or direction-changing character", re.compile("[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]")),
    ("trailer", re.compile(r"(?m)^[ \t]*[A-Za-z0-9][A-Za-z0-9-]*[ \t]*:")),
    ("setext heading, rule or fence", re.compile(r"(?m)^ {0,3}(?:=+|-{2,}|\*{3,}|_{3,}|~{3,}|`{3,})[ \t]*")),
    ("block quote", re.compile(r"(?m)^ {0,3}>")),
)


def _table_broken(text: str) -> bool:
    """Whether the rows of a Markdown table have different numbers of cells than its header."""
    counts: list[int] = []
    for line in [*text.split("\n"), ""]:
        if line.startswith("|"):
            counts.append(len(re.findall(r"(?<!\\)\|", line)))
            continue
        if len(set(counts)) > 1:
            return True
        counts = []
    return False


def constructs(text: str, *, markdown: bool, ours: Iterable[str] = ()) -> list[str]:
    """Every GitHub construct that could form in `text`, by name; empty means inert.

    `markdown` strips well-formed code spans first (GitHub forms nothing
    inside them); plain text (a commit message) gets no such allowance.
    `ours` are exact strings the receiver itself wrote (its record ids, video
    keys, file paths, its record marker), removed before checking.
    """
    for own in sorted(ours, key=len, reverse=True):
        text = text.replace(own, " ")
    found = []
    if "\r" in text:
        found.append("carriage return")
    if markdown:
        if _table_broken(text):
            found.append("table breakage")
        text = _CODE_SPAN.sub(" ", text)
    found += [name for name, pattern in _FOUND if pattern.search(text)]
    return found
