"""A synthetic crowd on synthetic truth, seeded: honest volunteers of varied skill, swappers, random clickers, offset ones.

Shared by the consensus tests (small crowds) and `benchmarks/consensus_quality.py`
(the full one). Each keypoint has its own click noise (`NOISE`, pixels per
axis); each honest volunteer scales it by a skill factor. Swappers exchange
both left/right pairs on every label; random clickers click anywhere in the
frame; offset volunteers click honestly but shifted by a fixed vector.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from receiver.contract.records import Record
from tests.export.records import KEYPOINTS, submission

__all__ = ["NOISE", "PAIRS", "Crowd", "make_crowd"]

#: Per-axis click noise in pixels, in skeleton order: all different, so their order can be checked.
NOISE = np.array([3.5, 4.5, 5.5, 6.5, 2.0, 2.75])
PAIRS = (("left_front_paw", "right_front_paw"), ("left_hind_paw", "right_hind_paw"))
# The mouse seen from above, keypoint offsets from its centre in pixels (facing +x).
_TEMPLATE = np.array([[-40.0, -30.0], [-40.0, 30.0], [40.0, -32.0], [40.0, 32.0], [-80.0, 0.0], [80.0, 0.0]])
WIDTH, HEIGHT = 1280, 720


@dataclass
class Crowd:
    """The records and everything the generator knows about them."""

    records: list[Record]
    truth: dict[int, np.ndarray]  # frame index -> (K, 2)
    hidden: dict[int, np.ndarray]  # frame index -> (K,) true when the keypoint is hidden
    kind: dict[str, str]  # volunteer -> honest | swap | random | offset
    offset: dict[str, np.ndarray] = field(default_factory=dict)
    swapped: set[str] = field(default_factory=set)  # record ids whose pairs were exchanged
    clicks: dict[str, np.ndarray] = field(default_factory=dict)  # record id -> (K, 2) as clicked
    volunteer_of: dict[str, str] = field(default_factory=dict)  # record id -> volunteer
    frame_of: dict[str, int] = field(default_factory=dict)  # record id -> frame index


def make_crowd(
    seed: int,
    *,
    frames: int = 400,
    per_frame: int = 10,
    volunteers: int = 60,
    swappers: float = 0.1,
    random_clickers: float = 0.1,
    offsets: int = 3,
    hidden_share: float = 0.1,
) -> Crowd:
    """A seeded crowd; anonymous submissions name their volunteer in metadata, as the labeling page does."""
    rng = np.random.default_rng(seed)
    names = [f"v{i:03d}" for i in range(volunteers)]
    n_swap, n_random = round(swappers * volunteers), round(random_clickers * volunteers)
    kinds = ["swap"] * n_swap + ["random"] * n_random + ["offset"] * offsets
    kinds += ["honest"] * (volunteers - len(kinds))
    rng.shuffle(kinds)
    kind = dict(zip(names, kinds))
    skill = dict(zip(names, np.exp(rng.normal(0, 0.3, volunteers))))
    offset = {n: rng.choice([-1, 1], 2) * rng.uniform(8, 14, 2) for n in names if kind[n] == "offset"}
    crowd = Crowd([], {}, {}, kind, offset)
    when = datetime(2026, 1, 15, 12, tzinfo=UTC)
    for f in range(frames):
        angle = rng.uniform(0, 2 * np.pi)
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        centre = rng.uniform([150, 150], [WIDTH - 150, HEIGHT - 150])
        truth = centre + _TEMPLATE @ rotation.T * rng.uniform(0.8, 1.2)
        hidden = rng.random(len(KEYPOINTS)) < hidden_share
        crowd.truth[f], crowd.hidden[f] = truth, hidden
        for name in rng.choice(names, per_frame, replace=False):
            noise = NOISE[:, None] * skill[name]
            points = truth + rng.normal(0, 1, truth.shape) * noise
            if kind[name] == "random":
                points = rng.uniform([0, 0], [WIDTH, HEIGHT], truth.shape)
            if kind[name] == "offset":
                points = points + offset[name]
            if kind[name] == "swap":
                points = points[[1, 0, 3, 2, 4, 5]]
            points = np.clip(points, 0, [WIDTH, HEIGHT])
            # Honest eyes see hiddenness right nine times in ten.
            seen_hidden = hidden ^ (rng.random(len(KEYPOINTS)) < 0.1)
            if kind[name] == "swap":
                seen_hidden = seen_hidden[[1, 0, 3, 2, 4, 5]]
            body = submission(
                {k: (float(x), float(y)) for k, (x, y) in zip(KEYPOINTS, points)},
                frame_index=f,
                total_frames=frames + 1,
                hidden=[k for k, h in zip(KEYPOINTS, seen_hidden) if h],
                metadata={"volunteer": name},
            )
            record = Record.create(body, submitter="anonymous", received_at=when, receiver_version="0.1.0")
            crowd.records.append(record)
            crowd.clicks[record.id] = np.array([[lab["pixel_x"], lab["pixel_y"]] for lab in body["labels"]], dtype=float)
            crowd.volunteer_of[record.id] = f"anonymous/{name}"
            crowd.frame_of[record.id] = f
            if kind[name] == "swap":
                crowd.swapped.add(record.id)
    crowd.kind = {f"anonymous/{n}": k for n, k in kind.items()}
    crowd.offset = {f"anonymous/{n}": o for n, o in offset.items()}
    return crowd
