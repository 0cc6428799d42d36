"""What the receiver writes for people: a pull request's title and body, a commit's message.

Pure text from records: which video and frame, which keypoints (placed, x, y),
who submitted, which receiver, and that intake validation passed. The branch
prefix and the title's first word mark a receiver PR; no label or comment is
added, since each would cost another content-creating request.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from receiver.records import Record, video_key

__all__ = ["REVIEW_LABEL", "TITLE_PREFIX", "pull_title", "pull_body", "batch_title", "batch_body", "commit_message"]

TITLE_PREFIX = "Annotation:"
#: The label a receiver in review mode puts on its pull requests; the gate never merges a PR carrying it.
REVIEW_LABEL = "needs-review"
BATCH_PREFIX = "Annotations:"


def _video_name(url: str) -> str:
    path = urlsplit(url).path.rstrip("/")
    name = path.rsplit("/", 1)[-1] or urlsplit(url).netloc
    return name if len(name) <= 40 else name[:18] + "…" + name[-18:]


def _placed(record: Record) -> tuple[int, int]:
    labels = record.submission["labels"]
    return sum(1 for label in labels if label["placed"]), len(labels)


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def pull_title(record: Record) -> str:
    placed, total = _placed(record)
    frame = record.submission["frame_index"]
    return f"{TITLE_PREFIX} frame {frame} of {_video_name(record.submission['video_url'])} ({placed}/{total} keypoints)"


def pull_body(record: Record) -> str:
    submission = record.submission
    lines = [
        f"**Video:** {submission['video_url']}",
        f"**Frame:** {submission['frame_index']} of {submission['total_frames']} "
        f"({submission['frame_width']}×{submission['frame_height']} px at {submission['fps']} fps)",
        f"**Submitted by:** {record.submitter} at {submission['timestamp']}",
        f"**File:** `{record.path}`",
        "",
        "| Keypoint | Placed | x | y |",
        "| --- | --- | --- | --- |",
    ]
    for label in submission["labels"]:
        x = "" if label["pixel_x"] is None else label["pixel_x"]
        y = "" if label["pixel_y"] is None else label["pixel_y"]
        lines.append(f"| {_cell(label['name'])} (`{label['id']}`) | {'yes' if label['placed'] else 'no'} | {x} | {y} |")
    lines += [
        "",
        f"Validated at intake by receiver {record.receiver_version}; received {record.received_at}.",
        f"<!-- receiver-record: {record.id} -->",
    ]
    return "\n".join(lines) + "\n"


def batch_title(records: Sequence[Record]) -> str:
    videos = {r.submission["video_url"] for r in records}
    return f"{BATCH_PREFIX} {len(records)} frames from {len(videos)} video{'s' if len(videos) != 1 else ''}"


def batch_body(records: Sequence[Record], *, reason: str = "") -> str:
    lines = [reason, ""] if reason else []
    lines += ["| Video | Frame | Keypoints placed | Submitted by | File |", "| --- | --- | --- | --- | --- |"]
    for record in records:
        placed, total = _placed(record)
        lines.append(
            f"| {_cell(_video_name(record.submission['video_url']))} | {record.submission['frame_index']} | {placed}/{total} "
            f"| {_cell(record.submitter)} | `{record.path}` |"
        )
    version = records[0].receiver_version if records else ""
    lines += ["", f"Each record was validated at intake by receiver {version}."]
    return "\n".join(lines) + "\n"


def commit_message(records: Sequence[Record]) -> str:
    """What a commit adds, for every store: a count, or the one record's frame, video and id."""
    if len(records) == 1:
        record = records[0]
        video = str(record.submission["video_url"])
        return f"Add annotation for frame {record.submission['frame_index']} of video {video_key(video)}\n\nVideo: {video}\nRecord: {record.id}\n"
    return f"Add {len(records)} annotations\n"
