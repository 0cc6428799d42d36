"""Per-keypoint noise: how far honest volunteers' clicks of each keypoint scatter, and the OKS built on it.

Like COCO's keypoint similarity (cocodataset/cocoapi `computeOks`), agreement
is ``exp(-d^2 / (2 (kappa sigma_k s)^2))`` with a scale ``s`` (here the frame's
diagonal) and a per-keypoint ``sigma_k``; COCO's ``k_i = 2 sigma_i`` gives
``kappa = 2``. Unlike COCO, which measured its sigmas once on re-annotated
images, the sigmas here are learned from the data: the weighted spread of the
agreeing clicks (see `estimate_sigmas`). Values in, values out; vectorised.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["KAPPA", "oks"]

FloatArray = npt.NDArray[np.float64]

#: OKS tolerance in units of a keypoint's noise (COCO's k = 2 sigma).
KAPPA = 2.0


def oks(squared: FloatArray, sigma: FloatArray, placed: npt.NDArray[np.bool_], kappa: float = KAPPA) -> FloatArray:
    """Mean OKS over the placed keypoints of each row.

    `squared` (..., K) squared distances in units of the scale (d/s)^2; `sigma`
    (K,) noise per keypoint in the same unit. Rows with nothing placed score 0.
    """
    tolerance = (kappa * sigma) ** 2
    terms = np.where(placed, np.exp(-np.nan_to_num(squared, nan=np.inf) / (2 * tolerance)), 0.0)
    counts = placed.sum(axis=-1)
    result: FloatArray = np.where(counts > 0, terms.sum(axis=-1) / np.maximum(counts, 1), 0.0)
    return result
