"""Gold standard: expert labels for some frames, which the crowd never outvotes.

Expert labels are ordinary stored records (read by `receiver.export.gold`, or
the records of a named token in the main source: the CLI's ``--gold-from``).
Each becomes the frame's points (`gold_points`); a frame an expert labeled
twice keeps the mean of the expert clicks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from receiver.consensus.model import PRIOR_SIGMA
from receiver.consensus.noise import oks
from receiver.consensus.votes import FrameKey, Point, Vote, vote_of
from receiver.contract.records import Record

__all__ = ["gold_agreement", "gold_points"]


def gold_points(records: Iterable[Record], keypoints: Sequence[str]) -> dict[FrameKey, tuple[Point | None, ...]]:
    """Each gold frame's expert points in skeleton order (None where the expert placed nothing)."""
    sums: dict[FrameKey, list[list[float]]] = {}
    for record in records:
        key = FrameKey(record.submission["video_url"], int(record.submission["frame_index"]))
        acc = sums.setdefault(key, [[0.0, 0.0, 0.0] for _ in keypoints])
        for k, point in enumerate(vote_of(record, keypoints).points):
            if point is not None:
                acc[k][0] += point[0]
                acc[k][1] += point[1]
                acc[k][2] += 1
    return {key: tuple((x / n, y / n) if n else None for x, y, n in acc) for key, acc in sums.items()}


def gold_agreement(vote: Vote, gold: Sequence[Point | None], width: int, height: int, *, sigma: float = PRIOR_SIGMA) -> float:
    """How well one submission matches an expert's points: the OKS over the keypoints the expert placed.

    A keypoint the expert placed and the submission left out scores nothing, so
    leaving a frame empty never passes a gold check; the prior noise stands in
    for the learned one, since screening runs before anything is learned.
    """
    placed = np.array([point is not None for point in gold])
    if not placed.any():
        return 0.0
    diagonal = math.hypot(width, height)
    squared = np.full(len(gold), np.inf)
    for k, (mine, expert) in enumerate(zip(vote.points, gold)):
        if mine is not None and expert is not None:
            squared[k] = ((mine[0] - expert[0]) ** 2 + (mine[1] - expert[1]) ** 2) / diagonal**2
    return float(oks(squared, np.full(len(gold), sigma), placed))
