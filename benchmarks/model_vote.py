"""The live retirement with a model's suggestions: labels per settled frame and error where the model is wrong, three ways.

A made-up model predicts each keypoint of each frame within about a pixel of
the truth, except 30% of them, which it puts 15-40 px off. Volunteers add
labels to a frame one at a time until it retires (K = 3) or its cap of 9
fills; 40% of them accept every suggestion unchanged. The others either
place every point themselves (`--population placers`) or accept the
suggestions within 5 px of where they would click and place the rest
(`--population careful`). Each frame is judged three ways:

- `none`: no suggestions shown, everyone places every point;
- `naive`: suggestions shown, every label counted as an independent vote;
- `one-vote`: suggestions shown, judged by `receiver.volunteers.retirement`
  (accepted suggestions count once per keypoint, as the model's vote).

Printed: frames settled, mean labels per settled frame, and the settled
points' error on the wrongly predicted keypoints (median and mean px).
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from receiver.contract.records import Record
from receiver.volunteers.retirement import judge_frame
from tests.volunteers.frames.conftest import VIDEO, honest_label, truth

KEYPOINTS = ("left_front_paw", "right_front_paw", "left_hind_paw", "right_hind_paw", "nose", "tail_base")
WHEN = datetime(2026, 11, 25, tzinfo=timezone.utc)
RETIRE_AFTER, CAP = 3, 9
Point = tuple[float, float]


def _label(frame: int, who: str, points: list[Point], origins: list[str | None]) -> Record:
    body = honest_label(VIDEO, frame, who)
    for label, (x, y), origin in zip(body["labels"], points, origins):
        label.update(pixel_x=round(min(max(x, 0.0), VIDEO.width - 1), 1), pixel_y=round(min(max(y, 0.0), VIDEO.height - 1), 1))
        if origin is not None:
            label["origin"] = origin
    return Record.create(body, submitter="anonymous", received_at=WHEN, receiver_version="benchmark")


def _prediction(rng: random.Random, points: list[Point]) -> tuple[list[Point], list[bool]]:
    predicted, wrong = [], []
    for x, y in points:
        if rng.random() < 0.3:
            angle, distance = rng.uniform(0, 2 * math.pi), rng.uniform(15, 40)
            predicted.append((round(x + distance * math.cos(angle), 1), round(y + distance * math.sin(angle), 1)))
            wrong.append(True)
        else:
            predicted.append((round(x + rng.gauss(0, 1), 1), round(y + rng.gauss(0, 1), 1)))
            wrong.append(False)
    return predicted, wrong


def run(mode: str, population: str, frames: int, seed: int) -> tuple[int, float, float, float]:
    """Frames settled, mean labels per settled frame, median and mean error (px) of settled points the model got wrong."""
    rng = random.Random(seed)
    used: list[int] = []
    errors: list[float] = []
    for frame in range(frames):
        true = truth(VIDEO, frame)
        predicted, wrong = _prediction(rng, true)
        records: list[Record] = []
        for n in range(CAP):
            accepts_all = rng.random() < 0.4
            own = [(x + rng.gauss(0, 3), y + rng.gauss(0, 3)) for x, y in true]
            origins: list[str | None]
            if mode == "none":
                points, origins = own, [None] * len(own)
            elif accepts_all:
                points, origins = predicted, ["suggested"] * len(own)
            else:
                close = [population == "careful" and math.dist(p, o) <= 5 for p, o in zip(predicted, own)]
                points = [p if c else o for p, o, c in zip(predicted, own, close)]
                origins = ["suggested" if c else "placed" for c in close]
            if mode == "naive":
                origins = [None] * len(own)
            records.append(_label(frame, f"volunteer-{frame:04d}-{n:02d}", points, origins))
            agreement = judge_frame(records, KEYPOINTS)
            if agreement.retired(RETIRE_AFTER):
                used.append(len(records))
                errors.extend(math.dist(c, true[k]) for k, c in enumerate(agreement.centre) if wrong[k] and c is not None)
                break
    nan = float("nan")
    return len(used), statistics.mean(used) if used else nan, statistics.median(errors) if errors else nan, statistics.mean(errors) if errors else nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--population", choices=("placers", "careful", "both"), default="both")
    args = parser.parse_args()
    populations = ("placers", "careful") if args.population == "both" else (args.population,)
    print("| population | judged | frames settled | labels per settled frame | error on wrong points, median px | mean px |")
    print("| --- | --- | --- | --- | --- | --- |")
    for population in populations:
        for mode in ("none", "naive", "one-vote"):
            settled, labels, median, mean = run(mode, population, args.frames, args.seed)
            print(f"| {population} | {mode} | {settled}/{args.frames} | {labels:.2f} | {median:.1f} | {mean:.1f} |")


if __name__ == "__main__":
    main()
