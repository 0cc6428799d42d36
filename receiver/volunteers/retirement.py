"""When a frame has enough agreeing labels: the one place the frame tally asks the consensus.

`judge_frame` turns one frame's records into a `FrameAgreement` (how many
labels, how many of them agree, the agreed point per keypoint). Everything
that hands out frames or shows a review goes through it, so the consensus
behind it can change (a better rule, an incremental one) by editing this
module alone. It does no I/O and keeps no state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from receiver.consensus import FrameKey, FrameTally, Point
from receiver.contract.records import Record

__all__ = ["FrameAgreement", "judge_frame"]


@dataclass(frozen=True)
class FrameAgreement:
    """What one frame's labels say together."""

    labels: int
    agreeing: int
    keypoints: tuple[str, ...]
    centre: tuple[Point | None, ...]
    #: The ids of the records that agree.
    agreeing_records: frozenset[str] = frozenset()

    def retired(self, retire_after: int) -> bool:
        """At least K labels agree, and they outnumber the disagreeing ones two to one.

        The margin is what undoes a retirement: a retired frame whose later
        counted labels disagree with its answer fails it and goes back into the
        pool, where more labels settle it one way or the other.
        """
        return self.agreeing >= retire_after and self.agreeing >= 2 * (self.labels - self.agreeing)

    def points(self) -> dict[str, dict[str, float] | None]:
        """The agreed point of each keypoint (null where the agreeing labels mostly left it unplaced)."""
        return {k: None if c is None else {"x": c[0], "y": c[1]} for k, c in zip(self.keypoints, self.centre)}


def judge_frame(records: Sequence[Record], keypoints: Sequence[str], symmetry: Iterable[tuple[str, str]] = ()) -> FrameAgreement:
    """How many of one frame's records agree, as the consensus judges them (every record must label the same frame).

    The consensus repairs left/right swaps (`symmetry`) and counts a label as
    agreeing only when the whole submission agrees with the frame's consensus;
    the agreed points are None until the frame is settled. One solve over all
    the records: the cost grows with their number, never with its square.
    """
    if not records:
        return FrameAgreement(labels=0, agreeing=0, keypoints=tuple(keypoints), centre=tuple(None for _ in keypoints))
    first = records[0].submission
    tally = FrameTally(
        FrameKey(str(first["video_url"]), int(first["frame_index"])),
        int(first["frame_width"]),
        int(first["frame_height"]),
        keypoints,
        symmetry=symmetry,
    )
    state = tally.extend(records)
    return FrameAgreement(
        labels=state.labels,
        agreeing=state.agreeing_labels,
        keypoints=tuple(keypoints),
        centre=state.consensus.centre,
        agreeing_records=frozenset(score.record_id for score in state.consensus.inliers),
    )
