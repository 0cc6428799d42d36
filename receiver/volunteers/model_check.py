"""How a model's prediction of a settled frame compares with the crowd's answer, keypoint by keypoint.

A keypoint agrees when the predicted point is as close to the settled one as
a volunteer's must be to an expert's on a gold frame (the same OKS and
threshold, one keypoint at a time). Only keypoints the crowd placed are
compared: a point the model left out there disagrees, and a keypoint the
crowd left hidden is not counted. No I/O; the tally keeps the counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from receiver.consensus import ConsensusRule, Point, Vote, gold_agreement

__all__ = ["ModelFigures", "keypoint_checks"]


def keypoint_checks(
    settled: Sequence[Point | None], predicted: Sequence[Point | None], width: int, height: int, *, agree: float | None = None
) -> tuple[bool | None, ...]:
    """Per keypoint: True where the prediction agrees with the settled point, False where it does not, None where the crowd placed nothing."""
    threshold = ConsensusRule().agree if agree is None else agree
    checks: list[bool | None] = []
    for k, point in enumerate(settled):
        if point is None:
            checks.append(None)
        elif predicted[k] is None:
            checks.append(False)
        else:
            # One keypoint at a time: the OKS of a one-keypoint skeleton is that keypoint's similarity.
            checks.append(gold_agreement(Vote("model", "model", (predicted[k],)), (point,), width, height) >= threshold)
    return tuple(checks)


@dataclass(frozen=True)
class ModelFigures:
    """The model beside the crowd on settled frames: agreement per model version and keypoint, and how frames were settled."""

    #: Per model version, per keypoint: (frames where the prediction agrees, frames compared).
    agreement: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    #: Settled frames on which at least one counted label accepted a suggestion.
    from_suggestions: int = 0
    #: Settled frames on which no counted label did.
    from_scratch: int = 0
