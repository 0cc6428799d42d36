"""What the receiver writes for people: a pull request's title and body, a commit's message.

Pure text from records: which video and frame, which keypoints (placed, x, y;
one table per animal when a submission labels several),
who submitted, which receiver, and that intake validation passed. The branch
prefix and the title's first word mark a receiver PR; no label or comment is
added, since each would cost another content-creating request.

Every value that came with a submission, or from a token's name, is written
through `receiver.contract.inert.inert`, numbers included, so no mention, reference,
closing keyword, trailer, link or HTML can form; and no line starts with such
a value. Commit messages carry none of it at all: the frame number, the
video's key and the record's id say which record a commit adds, and the
record's own file holds the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from receiver.contract.inert import inert
from receiver.contract.records import Record, video_key

__all__ = ["REVIEW_LABEL", "TITLE_PREFIX", "BATCH_PREFIX", "pull_title", "pull_body", "batch_title", "batch_body", "commit_message"]

TITLE_PREFIX = "Annotation:"
#: The label a receiver in review mode puts on its pull requests; the gate never merges a PR carrying it.
REVIEW_LABEL = "needs-review"
BATCH_PREFIX = "Annotations:"


def _video_name(url: str) -> str:
    """The video's file name (its URL's last path segment, else its host), inert and at most 40 characters."""
    parts = urlsplit(url)
    name = parts.path.rstrip("/").rsplit("/", 1)[-1] or parts.netloc
    name = name if len(name) <= 40 else name[:18] + "…" + name[-18:]
    return inert(name, limit=41)


def _number(value: Any) -> str:
    """A submitted number, grouped by thousands so no long digit run reads as a commit SHA; inert like any volunteer value."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return inert(value)
    return inert(f"{value:,}" if isinstance(value, int) else f"{value:,g}")


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
    placed, total = _placed(record)
    frame = _number(record.submission["frame_index"])
    count = "" if "labels" in record.submission else f"{len(record.submission['instances'])} animals, "
    return f"{TITLE_PREFIX} frame {frame} of {_video_name(record.submission['video_url'])} ({count}{placed}/{total} keypoints)"


def _metadata(submission: dict[str, Any]) -> list[str]:
    metadata = submission.get("metadata") or {}
    if not metadata:
        return []
    shown = "; ".join(f"{inert(key, limit=64)}: {inert(value, limit=80)}" for key, value in sorted(metadata.items()))
    return [f"**Labeling tool:** {shown}"]


def _review(review_url: str | None, record: Record) -> str:
    """The record's review page: `review_url` is operator-chosen and checked at start (see `receiver.settings`), the id is ours."""
    return f"{review_url}/{record.id}" if review_url else ""


def pull_body(record: Record, *, review_url: str | None = None) -> str:
    submission = record.submission
    lines = [
        f"**Video:** {inert(submission['video_url'])} (key `{video_key(submission['video_url'])}`)",
        f"**Frame:** {_number(submission['frame_index'])} of {_number(submission['total_frames'])} "
        f"({_number(submission['frame_width'])}×{_number(submission['frame_height'])} px at {_number(submission['fps'])} fps)",
        f"**Submitted by:** {inert(record.volunteer or record.submitter)} at {inert(submission['timestamp'])}",
        *_metadata(submission),
        f"**File:** `{record.path}`",
        *([f"**Review:** {_review(review_url, record)}"] if review_url else []),
    ]
    several = "labels" not in submission
    for number, animal in enumerate(_animals(submission), start=1):
        if several:
            track = f" (track {inert(animal['track'], limit=64)})" if "track" in animal else ""
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
            f"| {inert(label['name'])} (`{inert(label['id'])}`) | {placed} | {_number(label['pixel_x'])} | {_number(label['pixel_y'])} |"
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
            f"| {_video_name(record.submission['video_url'])} | {_number(record.submission['frame_index'])} | {placed}/{total} "
            f"| {inert(record.volunteer or record.submitter)} | `{record.path}` |{review_cell}"
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
        frame = _number(record.submission["frame_index"])
        return f"Add annotation for frame {frame} of video {video}\n\nRecord {record.id} at {record.path}\n"
    return f"Add {len(records)} annotations\n"
