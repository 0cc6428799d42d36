"""Who clicked what on which frame: records turned into the arrays the consensus works on.

A `Vote` is one submission's clicks in skeleton order; a `ClickTable` holds
many of them as numpy arrays (clicks, placed, visible, frame, volunteer), so
every later step is vectorised. Volunteers are the record's submitter, and for
anonymous submissions the page's volunteer id in ``metadata["volunteer"]``
when present; an anonymous submission without one is nobody in particular
(volunteer index 0), who keeps the prior's weight and is never learned about.

It decides nothing about agreement; it only lays the records out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from receiver.contract.records import ANONYMOUS, Record

__all__ = [
    "UNKNOWN_VOLUNTEER",
    "ClickTable",
    "FrameKey",
    "Point",
    "Vote",
    "group_by_frame",
    "table_of",
    "volunteer_of",
    "animals_of",
    "tracks_of",
    "vote_of",
    "votes_of",
]

Point = tuple[float, float]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

#: The volunteer of an anonymous submission that names none.
UNKNOWN_VOLUNTEER = ""


@dataclass(frozen=True, order=True)
class FrameKey:
    """One frame of one video: what several volunteers label together."""

    video_url: str
    frame_index: int


@dataclass(frozen=True)
class Vote:
    """One submission's clicks in skeleton order; None where a keypoint was not placed."""

    record_id: str
    submitter: str
    points: tuple[Point | None, ...]
    visible: tuple[bool, ...] = ()
    volunteer: str = UNKNOWN_VOLUNTEER


def volunteer_of(record: Record) -> str:
    """Who clicked: the token's name, the session's pseudonym, or else the page's declared volunteer id ('' when none).

    A pseudonym is issued by the receiver; a declared id is whatever the client
    wrote, so records that carry only one are keyed apart (`anonymous/<id>`).
    """
    if record.submitter != ANONYMOUS:
        return record.submitter
    if record.volunteer is not None:
        return record.volunteer
    volunteer = (record.submission.get("metadata") or {}).get("volunteer")
    if isinstance(volunteer, str) and volunteer:
        return f"{ANONYMOUS}/{volunteer}"
    return UNKNOWN_VOLUNTEER


def animals_of(submission: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """Each animal's labels in a submission: its one `labels`, or one list per instance."""
    if "labels" in submission:
        return [submission["labels"]]
    return [instance["labels"] for instance in submission.get("instances", [])]


def tracks_of(submission: dict[str, Any]) -> list[str | None]:
    """Each animal's track (None where not given), in the order of `animals_of`."""
    if "labels" in submission:
        return [None]
    return [instance.get("track") for instance in submission.get("instances", [])]


def vote_of(record: Record, keypoints: Sequence[str]) -> Vote:
    """A record's clicks in the order of `keypoints` (a valid record: placed means coordinates).

    A record of several animals votes with its first instance here: judging a
    frame one animal at a time (retirement, gold screening) needs one vote per
    record. `votes_of` gives every animal's.
    """
    return _vote(record, animals_of(record.submission)[0], keypoints)


def votes_of(record: Record, keypoints: Sequence[str]) -> list[Vote]:
    """One vote per animal the record labels (one for a single-animal record)."""
    return [_vote(record, labels, keypoints) for labels in animals_of(record.submission)]


def _vote(record: Record, labels: Sequence[dict[str, Any]], keypoints: Sequence[str]) -> Vote:
    by_id = {label["id"]: label for label in labels}
    points: list[Point | None] = []
    visible: list[bool] = []
    for keypoint in keypoints:
        label = by_id.get(keypoint)
        if label is None or not label.get("placed"):
            points.append(None)
            visible.append(False)
        else:
            points.append((float(label["pixel_x"]), float(label["pixel_y"])))
            # Absent means visible: submissions from before the flag were all seen.
            visible.append(bool(label.get("visible", True)))
    return Vote(record.id, record.submitter, tuple(points), tuple(visible), volunteer_of(record))


def group_by_frame(records: Iterable[Record]) -> dict[FrameKey, list[Record]]:
    """Records by the frame they label, frames in sorted order, records in the order given."""
    frames: dict[FrameKey, list[Record]] = {}
    for record in records:
        key = FrameKey(record.submission["video_url"], int(record.submission["frame_index"]))
        frames.setdefault(key, []).append(record)
    return dict(sorted(frames.items()))


@dataclass
class ClickTable:
    """Submissions as arrays: row i is one submission, column k one keypoint.

    `clicks` (n, K, 2) pixels, NaN where not placed; `visible` (n, K);
    `frame` (n,) an index into `frames`; `volunteer` (n,) an index into
    `volunteers` (0 is the unknown volunteer); `size` (F, 2) each frame's width
    and height.
    """

    keypoints: tuple[str, ...]
    frames: list[FrameKey]
    size: FloatArray
    volunteers: list[str]
    record_ids: list[str]
    submitters: list[str]
    clicks: FloatArray
    visible: BoolArray
    frame: IntArray
    volunteer: IntArray
    #: The name a volunteer's page showed (metadata.volunteer), beside the pseudonym that identifies them.
    display_names: dict[str, str] = field(default_factory=dict)
    _volunteer_index: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def placed(self) -> BoolArray:
        placed: BoolArray = np.isfinite(self.clicks[..., 0])
        return placed

    def __len__(self) -> int:
        return len(self.record_ids)


def table_of(votes: Iterable[tuple[FrameKey, tuple[int, int], Vote]], keypoints: Sequence[str]) -> ClickTable:
    """Lay out (frame, (width, height), vote) triples; frames and volunteers get indices in order of appearance."""
    frame_index: dict[FrameKey, int] = {}
    sizes: list[tuple[int, int]] = []
    volunteer_index: dict[str, int] = {UNKNOWN_VOLUNTEER: 0}
    rows: list[Any] = []
    record_ids: list[str] = []
    submitters: list[str] = []
    frame: list[int] = []
    volunteer: list[int] = []
    visible: list[tuple[bool, ...]] = []
    nan = (float("nan"), float("nan"))
    for key, size, vote in votes:
        f = frame_index.setdefault(key, len(frame_index))
        if f == len(sizes):
            sizes.append(size)
        frame.append(f)
        volunteer.append(volunteer_index.setdefault(vote.volunteer, len(volunteer_index)))
        rows.append([p if p is not None else nan for p in vote.points])
        visible.append(vote.visible or tuple(p is not None for p in vote.points))
        record_ids.append(vote.record_id)
        submitters.append(vote.submitter)
    k = len(keypoints)
    return ClickTable(
        keypoints=tuple(keypoints),
        frames=list(frame_index),
        size=np.array(sizes, dtype=np.float64).reshape(-1, 2),
        volunteers=list(volunteer_index),
        record_ids=record_ids,
        submitters=submitters,
        clicks=np.array(rows, dtype=np.float64).reshape(-1, k, 2),
        visible=np.array(visible, dtype=bool).reshape(-1, k),
        frame=np.array(frame, dtype=np.int64),
        volunteer=np.array(volunteer, dtype=np.int64),
        _volunteer_index=volunteer_index,
    )


def records_table(records: Iterable[Record], keypoints: Sequence[str], *, chunk: int = 65_536) -> ClickTable:
    """The click table of stored records, read as they come.

    The same table as `table_of` over `vote_of`, without a `Vote` per record:
    each record's clicks go straight into flat lists that become numpy arrays
    every `chunk` records, so the records can be streamed (from a folder, a
    git repository or a generator) and need not be held.
    """
    position = {keypoint: k for k, keypoint in enumerate(keypoints)}
    k_count = len(keypoints)
    nan = float("nan")
    frame_index: dict[tuple[str, int], int] = {}
    frames: list[FrameKey] = []
    sizes: list[tuple[int, int]] = []
    volunteer_index: dict[str, int] = {UNKNOWN_VOLUNTEER: 0}
    record_ids: list[str] = []
    submitters: list[str] = []
    clicks: list[FloatArray] = []
    visible: list[BoolArray] = []
    frame: list[IntArray] = []
    volunteer: list[IntArray] = []
    coordinates: list[float] = []
    seen: list[bool] = []
    frame_rows: list[int] = []
    volunteer_rows: list[int] = []
    display_names: dict[str, str] = {}

    def flush() -> None:
        clicks.append(np.array(coordinates, dtype=np.float64).reshape(-1, k_count, 2))
        visible.append(np.array(seen, dtype=bool).reshape(-1, k_count))
        frame.append(np.array(frame_rows, dtype=np.int64))
        volunteer.append(np.array(volunteer_rows, dtype=np.int64))
        coordinates.clear()
        seen.clear()
        frame_rows.clear()
        volunteer_rows.clear()

    for record in records:
        submission = record.submission
        where = (submission["video_url"], int(submission["frame_index"]))
        f = frame_index.get(where)
        if f is None:
            f = frame_index[where] = len(frames)
            frames.append(FrameKey(*where))
            sizes.append((int(submission["frame_width"]), int(submission["frame_height"])))
        frame_rows.append(f)
        who = volunteer_of(record)
        v = volunteer_index.get(who)
        if v is None:
            v = volunteer_index[who] = len(volunteer_index)
        volunteer_rows.append(v)
        if record.volunteer is not None:
            shown = (submission.get("metadata") or {}).get("volunteer")
            if isinstance(shown, str) and shown:
                display_names[who] = shown[:64]
        row = [nan] * (2 * k_count)
        flags = [False] * k_count
        # A record of several animals lays out its first here; `instances` match them whole.
        for label in submission["labels"] if "labels" in submission else animals_of(submission)[0]:
            k = position.get(label["id"])
            if k is None:
                continue
            if label.get("placed"):
                row[2 * k], row[2 * k + 1] = float(label["pixel_x"]), float(label["pixel_y"])
                # Absent means visible: submissions from before the flag were all seen.
                flags[k] = bool(label.get("visible", True))
            else:
                row[2 * k] = row[2 * k + 1] = nan
                flags[k] = False
        coordinates += row
        seen += flags
        record_ids.append(record.id)
        submitters.append(record.submitter)
        if len(frame_rows) >= chunk:
            flush()
    flush()
    return ClickTable(
        keypoints=tuple(keypoints),
        frames=frames,
        size=np.array(sizes, dtype=np.float64).reshape(-1, 2),
        volunteers=list(volunteer_index),
        record_ids=record_ids,
        submitters=submitters,
        clicks=np.concatenate(clicks),
        visible=np.concatenate(visible),
        frame=np.concatenate(frame),
        volunteer=np.concatenate(volunteer),
        display_names=display_names,
        _volunteer_index=volunteer_index,
    )


__all__ += ["records_table"]
