"""What the receiver writes for people: a pull request's title and body, a commit's message.

Pure text from records: which video and frame, which keypoints (placed, x, y;
one table per animal when a submission labels several),
who submitted, which receiver, and that intake validation passed. The branch
prefix and the title's first word mark a receiver PR; no label or comment is
added, since each would cost another content-creating request.

Titles and bodies are Markdown, and every value that came with a submission,
or from a token's name, sits inside a code span (`code_span`): GitHub forms
no mention, reference, closing keyword, link or HTML inside one, so a video
URL or a UUID file name reads and searches as it was sent. The span's fence is
longer than any run of backticks in the text, so the text cannot close it;
line breaks, control and invisible characters become U+FFFD, so the span
stays on its line (no trailer, no block) and shows what it holds; in a table
cell `|` is escaped. Numbers are plain digits (searchable: frame 1198 is
`1198`), in a code span only when a run of them could read as a commit SHA.
A configured video (`videos`, the operator's list) is linked.

These spans protect Markdown only, so a PR's title and body must never become
a commit message: the gate and `receiver moderate` merge with a commit title
and message of their own (`receiver.datarepo.automerge.merge_commit_text`). Commit messages carry no volunteer text at all: the
frame number, the video's key and the record's id say which record a commit
adds, and the record's own file holds the rest.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Sequence
from typing import Any
from urllib.parse import urlsplit

from receiver.contract.inert import MARK, inert
from receiver.contract.records import Record, video_key

__all__ = [
    "REVIEW_LABEL",
    "TITLE_PREFIX",
    "BATCH_PREFIX",
    "code_span",
    "pull_title",
    "pull_body",
    "batch_title",
    "batch_body",
    "commit_message",
]

TITLE_PREFIX = "Annotation:"
#: The label a receiver in review mode puts on its pull requests; the gate never merges a PR carrying it.
REVIEW_LABEL = "needs-review"
BATCH_PREFIX = "Annotations:"
ELLIPSIS = "\N{HORIZONTAL ELLIPSIS}"

_BACKTICKS = re.compile(r"`+")
# GitHub links a commit from 7 hexadecimal characters on: a longer number goes in a code span.
_SHA_LIKE = re.compile(r"[0-9A-Fa-f]{7,}")
# Characters a link destination cannot hold as they are; each is percent-encoded.
_LINK_UNSAFE = {" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E", "[": "%5B", "]": "%5D", "`": "%60", "|": "%7C"}


def _visible(character: str) -> bool:
    """Whether a character shows and keeps the span on its line: not a line break, control, format or private-use one."""
    return unicodedata.category(character) not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def code_span(text: object, *, limit: int = 200, cell: bool = False) -> str:
    """`text` (or its `str()`) as one Markdown code span that it cannot close, at most `limit` characters of it.

    Use it for every volunteer value in a title or body; `cell=True` inside a
    table row, where an unescaped `|` would end the cell.
    """
    value = str(text)
    if len(value) > limit:
        value = value[: max(limit - 1, 0)] + ELLIPSIS
    shown: list[str] = []
    for character in value:
        if _visible(character):
            shown.append(character)
        elif not shown or shown[-1] != MARK:
            shown.append(MARK)
    content = "".join(shown) or " "
    if cell:
        content = content.replace("|", "\\|")
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(content)), default=0) + 1)
    # CommonMark strips one space from each side of a span that has one on both: pad where the
    # text starts or ends with a backtick (it would join the fence) or with a space on both ends.
    if content.startswith(("`", " ")) or content.endswith(("`", " ")):
        content = f" {content} "
    return f"{fence}{content}{fence}"


def _video_name(url: str) -> str:
    """The video's file name (its URL's last path segment, else its host), at most 40 characters."""
    parts = urlsplit(url)
    name = parts.path.rstrip("/").rsplit("/", 1)[-1] or parts.netloc
    return name if len(name) <= 40 else name[:18] + ELLIPSIS + name[-18:]


def _number(value: Any, *, cell: bool = False) -> str:
    """A submitted number as plain digits, so a search for it finds it; a code span when it could read as a commit SHA."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return code_span(value, cell=cell)
    text = str(value) if isinstance(value, int) else f"{value:g}" if abs(value) >= 1e16 else repr(value)
    return code_span(text, cell=cell) if _SHA_LIKE.search(text) else text


def _link(url: str) -> str:
    """A configured video's URL as a Markdown link showing the URL itself, so it can be clicked and copied."""
    target = "".join(_LINK_UNSAFE.get(character, character) for character in url)
    return f"[{code_span(url)}]({target})"


def _animals(submission: dict[str, Any]) -> list[dict[str, Any]]:
    """Each labelled animal: the submission's one, or its instances."""
    if "labels" in submission:
        return [submission]
    animals: list[dict[str, Any]] = submission["instances"]
    return animals


def _placed(record: Record) -> tuple[int, int]:
    labels = [label for animal in _animals(record.submission) for label in animal["labels"]]
    return sum(1 for label in labels if label["placed"]), len(labels)


def pull_title(record: Record) -> str:
    """Frame, video file and keypoints at a glance, searchable by frame number and file name."""
    placed, total = _placed(record)
    frame = _number(record.submission["frame_index"])
    count = "" if "labels" in record.submission else f"{len(record.submission['instances'])} animals, "
    return f"{TITLE_PREFIX} frame {frame} of {code_span(_video_name(str(record.submission['video_url'])), limit=41)} ({count}{placed}/{total} keypoints)"


def _metadata(submission: dict[str, Any]) -> list[str]:
    metadata = submission.get("metadata") or {}
    if not metadata:
        return []
    shown = "; ".join(f"{code_span(key, limit=64)}: {code_span(value, limit=80)}" for key, value in sorted(metadata.items()))
    return [f"**Labeling tool:** {shown}"]


def _review(review_url: str | None, record: Record) -> str:
    """The record's review page: `review_url` is operator-chosen and checked at start (see `receiver.settings`), the id is ours."""
    return f"{review_url}/{record.id}" if review_url else ""


def _video(url: Any, videos: Collection[str]) -> str:
    """A configured video as a link; any other URL as text, which a volunteer could have written to lure a click."""
    return _link(url) if isinstance(url, str) and url in videos else code_span(url)


def pull_body(record: Record, *, review_url: str | None = None, videos: Collection[str] = ()) -> str:
    """Which video and frame, who submitted, each keypoint, and that intake validated it; `videos` are the configured URLs, linked."""
    submission = record.submission
    lines = [
        f"**Video:** {_video(submission['video_url'], videos)} (key `{video_key(submission['video_url'])}`)",
        f"**Frame:** {_number(submission['frame_index'])} of {_number(submission['total_frames'])} "
        f"({_number(submission['frame_width'])}×{_number(submission['frame_height'])} px at {_number(submission['fps'])} fps)",
        f"**Submitted by:** {code_span(record.volunteer or record.submitter)} at {code_span(submission['timestamp'])}",
        *_metadata(submission),
        f"**File:** `{record.path}`",
        *([f"**Review:** {_review(review_url, record)}"] if review_url else []),
    ]
    several = "labels" not in submission
    for number, animal in enumerate(_animals(submission), start=1):
        if several:
            track = f" (track {code_span(animal['track'], limit=64)})" if "track" in animal else ""
            lines += ["", f"**Animal {number}**{track}"]
        lines += ["", *_keypoint_table(animal["labels"])]
    lines += [
        "",
        f"Validated at intake by receiver {inert(record.receiver_version)}; received {inert(record.received_at)}.",
        f"<!-- receiver-record: {record.id} -->",
    ]
    return "\n".join(lines) + "\n"


def _keypoint_table(labels: Sequence[dict[str, Any]]) -> list[str]:
    """One animal's keypoints as a Markdown table: name and id, placed, x, y."""
    lines = ["| Keypoint | Placed | x | y |", "| --- | --- | --- | --- |"]
    for label in labels:
        placed = "yes" if label["placed"] else "no"
        lines.append(
            f"| {code_span(label['name'], cell=True)} ({code_span(label['id'], cell=True)}) | {placed} "
            f"| {_number(label['pixel_x'], cell=True)} | {_number(label['pixel_y'], cell=True)} |"
        )
    return lines


def batch_title(records: Sequence[Record]) -> str:
    videos = {r.submission["video_url"] for r in records}
    return f"{BATCH_PREFIX} {len(records)} frames from {len(videos)} video{'s' if len(videos) != 1 else ''}"


def batch_body(records: Sequence[Record], *, reason: str = "", review_url: str | None = None) -> str:
    lines = [reason, ""] if reason else []
    review_head, review_rule = (" Review |", " --- |") if review_url else ("", "")
    lines += [f"| Video | Frame | Keypoints placed | Submitted by | File |{review_head}", f"| --- | --- | --- | --- | --- |{review_rule}"]
    for record in records:
        placed, total = _placed(record)
        review_cell = f" {_review(review_url, record)} |" if review_url else ""
        lines.append(
            f"| {code_span(_video_name(str(record.submission['video_url'])), limit=41, cell=True)} "
            f"| {_number(record.submission['frame_index'], cell=True)} | {placed}/{total} "
            f"| {code_span(record.volunteer or record.submitter, cell=True)} | `{record.path}` |{review_cell}"
        )
    version = inert(records[0].receiver_version) if records else ""
    lines += ["", f"Each record was validated at intake by receiver {version}."]
    return "\n".join(lines) + "\n"


def commit_message(records: Sequence[Record]) -> str:
    """What a commit adds, for every store: a count, or the one record's frame, video key and id.

    No volunteer text at all: GitHub reads commit messages for mentions,
    references, closing keywords and trailers even where no Markdown is
    rendered, and the record's file (in the same commit) holds the URL. No
    line has the `Token: value` shape of a trailer either.
    """
    if len(records) == 1:
        record = records[0]
        video = video_key(str(record.submission["video_url"]))
        frame = _plain_number(record.submission["frame_index"])
        return f"Add annotation for frame {frame} of video {video}\n\nRecord {record.id} at {record.path}\n"
    return f"Add {len(records)} annotations\n"


def _plain_number(value: Any) -> str:
    """A number for plain text (a commit message, where no code span helps): grouped by thousands only when it is long enough to read as a commit SHA."""
    if isinstance(value, bool) or not isinstance(value, int):
        return inert(value)
    text = str(value)
    return inert(f"{value:,}") if _SHA_LIKE.search(text) else text

