"""Consensus quality on a synthetic crowd: the new consensus against the plain median, Zooniverse's DBSCAN reducer and an oracle.

    python benchmarks/consensus_quality.py [--frames 400] [--seed 1]

One seeded crowd (tests/consensus/crowd.py: ten volunteers per frame, honest
ones with per-keypoint noise of different sizes, 10% who swap left and right,
10% who click at random, a few offset by a fixed vector) is aggregated four
ways from the same clicks:

- consensus: `receiver.consensus` (learned noise, reliability, swaps);
- median: the per-keypoint coordinate-wise median;
- dbscan: Zooniverse's `point_reducer_dbscan` settings (eps 5 px,
  min_samples 3 per keypoint, the largest cluster's mean), with scikit-learn's
  DBSCAN; a keypoint with no cluster falls back to the median (counted);
- oracle: told every volunteer's kind: random clickers dropped, swaps
  repaired, offsets removed, then the plain mean.

It prints mean and 95th-percentile error against the truth and the share of
points within 5 px, then swap precision and recall, where the random clickers
rank in reliability, the learned sigmas beside the generated noise (which
differ by more than 3x between keypoints), and each keypoint's error beside
the plain median's.

Then herds (tests/consensus/herd.py): frames of 1, 2 and 3 mice, volunteers
who swap paws, swap hind halves between two animals, skip an animal, add a
spurious one, click at random or with an offset. It prints the share of
frames whose number of animals the consensus got right, per number of
animals, and the mean error of matched keypoints beside an oracle told each
volunteer's kind and the true animal of every click.
scikit-learn is needed here only (the `test` extra).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from receiver.consensus import consensus  # noqa: E402
from tests.consensus.crowd import NOISE, PAIRS, Crowd, make_crowd  # noqa: E402
from tests.consensus.herd import Herd, make_herd  # noqa: E402
from tests.export.records import KEYPOINTS  # noqa: E402


def _by_frame(crowd: Crowd) -> dict[int, list[str]]:
    frames: dict[int, list[str]] = {}
    for record_id, f in crowd.frame_of.items():
        frames.setdefault(f, []).append(record_id)
    return frames


def median_reducer(crowd: Crowd) -> dict[int, np.ndarray]:
    return {f: np.median(np.stack([crowd.clicks[r] for r in ids]), axis=0) for f, ids in _by_frame(crowd).items()}


def dbscan_reducer(crowd: Crowd, eps: float = 5.0, min_samples: int = 3) -> tuple[dict[int, np.ndarray], int]:
    """Zooniverse's point_reducer_dbscan settings, one keypoint (tool) at a time; the largest cluster's mean."""
    from sklearn.cluster import DBSCAN

    medians = median_reducer(crowd)
    result, fallbacks = {}, 0
    for f, ids in _by_frame(crowd).items():
        clicks = np.stack([crowd.clicks[r] for r in ids])
        points = np.empty((len(KEYPOINTS), 2))
        for k in range(len(KEYPOINTS)):
            labels = DBSCAN(eps=eps, min_samples=min_samples).fit(clicks[:, k]).labels_
            found = labels[labels >= 0]
            if len(found) == 0:
                points[k], fallbacks = medians[f][k], fallbacks + 1
                continue
            largest = np.bincount(found).argmax()
            points[k] = clicks[labels == largest, k].mean(axis=0)
        result[f] = points
    return result, fallbacks


def oracle(crowd: Crowd) -> dict[int, np.ndarray]:
    result = {}
    for f, ids in _by_frame(crowd).items():
        kept = []
        for r in ids:
            volunteer = crowd.volunteer_of[r]
            kind = crowd.kind[volunteer]
            if kind == "random":
                continue
            clicks = crowd.clicks[r]
            if kind == "swap":
                clicks = clicks[[1, 0, 3, 2, 4, 5]]
            if kind == "offset":
                clicks = clicks - crowd.offset[volunteer]
            kept.append(clicks)
        result[f] = np.mean(kept, axis=0)
    return result


def figures(crowd: Crowd, estimate: dict[int, np.ndarray]) -> tuple[float, float, float]:
    errors = np.concatenate([np.hypot(*(estimate[f] - crowd.truth[f]).T) for f in crowd.truth])
    return float(errors.mean()), float(np.percentile(errors, 95)), float((errors <= 5).mean())


def per_keypoint(crowd: Crowd, estimate: dict[int, np.ndarray]) -> np.ndarray:
    """Mean error of each keypoint over the frames, (K,)."""
    errors = np.stack([np.hypot(*(estimate[f] - crowd.truth[f]).T) for f in crowd.truth])
    means: np.ndarray = errors.mean(axis=0)
    return means


_PAW_SWAP = [1, 0, 3, 2, 4, 5]


def herd_oracle(herd: Herd) -> dict[int, np.ndarray]:
    """Per frame (n, K, 2): the mean of every honest attempt at each animal's keypoint, told the kind and the true animal of each click."""
    sums = {f: np.zeros(t.shape) for f, t in herd.truth.items()}
    counts = {f: np.zeros(t.shape[:2]) for f, t in herd.truth.items()}
    for record_id, (clicks, owner) in herd.clicks.items():
        f, volunteer = herd.frame_of[record_id], herd.volunteer_of[record_id]
        kind = herd.kind[volunteer]
        if kind == "random":
            continue
        shift = herd.offset.get(volunteer, np.zeros(2))
        for i in range(len(clicks)):
            for k in range(clicks.shape[1]):
                animal = owner[i, k]
                if animal < 0:
                    continue
                true_k = _PAW_SWAP[k] if kind == "swap" else k
                sums[f][animal, true_k] += clicks[i, k] - shift
                counts[f][animal, true_k] += 1
    return {f: sums[f] / np.maximum(counts[f], 1)[..., None] for f in sums}


def herd_figures(herd: Herd, result: object) -> tuple[dict[int, tuple[int, int]], float, float]:
    """Per number of animals (right, frames); the mean error of matched keypoints, ours and the oracle's on the same points."""
    animals: dict[int, list[np.ndarray]] = {}
    for frame in result.frames:  # type: ignore[attr-defined]
        centre = np.array([c if c is not None else (np.nan, np.nan) for c in frame.centre], dtype=float)
        animals.setdefault(frame.key.frame_index, []).append(centre)
    oracle_points = herd_oracle(herd)
    right: dict[int, tuple[int, int]] = {}
    ours: list[float] = []
    theirs: list[float] = []
    for f, truth in herd.truth.items():
        found = animals.get(f, [])
        n = len(truth)
        hit, total = right.get(n, (0, 0))
        right[n] = (hit + (len(found) == n), total + 1)
        # Each decided animal to the true one nearest on average, greedily, each true animal once.
        distance = [(np.hypot(*(c - t).T), i, a) for i, c in enumerate(found) for a, t in enumerate(truth)]
        pairs = sorted(((float(d[np.isfinite(d)].mean()), i, a) for d, i, a in distance if np.isfinite(d).any()), key=lambda p: p[0])
        used_i: set[int] = set()
        used_a: set[int] = set()
        for _, i, a in pairs:
            if i in used_i or a in used_a:
                continue
            used_i.add(i)
            used_a.add(a)
            error = np.hypot(*(found[i] - truth[a]).T)
            placed = np.isfinite(error)
            ours += error[placed].tolist()
            theirs += np.hypot(*(oracle_points[f][a] - truth[a]).T)[placed].tolist()
    return right, float(np.mean(ours)), float(np.mean(theirs))


def herds(seed: int, frames: int) -> None:
    """The herd section: the number of animals and matched keypoints' error against the oracle."""
    herd = make_herd(seed, frames=frames)
    started = time.perf_counter()
    result = consensus(herd.records, KEYPOINTS, symmetry=PAIRS)
    took = time.perf_counter() - started
    right, mean, oracle_mean = herd_figures(herd, result)
    kinds = sorted({*herd.kind.values()})
    print(f"\nherd: {len(herd.records)} labels of {frames} frames (1, 2 and 3 mice in turn), volunteers {', '.join(kinds)}; consensus took {took:.2f} s")
    print("| animals | frames | right number |")
    print("| --- | --- | --- |")
    for n, (hit, total) in sorted(right.items()):
        print(f"| {n} | {total} | {hit / total:.1%} |")
    hits = sum(h for h, _ in right.values())
    total = sum(t for _, t in right.values())
    print(f"right number of animals on {hits / total:.1%} of frames (target >= 98%)")
    flagged = {frame.key for frame in result.frames if any("number of animals" in why for why in frame.review)}
    print(f"frames flagged for review because volunteers sent different numbers of animals: {len(flagged)} of {total}")
    print(f"matched keypoints: mean error {mean:.2f} px, oracle {oracle_mean:.2f} px: {mean / oracle_mean:.3f}x (target <= 1.15x)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--herd-frames", type=int, default=300, help="frames of the herd with 1, 2 and 3 animals")
    args = parser.parse_args(argv)
    crowd = make_crowd(args.seed, frames=args.frames)
    started = time.perf_counter()
    result = consensus(crowd.records, KEYPOINTS, symmetry=PAIRS)
    took = time.perf_counter() - started
    ours: dict[int, np.ndarray] = {}
    unsettled = 0
    medians = median_reducer(crowd)
    for frame in result.frames:
        f = frame.key.frame_index
        if not frame.settled:
            unsettled += 1
        ours[f] = np.array([c if c is not None else medians[f][k] for k, c in enumerate(frame.centre)])
    dbscan, fallbacks = dbscan_reducer(crowd)
    rows = [("consensus", ours), ("median", medians), ("dbscan eps5 min3", dbscan), ("oracle", oracle(crowd))]
    print(f"{len(crowd.records)} labels, {args.frames} frames, {len({*crowd.volunteer_of.values()})} volunteers; "
          f"consensus took {took:.2f} s, {unsettled} frame(s) unsettled; dbscan fell back to the median on {fallbacks} point(s)")
    print("| reducer | mean px | p95 px | within 5 px |")
    print("| --- | --- | --- | --- |")
    table = {}
    for name, estimate in rows:
        mean, p95, within = figures(crowd, estimate)
        table[name] = (mean, p95, within)
        print(f"| {name} | {mean:.2f} | {p95:.2f} | {within:.1%} |")
    ours_mean, ours_p95, ours_within = table["consensus"]
    beats = all(ours_mean < table[n][0] and ours_p95 < table[n][1] and ours_within > table[n][2] for n in ("median", "dbscan eps5 min3"))
    ratio = ours_mean / table["oracle"][0]
    print(f"consensus beats median and dbscan on every figure: {'yes' if beats else 'no'}; mean error {ratio:.3f}x the oracle's (target <= 1.15x)")
    # Swaps, per (submission, pair).
    found = {(s.record_id, pair) for frame in result.frames for s in frame.submissions for pair in s.swapped}
    actual = {(r, pair) for r in crowd.swapped for pair in PAIRS}
    hit = len(found & actual)
    precision = hit / len(found) if found else 0.0
    recall = hit / len(actual) if actual else 1.0
    print(f"swaps: {len(found)} found, {len(actual)} made; precision {precision:.3f}, recall {recall:.3f} (target >= 0.95)")
    ranked = sorted(result.volunteers, key=lambda v: v.reliability)
    bottom = {v.volunteer for v in ranked[: max(1, int(0.15 * len(ranked)))]}
    randoms = {v for v, k in crowd.kind.items() if k == "random"}
    print(f"random clickers in the bottom 15% of reliability: {len(randoms & bottom)} of {len(randoms)}")
    scale = np.hypot(1280, 720)
    learned = result.model.sigma * scale
    same = list(np.argsort(learned)) == list(np.argsort(NOISE))
    print("sigma px (generated -> learned): " + ", ".join(f"{k} {g:.2f}->{s:.2f}" for k, g, s in zip(KEYPOINTS, NOISE, learned)))
    print(f"learned sigmas order the keypoints as the generated noise: {'yes' if same else 'no'}")
    ours_k, median_k = per_keypoint(crowd, ours), per_keypoint(crowd, medians)
    print("per keypoint mean px (consensus / median): " + ", ".join(f"{k} {o:.2f}/{m:.2f}" for k, o, m in zip(KEYPOINTS, ours_k, median_k)))
    worst = float((ours_k / median_k).max())
    print(f"noise differs {NOISE.max() / NOISE.min():.2f}x between keypoints; no keypoint worse than the median's: {'yes' if worst <= 1 else 'no'} (worst {worst:.3f}x)")
    herds(args.seed, args.herd_frames)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
