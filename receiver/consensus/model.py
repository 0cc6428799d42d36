"""What the consensus has learned, and the per-frame step that uses it.

`Model` holds the numbers learned over a repository: each keypoint's noise
(`sigma`, per axis, as a fraction of the frame's diagonal) and, per volunteer,
the share of their clicks that are honest attempts (`inlier`), their
precision relative to the crowd (`tau`, 1 is typical, 2 twice as scattered)
and their systematic offset (`bias`, a fraction of the diagonal). An unknown
volunteer gets the prior. A model whose accepted suggestions vote as one
pseudo-volunteer (`MODEL_PREFIX`) errs per keypoint rather than per hand, so
its share of honest attempts is held per keypoint (`keypoint_inlier`, NaN
for everyone else).

`solve` finds the consensus of many frames at once with the model fixed: each
click is an honest attempt (Gaussian around the centre, deviation
``sigma_k * tau_v * diagonal``) or a stray (uniform over the frame), mixed by
the volunteer's `inlier` share. Starting from the coordinate-wise median, it
alternates: swaps found and exchanged back (`swaps`), each click's
responsibility (the probability it is honest), the centre as the weighted
mean with weights responsibility / tau^2; until the centre moves by less than
`tolerance` pixels. Gold frames keep the expert's point. The same function
serves a whole repository and one frame, so the incremental and the batch
answers agree. Vectorised over (frames, submissions, keypoints).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from receiver.consensus.noise import KAPPA
from receiver.consensus.swaps import apply_swaps, find_swaps

__all__ = ["PRIOR_INLIER", "Model", "Solution", "median_of", "solve", "squared_distance"]

#: A volunteer named with this prefix is a model: the accepted suggestions of one model version, voting as one.
MODEL_PREFIX = "model:"

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

#: Before anything is known, nine clicks in ten are taken to be honest attempts.
PRIOR_INLIER = 0.9
#: Before anything is known, a keypoint's clicks scatter 0.3% of the diagonal per axis (about 4 px on 1280x720).
PRIOR_SIGMA = 0.003


@dataclass
class Model:
    """Learned noise per keypoint and reliability per volunteer (see the module docstring)."""

    keypoints: tuple[str, ...]
    sigma: FloatArray
    volunteers: list[str] = field(default_factory=lambda: [""])
    inlier: FloatArray = field(default_factory=lambda: np.array([PRIOR_INLIER]))
    tau: FloatArray = field(default_factory=lambda: np.ones(1))
    bias: FloatArray = field(default_factory=lambda: np.zeros((1, 2)))
    #: (V, K): the per-keypoint honest share of the volunteers learned per keypoint (models); NaN elsewhere.
    keypoint_inlier: FloatArray | None = None

    @classmethod
    def prior(cls, keypoints: tuple[str, ...] | list[str], sigma: float = PRIOR_SIGMA) -> Model:
        """A model that knows nothing yet: every keypoint equally noisy, every volunteer typical."""
        return cls(tuple(keypoints), np.full(len(keypoints), sigma))

    def index(self, volunteers: list[str]) -> IntArray:
        """Each volunteer's row in this model; 0 (the prior) for the ones it has not seen."""
        known = {name: i for i, name in enumerate(self.volunteers)}
        return np.array([known.get(v, 0) for v in volunteers], dtype=np.int64)

    def is_model(self) -> BoolArray:
        """(V,) which volunteers are models (learned per keypoint)."""
        return np.array([name.startswith(MODEL_PREFIX) for name in self.volunteers], dtype=bool)

    def inlier_of(self, volunteer: IntArray) -> FloatArray:
        """The honest share of each click, shape `volunteer.shape + (K,)`: a model's per keypoint, a volunteer's whole."""
        whole = np.broadcast_to(self.inlier[volunteer][..., None], volunteer.shape + (len(self.keypoints),))
        if self.keypoint_inlier is None:
            return whole
        own = self.keypoint_inlier[volunteer]
        result: FloatArray = np.where(np.isfinite(own), own, whole)
        return result

    def tau_of(self, volunteer: IntArray) -> FloatArray:
        """The precision of each click, shape `volunteer.shape + (K,)`, beside `inlier_of`."""
        result: FloatArray = np.broadcast_to(self.tau[volunteer][..., None], volunteer.shape + (len(self.keypoints),))
        return result

    def keypoint_reliability(self) -> FloatArray:
        """(V, K) each volunteer's expected OKS against the truth per keypoint (the same across keypoints for a person)."""
        rows = np.arange(len(self.volunteers), dtype=np.int64)
        result: FloatArray = self.inlier_of(rows) * KAPPA**2 / (KAPPA**2 + self.tau_of(rows) ** 2)
        return result

    def reliability(self) -> FloatArray:
        """Each volunteer's expected OKS against the truth: inlier share times kappa^2 / (kappa^2 + tau^2); a model's, its mean over keypoints."""
        result: FloatArray = self.inlier * KAPPA**2 / (KAPPA**2 + self.tau**2)
        if self.keypoint_inlier is not None:
            per = self.keypoint_reliability().mean(axis=1)
            result = np.where(np.isfinite(self.keypoint_inlier).any(axis=1), per, result)
        return result


@dataclass
class Solution:
    """The consensus of a block of frames (F frames, up to M submissions each, K keypoints, P pairs)."""

    centre: FloatArray  # (F, K, 2) pixels
    responsibility: FloatArray  # (F, M, K) probability each click is an honest attempt; 0 where not placed
    swaps: BoolArray  # (F, M, P)
    clicks: FloatArray  # (F, M, K, 2) as clicked, swaps exchanged back
    visible: BoolArray  # (F, M, K) visible flags, swaps exchanged back
    residual: FloatArray  # (F, M, K) squared distance to the centre over (sigma diag tau)^2, bias removed
    leverage: FloatArray  # (F, M, K) each click's share of its centre's weight
    iterations: int


def squared_distance(a: FloatArray, b: FloatArray) -> FloatArray:
    """Squared distance over the last axis of length 2 (x, y).

    Spelled out because numpy's reduction over an axis of length two is many
    times slower than two multiplications and an addition.
    """
    dx = a[..., 0] - b[..., 0]
    dy = a[..., 1] - b[..., 1]
    result: FloatArray = dx * dx + dy * dy
    return result


def median_of(points: FloatArray) -> FloatArray:
    """The median over axis 1 ignoring NaN, NaN where a column has none: `np.nanmedian` without its masked-array path."""
    if points.shape[1] == 0:
        return np.full(points.shape[:1] + points.shape[2:], np.nan)
    ordered = np.sort(points, axis=1)  # NaN sorts last
    count = np.isfinite(ordered).sum(axis=1, keepdims=True)
    low = np.take_along_axis(ordered, np.maximum((count - 1) // 2, 0), axis=1)
    high = np.take_along_axis(ordered, count // 2, axis=1)
    middle: FloatArray = np.where(count > 0, (low + high) / 2, np.nan)[:, 0]
    return middle


def solve(
    clicks: FloatArray,
    visible: BoolArray,
    present: BoolArray,
    volunteer: IntArray,
    size: FloatArray,
    model: Model,
    pairs: IntArray,
    *,
    gold: FloatArray | None = None,
    start: FloatArray | None = None,
    tolerance: float = 1e-4,
    max_iterations: int = 100,
) -> Solution:
    """The consensus of each frame with the model fixed.

    `clicks` (F, M, K, 2) pixels, NaN where not placed or no submission;
    `present` (F, M) which slots hold a submission; `volunteer` (F, M) rows of
    the model; `size` (F, 2) width and height; `gold` (F, K, 2) expert points,
    NaN where none; `start` (F, K, 2) centres to start from instead of the
    median (NaN where none), such as the previous learning round's answer.
    """
    diagonal = np.hypot(size[:, 0], size[:, 1])  # (F,)
    area = size[:, 0] * size[:, 1]
    placed = np.isfinite(clicks[..., 0]) & present[:, :, None]
    tau = model.tau_of(volunteer)  # (F, M, K)
    inlier = np.clip(model.inlier_of(volunteer), 1e-6, 1 - 1e-6)
    bias = model.bias[volunteer] * diagonal[:, None, None]  # (F, M, 2)
    # Each click's expected per-axis deviation in pixels.
    deviation = model.sigma[None, None, :] * diagonal[:, None, None] * tau  # (F, M, K)
    corrected = clicks - bias[:, :, None, :]
    centre = median_of(np.where(placed[..., None], corrected, np.nan))  # (F, K, 2)
    if start is not None:
        # A previous answer (the last learning round's) is a closer start than the median.
        centre = np.where(np.isfinite(start), start, centre)
    has_gold = np.zeros(centre.shape[:2], dtype=bool) if gold is None else np.isfinite(gold[..., 0])
    if gold is not None:
        centre = np.where(has_gold[..., None], gold, centre)
    log_prior = np.log(inlier / (1 - inlier))
    log_inlier_norm = -np.log(2 * np.pi * deviation**2)
    log_stray = -np.log(area)[:, None, None]
    iterations = 0
    for iterations in range(1, max_iterations + 1):
        swaps = find_swaps(corrected, centre, deviation, pairs)
        fixed = apply_swaps(corrected, swaps, pairs)
        squared = squared_distance(fixed, centre[:, None]) / deviation**2
        with np.errstate(over="ignore", invalid="ignore"):
            logit = log_prior + log_inlier_norm - squared / 2 - log_stray
            responsibility = np.where(placed, 1 / (1 + np.exp(-np.clip(logit, -700, 700))), 0.0)
        weight = responsibility / tau**2
        total = weight.sum(axis=1)  # (F, K)
        mean = (weight[..., None] * np.where(placed[..., None], fixed, 0.0)).sum(axis=1) / np.maximum(total, 1e-300)[..., None]
        new_centre = np.where((total > 1e-12)[..., None], mean, centre)
        new_centre = np.where(has_gold[..., None], centre, new_centre)
        moved = np.nanmax(np.abs(new_centre - centre)) if new_centre.size else 0.0
        centre = new_centre
        if not moved > tolerance:
            break
    swaps = find_swaps(corrected, centre, deviation, pairs)
    fixed = apply_swaps(corrected, swaps, pairs)
    squared = squared_distance(fixed, centre[:, None]) / deviation**2
    with np.errstate(over="ignore", invalid="ignore"):
        logit = log_prior + log_inlier_norm - squared / 2 - log_stray
        responsibility = np.where(placed, 1 / (1 + np.exp(-np.clip(logit, -700, 700))), 0.0)
    weight = responsibility / tau**2
    total = weight.sum(axis=1, keepdims=True)
    leverage = np.where(has_gold[:, None, :], 0.0, weight / np.maximum(total, 1e-300))
    return Solution(
        centre=centre,
        responsibility=responsibility,
        swaps=swaps,
        clicks=apply_swaps(clicks, swaps, pairs),
        visible=apply_swaps(visible, swaps, pairs),
        residual=np.where(placed, squared, np.nan),
        leverage=leverage,
        iterations=iterations,
    )
