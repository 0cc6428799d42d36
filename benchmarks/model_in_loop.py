"""A model in the loop: is the consensus anchored by accepted suggestions, do suggestions save labels, and does `uncertain` selection help?

    python benchmarks/model_in_loop.py [--frames 300] [--labels 10] [--seed 1]

The simulation is `tests/consensus/suggested.py`: a 1280x720 clip of a
walking mouse; a model whose predictions are more than 10 px off on 30% of
the points (15 to 40 px, scored lower); volunteers of whom 40% accept every
suggestion unchanged and the rest accept the right ones and place the wrong
ones themselves with their usual noise; 10% of the frames carry an expert's
points (gold). The same volunteers label the same frames without suggestions,
placing every point, with the same noise draws.

Each frame gets up to `--labels` labels in a fixed order; the consensus
(settle 3) is computed with every frame's first n labels, n = 1..labels, and
a frame needs the n at which it first settles. Printed, with suggestions and
without:

(a) the consensus error (px) on the wrongly predicted points, each frame
    taken when it settles and at five labels a frame (target: with
    suggestions within 1.2x of without);
(b) the labels (submissions) and the points volunteers placed themselves
    per settled frame, and the share of frames settled within the budget;
(c) the labels handed out until every frame the model got wrong is settled,
    with frames chosen `uniform` (any unsettled frame) or `uncertain` (the
    receiver's rule: the frames whose predictions are most in doubt, by
    `receiver.volunteers.predictions.doubts`, at random among those within
    0.05 of the most), each frame retiring once it settles (or at the
    budget). Mean over 20 selection seeds.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from receiver.consensus import FrameKey, consensus  # noqa: E402
from receiver.volunteers.predictions import Prediction, doubts  # noqa: E402
from tests.consensus.crowd import PAIRS  # noqa: E402
from tests.consensus.suggested import MODEL, VIDEO, ModelCrowd, make_model_crowd  # noqa: E402
from tests.export.records import KEYPOINTS  # noqa: E402

#: Selection runs per rule in (c), each with its own seed.
SELECTION_RUNS = 20
ALIKE = 0.05


def settle_points(crowd: ModelCrowd, budget: int, *, suggestions: bool) -> tuple[dict[int, int], dict[int, dict[int, np.ndarray]]]:
    """Per frame the number of labels at which it first settles (absent: not within the budget), and per n the settled centres."""
    gold = {FrameKey(VIDEO, f): tuple((float(x), float(y)) for x, y in t) for f, t in crowd.gold.items()}
    needed: dict[int, int] = {}
    centres: dict[int, dict[int, np.ndarray]] = {}
    for n in range(1, budget + 1):
        result = consensus(crowd.records(n, suggestions=suggestions), KEYPOINTS, symmetry=PAIRS, gold=gold)
        centres[n] = {}
        for frame in result.frames:
            f = frame.key.frame_index
            if not frame.settled or f in crowd.gold:
                continue
            needed.setdefault(f, n)
            centres[n][f] = np.array([c if c is not None else (np.nan, np.nan) for c in frame.centre], dtype=float)
    return needed, centres


def wrong_point_error(crowd: ModelCrowd, needed: dict[int, int], centres: dict[int, dict[int, np.ndarray]], at: int | None) -> float:
    """Mean distance to the truth of the settled centres on the wrongly predicted points: at each frame's settling (`at` None) or at `at` labels."""
    errors = []
    for f, n in needed.items():
        centre = centres[n if at is None else at].get(f)
        if centre is None:
            continue
        distance = np.hypot(*(centre - crowd.truth[f]).T)
        errors.extend(distance[crowd.wrong[f] & np.isfinite(distance)].tolist())
    return float(np.mean(errors)) if errors else float("nan")


def placed_points(crowd: ModelCrowd, needed: dict[int, int], *, suggestions: bool) -> float:
    """Mean points volunteers placed themselves (not accepted) in the labels that settled each frame."""
    source = crowd.suggested if suggestions else crowd.plain
    counts = []
    for f, n in needed.items():
        counts.append(sum(1 for r in source[f][:n] for label in r.submission["labels"] if label["placed"] and label.get("origin") != "suggested"))
    return float(np.mean(counts)) if counts else float("nan")


def frame_doubts(crowd: ModelCrowd) -> dict[int, float]:
    """Each frame's doubt as the receiver computes it from the imported predictions (scores and jumps)."""
    frames = sorted(crowd.predicted)
    predictions = [
        Prediction(VIDEO, f, MODEL, tuple((float(x), float(y), float(s)) for (x, y), s in zip(crowd.predicted[f], crowd.scores[f]))) for f in frames
    ]
    return dict(zip(frames, doubts(predictions, 1280, 720)))


def labels_to_settle_wrong(crowd: ModelCrowd, needed: dict[int, int], budget: int, rule: str, seed: int, doubt: dict[int, float]) -> int:
    """Labels handed out, one frame at a time by `rule`, until every wrongly predicted frame that settles within the budget has."""
    rng = random.Random(seed)
    pool = {f for f in crowd.truth if f not in crowd.gold}
    target = {f for f in crowd.wrong_frames if f in needed}
    given = dict.fromkeys(pool, 0)
    handed = 0
    while target and pool:
        if rule == "uniform":
            frame = rng.choice(sorted(pool))
        else:
            top = max(doubt[f] for f in pool)
            frame = rng.choice(sorted(f for f in pool if doubt[f] >= top - ALIKE))
        given[frame] += 1
        handed += 1
        if given[frame] >= needed.get(frame, budget + 1) or given[frame] >= budget:
            pool.discard(frame)
            target.discard(frame)
    return handed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--labels", type=int, default=10, help="labels per frame at most (the budget)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()
    crowd = make_model_crowd(args.seed, frames=args.frames, per_frame=args.labels)
    scored = [f for f in crowd.truth if f not in crowd.gold]
    wrong_points = sum(int(crowd.wrong[f].sum()) for f in scored)
    print(
        f"{args.frames} frames ({len(crowd.gold)} gold), {len(scored) * len(KEYPOINTS)} points of which {wrong_points} predicted more than 10 px off; "
        f"{len(crowd.acceptors)} of 50 volunteers accept every suggestion; up to {args.labels} labels a frame, settle 3"
    )
    runs = {}
    for name, suggestions in (("with suggestions", True), ("without", False)):
        needed, centres = settle_points(crowd, args.labels, suggestions=suggestions)
        runs[name] = (needed, centres)
    print()
    print(f"{'':<18}{'(a) err@settle px':>18}{'err@5 labels px':>17}{'(b) labels/frame':>18}{'own points/frame':>18}{'settled':>9}")
    figures = {}
    for name, suggestions in (("with suggestions", True), ("without", False)):
        needed, centres = runs[name]
        at_settle = wrong_point_error(crowd, needed, centres, None)
        at_five = wrong_point_error(crowd, {f: n for f, n in needed.items() if n <= 5}, centres, 5)
        labels = float(np.mean(list(needed.values())))
        own = placed_points(crowd, needed, suggestions=suggestions)
        figures[name] = (at_settle, at_five, labels)
        print(f"{name:<18}{at_settle:>18.2f}{at_five:>17.2f}{labels:>18.2f}{own:>18.1f}{len(needed) / len(scored):>9.0%}")
    ratio_settle = figures["with suggestions"][0] / figures["without"][0]
    ratio_five = figures["with suggestions"][1] / figures["without"][1]
    print(f"(a) error ratio with/without suggestions: {ratio_settle:.2f}x at settling, {ratio_five:.2f}x at five labels (target within 1.2x)")
    print(f"(b) labels per settled frame: {figures['with suggestions'][2]:.2f} with suggestions, {figures['without'][2]:.2f} without")
    gold = {FrameKey(VIDEO, f): tuple((float(x), float(y)) for x, y in t) for f, t in crowd.gold.items()}
    full = consensus(crowd.records(args.labels), KEYPOINTS, symmetry=PAIRS, gold=gold)
    model = next(v for v in full.volunteers if v.volunteer == f"model:{MODEL}")
    truth = np.stack([np.hypot(*(crowd.predicted[f] - crowd.truth[f]).T) for f in sorted(crowd.truth)])
    print("\nthe model per keypoint, as `receiver consensus` reports it (all labels) and as it truly is:")
    print(f"{'keypoint':<18}{'reported px':>12}{'points':>8}{'reliability':>12}{'true mean px':>14}{'true wrong':>12}")
    for k, name in enumerate(KEYPOINTS):
        error = model.keypoint_error_px[k] if model.keypoint_error_px else None
        shown = "-" if error is None else f"{error:.1f}"
        checked = model.keypoint_checked[k] if model.keypoint_checked else 0
        reliability = model.keypoint_reliability[k] if model.keypoint_reliability else float("nan")
        print(f"{name:<18}{shown:>12}{checked:>8}{reliability:>12.2f}{truth[:, k].mean():>14.1f}{(truth[:, k] > 10).mean():>12.0%}")
    doubt = frame_doubts(crowd)
    needed = runs["with suggestions"][0]
    print()
    for rule in ("uniform", "uncertain"):
        handed = [labels_to_settle_wrong(crowd, needed, args.labels, rule, seed, doubt) for seed in range(SELECTION_RUNS)]
        print(f"(c) {rule:<9} labels handed out until every wrongly predicted frame settled: {np.mean(handed):.0f} (min {min(handed)}, max {max(handed)})")
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
