"""Left/right swaps: a submission whose symmetric pair agrees better exchanged is counted swapped back.

A volunteer who confuses the mouse's left and right puts both paws of a pair
far from their centres, but each close to the other's. For every submission
and every symmetric pair (a, b) of the skeleton, compare the normalised
squared distances as clicked, ``z_a^2 + z_b^2``, with the same exchanged; the
pair is a swap when the exchanged clicks are plausible for an honest click
(below the chi-square(4) quantile `plausible`) and the clicks as given are not.
Random clicks are plausible neither way and stay outliers; a pair whose two
centres lie close together cannot be told apart and is never called a swap.
Values in, values out; vectorised over frames, submissions and pairs.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import numpy.typing as npt

__all__ = ["PLAUSIBLE", "apply_swaps", "find_swaps"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: chi-square with 4 degrees of freedom, 99.9% quantile: two honest 2-D clicks rarely sum past it.
PLAUSIBLE = 18.47


def find_swaps(
    clicks: FloatArray, centre: FloatArray, scale: FloatArray, pairs: npt.NDArray[np.int64], plausible: float = PLAUSIBLE
) -> BoolArray:
    """Which pairs of which submissions are swapped.

    `clicks` (F, M, K, 2); `centre` (F, K, 2); `scale` (F, M, K) each click's
    expected per-axis deviation in pixels. Returns (F, M, P).
    """
    if len(pairs) == 0:
        return np.zeros(clicks.shape[:2] + (0,), dtype=bool)
    a, b = pairs[:, 0], pairs[:, 1]
    c = centre[:, None]

    def z2(points: FloatArray, target: FloatArray, s: FloatArray) -> FloatArray:
        # Spelled out: numpy's sum over an axis of length two is far slower.
        dx = points[..., 0] - target[..., 0]
        dy = points[..., 1] - target[..., 1]
        squared: FloatArray = (dx * dx + dy * dy) / s**2
        return squared

    kept = z2(clicks[:, :, a], c[:, :, a], scale[:, :, a]) + z2(clicks[:, :, b], c[:, :, b], scale[:, :, b])
    swapped = z2(clicks[:, :, a], c[:, :, b], scale[:, :, b]) + z2(clicks[:, :, b], c[:, :, a], scale[:, :, a])
    with np.errstate(invalid="ignore"):
        found: BoolArray = (swapped < plausible) & (kept > plausible) & (swapped < kept)
    return found


Swappable = TypeVar("Swappable", FloatArray, BoolArray)


def apply_swaps(clicks: Swappable, swaps: BoolArray, pairs: npt.NDArray[np.int64]) -> Swappable:
    """The clicks (or any (F, M, K, ...) array) with every swapped pair exchanged back (a copy)."""
    fixed = clicks.copy()
    for p, (a, b) in enumerate(pairs):
        mask = swaps[:, :, p]
        if mask.any():
            fixed[:, :, a][mask], fixed[:, :, b][mask] = clicks[:, :, b][mask], clicks[:, :, a][mask]
    return fixed
