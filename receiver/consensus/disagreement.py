"""Where the settled crowd and the model disagree: the frames worth adding to the model's training set.

The rule: a settled frame of one animal qualifies when, on some keypoint
where both the consensus and the model have a point, they lie more than
`threshold_px` apart; frames are ranked by that largest distance, the most
disagreeing first (ties by frame). The model's points come from the caller:
the predictions the receiver imported, or else the suggestions volunteers
accepted (`suggested_points`, read off the model's rows of the click table).
Values in, values out: it reads nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from receiver.consensus.repository import FrameConsensus
from receiver.consensus.votes import ClickTable, FrameKey, Point

__all__ = ["THRESHOLD_PX", "Disagreement", "model_wrong", "suggested_points"]

#: A model point this far (pixels) from the settled consensus is wrong.
THRESHOLD_PX = 10.0


@dataclass(frozen=True)
class Disagreement:
    """One settled frame where the model is wrong: its largest distance to the consensus, on which keypoint."""

    frame: FrameConsensus
    distance_px: float
    keypoint: str


def suggested_points(table: ClickTable) -> dict[FrameKey, tuple[Point | None, ...]]:
    """Each single-animal frame's model points as volunteers accepted them (the first model version's, when several)."""
    found: dict[FrameKey, tuple[Point | None, ...]] = {}
    machine = table.model_rows
    for row in np.flatnonzero(machine).tolist():
        f = int(table.frame[row])
        if f in table.animal_of:
            continue
        key = table.frames[f]
        if key in found:
            continue
        found[key] = tuple(None if not math.isfinite(x) else (x, y) for x, y in table.clicks[row].tolist())
    return found


def model_wrong(
    frames: Iterable[FrameConsensus], predictions: Mapping[FrameKey, Sequence[Point | None]], *, threshold_px: float = THRESHOLD_PX
) -> list[Disagreement]:
    """The settled frames where the model is more than `threshold_px` from the consensus on some keypoint, most disagreeing first."""
    found: list[Disagreement] = []
    for frame in frames:
        if not frame.settled or frame.animal is not None:
            continue
        predicted = predictions.get(frame.key)
        if predicted is None:
            continue
        worst, where = -1.0, ""
        for name, centre, point in zip(frame.keypoints, frame.centre, predicted):
            if centre is None or point is None:
                continue
            distance = math.hypot(centre[0] - point[0], centre[1] - point[1])
            if distance > worst:
                worst, where = distance, name
        if worst > threshold_px:
            found.append(Disagreement(frame, worst, where))
    found.sort(key=lambda d: (-d.distance_px, d.frame.key))
    return found
