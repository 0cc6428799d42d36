"""A synthetic crowd labelling several animals per frame, seeded, with everything the generator knows kept for an oracle.

Shared by the consensus tests (small herds) and `benchmarks/consensus_quality.py`.
Each frame holds 1, 2 or 3 mice (from `animals`), apart from one another;
every volunteer sends one instance per animal they saw, in a random order.
Kinds: honest (per-keypoint noise scaled by a skill), swap (left/right paws
exchanged on every animal), mix (two animals' hind halves exchanged: a swap
between animals), skip (one animal left out when there are several), extra
(a spurious animal added where there is none), random (clicks anywhere) and
offset (honest, shifted by a fixed vector).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from receiver.contract.records import Record
from tests.consensus.crowd import _TEMPLATE, HEIGHT, NOISE, WIDTH
from tests.export.records import KEYPOINTS, submission

__all__ = ["HIND", "Herd", "make_herd"]

#: The keypoints a mixer takes from the other animal: both hind paws and the tail base.
HIND = np.array([2, 3, 5])
_PAW_SWAP = [1, 0, 3, 2, 4, 5]


@dataclass
class Herd:
    """The records and the truth: per frame the animals' points, per record each instance's true animal per keypoint (-1: none)."""

    records: list[Record]
    truth: dict[int, np.ndarray]  # frame -> (n, K, 2)
    kind: dict[str, str]  # volunteer -> kind
    offset: dict[str, np.ndarray] = field(default_factory=dict)
    #: record id -> (instances (m, K, 2) as clicked, owner (m, K): the true animal of each click, -1 for a spurious or random one)
    clicks: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    volunteer_of: dict[str, str] = field(default_factory=dict)
    frame_of: dict[str, int] = field(default_factory=dict)


def _mouse(rng: np.random.Generator, centre: np.ndarray) -> np.ndarray:
    angle = rng.uniform(0, 2 * np.pi)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    scaled: np.ndarray = centre + _TEMPLATE @ rotation.T * rng.uniform(0.8, 1.2)
    return scaled


def _centres(rng: np.random.Generator, n: int) -> np.ndarray:
    """`n` animal centres in separate columns of the frame, so no two mice overlap."""
    column = (WIDTH - 200) / n
    return np.array([[100 + column * (i + 0.5) + rng.uniform(-0.2, 0.2) * column, rng.uniform(150, HEIGHT - 150)] for i in range(n)])


def make_herd(
    seed: int,
    *,
    frames: int = 300,
    animals: tuple[int, ...] = (1, 2, 3),
    per_frame: int = 10,
    volunteers: int = 50,
    kinds: dict[str, float] | None = None,
    offsets: int = 3,
    tracks: bool = False,
) -> Herd:
    """A seeded herd; with `tracks`, honest volunteers name each animal's track (m0, m1, ...) as a videos file would allow."""
    rng = np.random.default_rng(seed)
    shares = kinds if kinds is not None else {"swap": 0.1, "mix": 0.06, "skip": 0.08, "extra": 0.06, "random": 0.06}
    names = [f"v{i:03d}" for i in range(volunteers)]
    assigned = [kind for kind, share in shares.items() for _ in range(round(share * volunteers))] + ["offset"] * offsets
    assigned += ["honest"] * (volunteers - len(assigned))
    rng.shuffle(assigned)
    kind = dict(zip(names, assigned, strict=True))
    skill = dict(zip(names, np.exp(rng.normal(0, 0.3, volunteers)), strict=True))
    offset = {n: rng.choice([-1, 1], 2) * rng.uniform(8, 14, 2) for n in names if kind[n] == "offset"}
    herd = Herd([], {}, {f"anonymous/{n}": k for n, k in kind.items()}, {f"anonymous/{n}": o for n, o in offset.items()})
    when = datetime(2026, 1, 15, 12, tzinfo=UTC)
    k_count = len(KEYPOINTS)
    for f in range(frames):
        n = int(animals[f % len(animals)])
        truth = np.stack([_mouse(rng, c) for c in _centres(rng, n)])
        herd.truth[f] = truth
        for name in rng.choice(names, per_frame, replace=False).tolist():
            what = kind[name]
            points = truth + rng.normal(0, 1, truth.shape) * NOISE[None, :, None] * skill[name]
            owner = np.repeat(np.arange(n)[:, None], k_count, axis=1)
            if what == "random":
                points = rng.uniform([0, 0], [WIDTH, HEIGHT], truth.shape)
                owner = np.full((n, k_count), -1)
            if what == "offset":
                points = points + offset[name]
            if what == "swap":
                points, owner = points[:, _PAW_SWAP], owner[:, _PAW_SWAP]
            if what == "mix" and n >= 2:
                a, b = rng.choice(n, 2, replace=False)
                mine, theirs = points[a, HIND].copy(), points[b, HIND].copy()
                points[a, HIND], points[b, HIND] = theirs, mine
                owner[a, HIND], owner[b, HIND] = b, a
            if what == "skip" and n >= 2:
                left = rng.integers(n)
                points, owner = np.delete(points, left, axis=0), np.delete(owner, left, axis=0)
            if what == "extra":
                # A mouse where there is none: below or above the real ones, in the frame's free band.
                ghost = _mouse(rng, np.array([rng.uniform(150, WIDTH - 150), 60.0 if rng.random() < 0.5 else HEIGHT - 60.0]))
                points = np.concatenate([points, ghost[None]])
                owner = np.concatenate([owner, np.full((1, k_count), -1)])
            points = np.clip(points, 0, [WIDTH, HEIGHT])
            order = rng.permutation(len(points))
            points, owner = points[order], owner[order]
            instances = []
            for i in range(len(points)):
                labels = submission({k: (float(x), float(y)) for k, (x, y) in zip(KEYPOINTS, points[i], strict=True)})["labels"]
                instance: dict[str, object] = {"labels": labels}
                true_animal = np.bincount(owner[i][owner[i] >= 0], minlength=n).argmax() if (owner[i] >= 0).any() else -1
                if tracks and what == "honest":
                    instance["track"] = f"m{true_animal}"
                instances.append(instance)
            body = submission({}, frame_index=f, total_frames=frames + 1, metadata={"volunteer": name})
            del body["labels"]
            body["instances"] = instances
            record = Record.create(body, submitter="anonymous", received_at=when, receiver_version="0.1.0")
            herd.records.append(record)
            herd.clicks[record.id] = (np.array([[[lab["pixel_x"], lab["pixel_y"]] for lab in i["labels"]] for i in instances], dtype=float), owner)
            herd.volunteer_of[record.id] = f"anonymous/{name}"
            herd.frame_of[record.id] = f
    return herd
