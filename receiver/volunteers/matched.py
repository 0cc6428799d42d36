"""Which animal of a submission each of another volunteer's animals is, so the review draws the same animal in the same colour.

One submission is matched against each other record of its frame on its own
(an assignment on OKS, each symmetric pair scored the better way round, as
the consensus matches instances); it decides nothing about the consensus,
and an animal like none of the submission's stays unmatched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from receiver.consensus.instances import MATCH_OKS, pair_oks
from receiver.consensus.votes import animals_of

__all__ = ["REVIEW_SIGMA", "matched_animals"]

#: The noise per keypoint the review matches with, as a fraction of the frame's diagonal: generous,
#: since two volunteers' clicks on one animal may differ by a few percent of the frame.
REVIEW_SIGMA = 0.03


def _points(submission: Mapping[str, Any], keypoints: Sequence[str]) -> npt.NDArray[np.float64]:
    """Each animal's placed points (animals, K, 2), NaN where a keypoint is not placed."""
    animals = animals_of(dict(submission))
    points = np.full((len(animals), len(keypoints), 2), np.nan)
    position = {keypoint: k for k, keypoint in enumerate(keypoints)}
    for a, labels in enumerate(animals):
        for label in labels:
            k = position.get(label.get("id"))
            if k is not None and label.get("placed") and label.get("pixel_x") is not None and label.get("pixel_y") is not None:
                points[a, k] = (label["pixel_x"], label["pixel_y"])
    return points


def _assign(score: npt.NDArray[np.float64]) -> list[int | None]:
    """Each row's column, best-scoring pair first, each column used once, none below MATCH_OKS."""
    chosen: list[int | None] = [None] * score.shape[0]
    taken: set[int] = set()
    for flat in np.argsort(-score, axis=None, kind="stable").tolist():
        row, column = divmod(flat, score.shape[1])
        if score[row, column] < MATCH_OKS:
            break
        if chosen[row] is None and column not in taken:
            chosen[row] = column
            taken.add(column)
    return chosen


def matched_animals(
    submission: Mapping[str, Any], others: Iterable[Mapping[str, Any]], keypoints: Sequence[str], symmetry: Iterable[tuple[str, str]] = ()
) -> list[list[int | None]]:
    """Per other submission, per animal of it, the index of the submission's animal it is (None when it is none of them)."""
    mine = _points(submission, keypoints)
    position = {keypoint: k for k, keypoint in enumerate(keypoints)}
    pairs = np.array([(position[a], position[b]) for a, b in symmetry if a in position and b in position], dtype=np.int64).reshape(-1, 2)
    sigma = np.full(len(keypoints), REVIEW_SIGMA)
    found = []
    for other in others:
        theirs = _points(other, keypoints)
        if not len(theirs) or not len(mine):
            found.append([None] * len(theirs))
            continue
        diagonal = float(np.hypot(other.get("frame_width", 1), other.get("frame_height", 1)))
        found.append(_assign(pair_oks(theirs, mine, sigma, diagonal, pairs)))
    return found
