"""Consensus: where several volunteers' clicks on one frame agree, and who disagrees.

Values in, values out: a frame's labels become a `FrameConsensus` (per keypoint
a robust centre and spread, per submission an agreement score and an outlier
flag, and whether the frame is settled). It reads no files and imports no
numerical library, so `receiver consensus` runs without the export extra.

The rule, in order, for one frame (`ConsensusRule` holds the numbers):

1. Centre. Per keypoint, the coordinate-wise median of every submission that
   placed it.
2. Outlying points. A placed point is outlying when its distance to the
   centre exceeds ``max(cutoff * sigma, floor * diagonal)``, where sigma is the
   robust radial scale ``median(distances) / sqrt(2 ln 2)`` (for 2-D Gaussian
   clicks the distances follow a Rayleigh law whose median is sigma times
   that constant) and the floor keeps a tight cluster from flagging pixel-level
   differences. A keypoint placed by fewer than `min_votes` submissions is
   never judged: with two clicks nobody can say which is wrong. Defaults:
   cutoff 5 (an honest Gaussian click lands beyond 5 sigma once in 270,000;
   the median of a few distances underestimates sigma, so 4 flagged honest
   volunteers in tests), floor 2% of the diagonal (29 px on a 1280x720
   frame, about the size of a mouse's paw).
3. Outliers. A submission with any outlying point is an outlier (a swapped
   left/right paw is a bad label even if the other four points are fine).
4. Final centre and spread. The median and the median distance (pixels) over
   the inliers only. A keypoint is placed in the consensus when more than half
   of the inliers placed it; otherwise it is missing.
5. Agreement. Each submission's OKS-style score: the mean over its placed
   keypoints of ``exp(-d^2 / (2 (tolerance * diagonal)^2))``, 1 for a perfect
   match, near 0 far away; `error` is the mean distance over the diagonal.
6. Settled. A frame is settled once `settle` inliers agree on it (the Galaxy
   Zoo retirement rule; default 3).

It will not decide which frames to show volunteers next, and it does not
weigh volunteers by their history: every submission is one vote.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from receiver.records import Record

__all__ = [
    "ConsensusRule",
    "FrameConsensus",
    "FrameKey",
    "Point",
    "SubmissionScore",
    "Vote",
    "consensus",
    "frame_consensus",
    "group_by_frame",
    "vote_of",
]

Point = tuple[float, float]

_RAYLEIGH_MEDIAN = math.sqrt(2 * math.log(2))


@dataclass(frozen=True, order=True)
class FrameKey:
    """One frame of one video: what several volunteers label together."""

    video_url: str
    frame_index: int


@dataclass(frozen=True)
class Vote:
    """One submission's clicks, in skeleton order; None where a keypoint was not placed."""

    record_id: str
    submitter: str
    points: tuple[Point | None, ...]


@dataclass(frozen=True)
class ConsensusRule:
    """The numbers of the consensus rule (see the module docstring)."""

    settle: int = 3
    cutoff: float = 5.0
    floor: float = 0.02
    tolerance: float = 0.02
    min_votes: int = 3

    def __post_init__(self) -> None:
        if self.settle < 1:
            raise ValueError(f"settle must be 1 or more, not {self.settle}")
        if self.min_votes < 3:
            raise ValueError("min_votes must be 3 or more: two clicks cannot tell which one is wrong")
        if not (self.cutoff > 0 and self.floor >= 0 and self.tolerance > 0):
            raise ValueError("cutoff and tolerance must be positive and floor not negative")


@dataclass(frozen=True)
class SubmissionScore:
    """How one submission compares with its frame's consensus."""

    record_id: str
    submitter: str
    agreement: float
    error: float | None
    outlier: bool
    outlying_keypoints: tuple[str, ...]


@dataclass(frozen=True)
class FrameConsensus:
    """The consensus of one frame: centre and spread per keypoint, a score per submission."""

    key: FrameKey
    width: int
    height: int
    keypoints: tuple[str, ...]
    centre: tuple[Point | None, ...]
    spread: tuple[float | None, ...]
    submissions: tuple[SubmissionScore, ...]
    settled: bool

    @property
    def labels(self) -> int:
        return len(self.submissions)

    @property
    def inliers(self) -> tuple[SubmissionScore, ...]:
        return tuple(s for s in self.submissions if not s.outlier)

    @property
    def outliers(self) -> tuple[SubmissionScore, ...]:
        return tuple(s for s in self.submissions if s.outlier)


def vote_of(record: Record, keypoints: Sequence[str]) -> Vote:
    """A record's clicks in the order of `keypoints` (a valid record: placed means coordinates)."""
    by_id = {label["id"]: label for label in record.submission["labels"]}
    points: list[Point | None] = []
    for keypoint in keypoints:
        label = by_id.get(keypoint)
        if label is None or not label.get("placed"):
            points.append(None)
        else:
            points.append((float(label["pixel_x"]), float(label["pixel_y"])))
    return Vote(record.id, record.submitter, tuple(points))


def group_by_frame(records: Iterable[Record]) -> dict[FrameKey, list[Record]]:
    """Records by the frame they label, frames in sorted order, records in the order given."""
    frames: dict[FrameKey, list[Record]] = {}
    for record in records:
        key = FrameKey(record.submission["video_url"], int(record.submission["frame_index"]))
        frames.setdefault(key, []).append(record)
    return dict(sorted(frames.items()))


def frame_consensus(
    key: FrameKey,
    votes: Sequence[Vote],
    *,
    keypoints: Sequence[str],
    width: int,
    height: int,
    rule: ConsensusRule | None = None,
) -> FrameConsensus:
    """Apply the consensus rule to one frame's votes."""
    rule = rule or ConsensusRule()
    diagonal = math.hypot(width, height) or 1.0
    outlying: list[set[int]] = [set() for _ in votes]
    for k in range(len(keypoints)):
        placed = [(i, v.points[k]) for i, v in enumerate(votes) if v.points[k] is not None]
        if len(placed) < rule.min_votes:
            continue
        centre = _median_point([p for _, p in placed if p is not None])
        distances = [_distance(p, centre) for _, p in placed if p is not None]
        sigma = statistics.median(distances) / _RAYLEIGH_MEDIAN
        limit = max(rule.cutoff * sigma, rule.floor * diagonal)
        for (i, _), d in zip(placed, distances):
            if d > limit:
                outlying[i].add(k)
    inliers = [v for v, out in zip(votes, outlying) if not out]
    centres: list[Point | None] = []
    spreads: list[float | None] = []
    for k in range(len(keypoints)):
        points = [p for p in (v.points[k] for v in inliers) if p is not None]
        if not points or 2 * len(points) <= len(inliers):
            centres.append(None)
            spreads.append(None)
            continue
        centre = _median_point(points)
        centres.append(centre)
        spreads.append(statistics.median(_distance(p, centre) for p in points))
    # Score against the centre of every keypoint anyone placed, so a volunteer
    # is measured even on a keypoint the majority left out.
    reference = [c if c is not None else _first_pass_centre(votes, k) for k, c in enumerate(centres)]
    scores = tuple(
        _score(vote, reference, out, keypoints, diagonal, rule) for vote, out in zip(votes, outlying)
    )
    return FrameConsensus(
        key=key,
        width=width,
        height=height,
        keypoints=tuple(keypoints),
        centre=tuple(centres),
        spread=tuple(spreads),
        submissions=scores,
        settled=len(inliers) >= rule.settle,
    )


def consensus(
    records: Iterable[Record], keypoints: Sequence[str], rule: ConsensusRule | None = None
) -> list[FrameConsensus]:
    """The consensus of every frame the records label, in frame order."""
    results = []
    for key, group in group_by_frame(records).items():
        first = group[0].submission
        results.append(
            frame_consensus(
                key,
                [vote_of(r, keypoints) for r in group],
                keypoints=keypoints,
                width=int(first["frame_width"]),
                height=int(first["frame_height"]),
                rule=rule,
            )
        )
    return results


def _median_point(points: Sequence[Point]) -> Point:
    return (statistics.median(p[0] for p in points), statistics.median(p[1] for p in points))


def _distance(a: Point, b: Point) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def _first_pass_centre(votes: Sequence[Vote], k: int) -> Point | None:
    points = [p for p in (v.points[k] for v in votes) if p is not None]
    return _median_point(points) if points else None


def _score(
    vote: Vote,
    reference: Sequence[Point | None],
    outlying: set[int],
    keypoints: Sequence[str],
    diagonal: float,
    rule: ConsensusRule,
) -> SubmissionScore:
    scale = rule.tolerance * diagonal
    distances = [
        _distance(point, centre)
        for point, centre in zip(vote.points, reference)
        if point is not None and centre is not None
    ]
    if distances:
        agreement = statistics.fmean(math.exp(-(d * d) / (2 * scale * scale)) for d in distances)
        error: float | None = statistics.fmean(distances) / diagonal
    else:
        agreement, error = 0.0, None
    return SubmissionScore(
        record_id=vote.record_id,
        submitter=vote.submitter,
        agreement=agreement,
        error=error,
        outlier=bool(outlying),
        outlying_keypoints=tuple(keypoints[k] for k in sorted(outlying)),
    )
