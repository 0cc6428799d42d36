"""A model in the loop, simulated and seeded: a clip, a model's predictions wrong on some points, and a crowd shown them.

Shared by the consensus and export tests and `benchmarks/model_in_loop.py`.
The mouse walks slowly across a 1280x720 clip, so neighbouring frames are
alike and a wrong prediction is also a jump. The model predicts every
keypoint 1.5 px from the truth, except on `wrong_share` of the points, where
it is off by 15 to 40 px and scores lower. Its misses cluster, as a model's do
(occlusions, odd poses): the clip has hard stretches (`hard_share` of the
frames, about seven frames long on average) where most points are wrong, and
easy ones where few are; `hard_share` None spreads them evenly. Volunteers are `acceptors` (they
accept every suggestion unchanged) or correctors (they accept a suggestion
within 10 px of the truth and place the others themselves, with their usual
click noise). The same volunteers labelling the same frames without
suggestions place every point themselves, with the same noise draws
(`Crowd.plain`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from receiver.contract.records import Record
from tests.consensus.crowd import NOISE
from tests.export.records import KEYPOINTS, VIDEO, submission

__all__ = ["MODEL", "ModelCrowd", "make_model_crowd"]

#: The model version the suggestions come from (`metadata.model`).
MODEL = "resnet-v1"
WIDTH, HEIGHT = 1280, 720
_TEMPLATE = np.array([[-40.0, -30.0], [-40.0, 30.0], [40.0, -32.0], [40.0, 32.0], [-80.0, 0.0], [80.0, 0.0]])
#: A suggestion further than this from the truth is wrong: correctors move it, and it counts as a model error.
WRONG_PX = 10.0


@dataclass
class ModelCrowd:
    """Per frame (in frame order): the truth, the model's points and scores, and each volunteer's labels with and without suggestions."""

    truth: dict[int, np.ndarray]  # (K, 2)
    predicted: dict[int, np.ndarray]  # (K, 2)
    scores: dict[int, np.ndarray]  # (K,)
    wrong: dict[int, np.ndarray]  # (K,) bool: the prediction is more than WRONG_PX from the truth
    suggested: dict[int, list[Record]]  # per frame, in the order volunteers came
    plain: dict[int, list[Record]]  # the same volunteers' labels without suggestions
    acceptors: set[str] = field(default_factory=set)
    gold: dict[int, np.ndarray] = field(default_factory=dict)  # frames with an expert's points

    def records(self, per_frame: int, *, suggestions: bool = True) -> list[Record]:
        """Every frame's first `per_frame` labels."""
        source = self.suggested if suggestions else self.plain
        return [r for f in sorted(source) for r in source[f][:per_frame]]

    @property
    def wrong_frames(self) -> set[int]:
        return {f for f, w in self.wrong.items() if w.any()}


def make_model_crowd(
    seed: int,
    *,
    frames: int = 200,
    per_frame: int = 10,
    volunteers: int = 50,
    acceptors: float = 0.4,
    wrong_share: float | np.ndarray = 0.3,
    gold_share: float = 0.1,
    hard_share: float | None = 0.45,
) -> ModelCrowd:
    """A seeded model-in-the-loop crowd (see the module docstring); `gold_share` of the frames have an expert's points."""
    rng = np.random.default_rng(seed)
    names = [f"v{i:03d}" for i in range(volunteers)]
    blind = set(rng.choice(names, round(acceptors * volunteers), replace=False).tolist())
    skill = dict(zip(names, np.exp(rng.normal(0, 0.25, volunteers))))
    crowd = ModelCrowd({}, {}, {}, {}, {}, {}, {f"anonymous/{n}" for n in blind})
    when = datetime(2026, 1, 15, 12, tzinfo=UTC)
    centre = np.array([WIDTH / 2, HEIGHT / 2])
    heading = rng.uniform(0, 2 * np.pi)
    k = len(KEYPOINTS)
    share = np.broadcast_to(np.asarray(wrong_share, dtype=float), (k,))
    if hard_share is not None:
        easy = share * 0.05 / 0.3
        hard = (share - (1 - hard_share) * easy) / hard_share
    hard_now = hard_share is not None and rng.random() < hard_share
    for f in range(frames):
        # Hard stretches: entered and left at random, so they cover `hard_share` of the clip in runs of about 1 / 0.15 frames.
        if hard_share is not None:
            leave, enter = 0.15, 0.15 * hard_share / (1 - hard_share)
            hard_now = rng.random() < (1 - leave if hard_now else enter)
            odds = hard if hard_now else easy
        else:
            odds = share
        heading += rng.normal(0, 0.05)
        step = 3.0 * np.array([np.cos(heading), np.sin(heading)])
        if not (150 < centre[0] + step[0] < WIDTH - 150 and 150 < centre[1] + step[1] < HEIGHT - 150):
            heading += np.pi
            step = -step
        centre = centre + step
        rotation = np.array([[np.cos(heading), -np.sin(heading)], [np.sin(heading), np.cos(heading)]])
        truth = centre + _TEMPLATE @ rotation.T
        wrong = rng.random(k) < odds
        angle = rng.uniform(0, 2 * np.pi, k)
        miss = rng.uniform(15, 40, k)[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
        predicted = truth + rng.normal(0, 1.5, (k, 2)) + np.where(wrong[:, None], miss, 0.0)
        scores = np.where(wrong, rng.uniform(0.2, 0.75, k), rng.uniform(0.6, 1.0, k))
        crowd.truth[f], crowd.predicted[f], crowd.scores[f] = truth, predicted, scores
        crowd.wrong[f] = np.hypot(*(predicted - truth).T) > WRONG_PX
        if rng.random() < gold_share:
            crowd.gold[f] = truth
        crowd.suggested[f], crowd.plain[f] = [], []
        for name in rng.choice(names, per_frame, replace=False).tolist():
            own = np.clip(truth + rng.normal(0, 1, truth.shape) * NOISE[:, None] * skill[name], 0, [WIDTH, HEIGHT])
            metadata = {"volunteer": name}
            plain = submission(dict(zip(KEYPOINTS, map(tuple, own.tolist()))), frame_index=f, total_frames=frames + 1, metadata=metadata)
            accept = np.ones(k, dtype=bool) if name in blind else ~crowd.wrong[f]
            points = np.where(accept[:, None], predicted, own)
            body = submission(dict(zip(KEYPOINTS, map(tuple, points.tolist()))), frame_index=f, total_frames=frames + 1, metadata={**metadata, "model": MODEL})
            for label, took in zip(body["labels"], accept.tolist()):
                label["origin"] = "suggested" if took else "placed"
            for document, kept in ((plain, crowd.plain[f]), (body, crowd.suggested[f])):
                kept.append(Record.create(document, submitter="anonymous", received_at=when, receiver_version="0.1.0"))
    return crowd


__all__ += ["VIDEO", "WRONG_PX"]
