"""Per-volunteer reliability, learned from how each volunteer's clicks agree with the consensus.

Given a solved block (`model.solve`), `Tally.add` sums, per volunteer, the
responsibilities of their clicks (how many look like honest attempts), their
squared residuals (how tight), and their mean displacement (a systematic
offset); `Tally.model` turns the sums into a new `Model`, each estimate pulled
towards the prior by a few pseudo-clicks so a volunteer with three labels is
not judged on them alone. The per-keypoint noise is re-estimated from the
same sums: the responsibility-weighted mean squared residual, per axis, of
every volunteer scaled to a typical one. Precision and noise are only known up to
a common factor, so the volunteers' typical tau is held at 1.

Volunteer 0 (anonymous, unnamed) always keeps the prior. A model (the
accepted suggestions of one model version, `model.MODEL_PREFIX`) is learned
per keypoint, and only where its point can be checked: a gold point, or at
least `witnesses` clicks on that keypoint of that frame placed by volunteers
who were not shown the model's suggestions (`unshown`): those who were place
their own points mostly where the model is wrong, and would teach it that it
always is. Where the model's point stands alone it is its own consensus and
would only teach the model that it is always right. Models are left out of
the per-keypoint noise, which is the crowd's. Values in, values out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from receiver.consensus.model import PRIOR_INLIER, Model, Solution, squared_distance

__all__ = ["Prior", "Tally"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Prior:
    """How many pseudo-clicks pull each volunteer estimate towards the typical volunteer."""

    inlier: float = 4.0
    tau: float = 6.0
    bias: float = 12.0


class Tally:
    """Sums over solved blocks, per volunteer and per keypoint."""

    def __init__(self, model: Model, prior: Prior | None = None, *, witnesses: int = 2) -> None:
        self.model = model
        self.prior = prior or Prior()
        self.witnesses = witnesses
        v, k = len(model.volunteers), len(model.keypoints)
        self.is_model = model.is_model()
        self.keypoint_clicks = np.zeros((v, k))
        self.keypoint_honest = np.zeros((v, k))
        self.clicks = np.zeros(v)
        self.honest = np.zeros(v)
        self.spread = np.zeros(v)
        self.offset = np.zeros((v, 2))
        self.noise_squared = np.zeros(k)
        self.noise_weight = np.zeros(k)

    def add(
        self,
        solution: Solution,
        volunteer: IntArray,
        size: FloatArray,
        present: npt.NDArray[np.bool_],
        gold: npt.NDArray[np.bool_] | None = None,
        unshown: npt.NDArray[np.bool_] | None = None,
    ) -> None:
        """Add one solved block (`volunteer` (F, M) model rows, `size` (F, 2), `gold` (F, K) where an expert's point holds,
        `unshown` (F, M) the submissions of volunteers not shown the model's suggestions; None: everyone)."""
        placed = np.isfinite(solution.residual) & present[:, :, None]
        machine = self.is_model[volunteer][:, :, None]  # (F, M, 1)
        if machine.any():
            fair = ~machine if unshown is None else ~machine & unshown[:, :, None]
            people = (placed & fair).sum(axis=1)  # (F, K) clicks placed without seeing the model
            checked = people >= self.witnesses
            if gold is not None:
                checked = checked | gold
            placed = placed & (~machine | checked[:, None, :])
        r = np.where(placed, solution.responsibility, 0.0)
        tau2 = self.model.tau_of(volunteer) ** 2
        # A click pulls its own centre towards it; dividing by 1 - leverage undoes that shrinkage.
        unshrunk = np.where(placed, np.nan_to_num(solution.residual) / np.maximum(1 - solution.leverage, 0.05), 0.0)
        rows = np.broadcast_to(volunteer[:, :, None], r.shape)
        n = len(self.model.volunteers)
        self.clicks += np.bincount(rows[placed], minlength=n)
        self.honest += np.bincount(rows.ravel(), weights=r.ravel(), minlength=n)
        self.spread += np.bincount(rows.ravel(), weights=(r * unshrunk * tau2).ravel(), minlength=n)
        diagonal = np.hypot(size[:, 0], size[:, 1])[:, None, None, None]
        displacement = np.nan_to_num((solution.clicks - solution.centre[:, None]) / diagonal)
        for axis in range(2):
            self.offset[:, axis] += np.bincount(rows.ravel(), weights=(r * displacement[..., axis]).ravel(), minlength=n)
        crowd = np.where(machine, 0.0, r)
        self.noise_squared += (crowd * unshrunk * self.model.sigma**2).sum(axis=(0, 1))
        self.noise_weight += crowd.sum(axis=(0, 1))
        if machine.any():
            k = len(self.model.keypoints)
            cells = (rows * k + np.arange(k)[None, None, :]).ravel()
            size_vk = n * k
            self.keypoint_clicks += np.bincount(cells[placed.ravel()], minlength=size_vk).reshape(n, k)
            self.keypoint_honest += np.bincount(cells, weights=r.ravel(), minlength=size_vk).reshape(n, k)

    def add_rejected(
        self,
        points: FloatArray,
        solution: Solution,
        volunteer: IntArray,
        size: FloatArray,
        present: npt.NDArray[np.bool_],
        gold: npt.NDArray[np.bool_] | None = None,
        unshown: npt.NDArray[np.bool_] | None = None,
    ) -> None:
        """Judge a model on its points volunteers replaced (`points` (F, M, K, 2), NaN elsewhere), where the crowd checks them.

        Such a point does not vote, so the solve says nothing of it: it counts as
        honest when within three of the keypoint's noise of the centre (a nudge),
        else as a miss.
        """
        placed = np.isfinite(points[..., 0]) & present[:, :, None] & self.is_model[volunteer][:, :, None]
        if not placed.any():
            return
        own = np.isfinite(solution.residual) & present[:, :, None] & ~self.is_model[volunteer][:, :, None]
        if unshown is not None:
            own &= unshown[:, :, None]
        checked = own.sum(axis=1) >= self.witnesses
        if gold is not None:
            checked = checked | gold
        judged = placed & checked[:, None, :]
        diagonal = np.hypot(size[:, 0], size[:, 1])[:, None, None]
        near = np.sqrt(squared_distance(points, solution.centre[:, None])) <= 3 * self.model.sigma[None, None, :] * diagonal
        n, k = len(self.model.volunteers), len(self.model.keypoints)
        cells = (np.broadcast_to(volunteer[:, :, None], judged.shape) * k + np.arange(k)[None, None, :])[judged]
        self.keypoint_clicks += np.bincount(cells, minlength=n * k).reshape(n, k)
        self.keypoint_honest += np.bincount(cells, weights=near[judged].astype(float), minlength=n * k).reshape(n, k)

    def updated(self) -> Model:
        """The model these sums imply."""
        prior, old = self.prior, self.model
        inlier = (self.honest + prior.inlier * PRIOR_INLIER) / (self.clicks + prior.inlier)
        # spread holds sum r * d^2 / (sigma diag)^2; E[d^2] = 2 (sigma diag tau)^2.
        tau = np.sqrt((self.spread / 2 + prior.tau) / (self.honest + prior.tau))
        bias = self.offset / (self.honest + prior.bias)[:, None]
        variance = self.noise_squared / (2 * np.maximum(self.noise_weight, 1e-12))
        sigma = np.where(self.noise_weight > 0, np.sqrt(np.maximum(variance, 1e-10)), old.sigma)
        learned = (self.honest > 0) & ~self.is_model
        learned[0] = False
        keypoint_inlier = None
        if self.is_model.any():
            machine = self.is_model[:, None]
            keypoint_inlier = np.where(machine, (self.keypoint_honest + prior.inlier * PRIOR_INLIER) / (self.keypoint_clicks + prior.inlier), np.nan)
        if learned.any():
            typical = np.exp(np.average(np.log(tau[learned]), weights=self.honest[learned]))
            tau = tau / typical
            sigma = sigma * typical
        inlier[0], tau[0], bias[0] = PRIOR_INLIER, 1.0, 0.0
        # A model errs by missing, not by scatter or drift: its precision is held at a typical volunteer's and
        # only its share of honest points is learned, per keypoint. Learning its scatter from its misses would
        # make it a vague voter whose misses still count as agreeing.
        tau[self.is_model], bias[self.is_model] = 1.0, 0.0
        return Model(old.keypoints, sigma, list(old.volunteers), inlier, tau, bias, keypoint_inlier)
