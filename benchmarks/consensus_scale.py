"""Seconds and peak memory of the consensus over many records (default 1,000,000), generated in memory.

    python benchmarks/consensus_scale.py [--records 1000000] [--per-frame 10]

Records are built in memory (anonymous submissions naming one of 5,000
volunteers, ten per frame, seeded noise around a pose) and not timed; then
`receiver.consensus.consensus` runs over them: laying the records out as
arrays, learning noise and reliability, and answering every frame and
volunteer. Reading the records from disk or git is not included
(`benchmarks/validate.py` measures reading and validating files). Peak memory
is the process's maximum resident size, records included.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from receiver.consensus import consensus  # noqa: E402
from receiver.records import Record  # noqa: E402
from tests.consensus.crowd import NOISE, PAIRS  # noqa: E402
from tests.export.records import KEYPOINTS, TRUTH  # noqa: E402


def records(n: int, per_frame: int, seed: int = 1) -> list[Record]:
    rng = np.random.default_rng(seed)
    truth = np.array([TRUTH[k] for k in KEYPOINTS])
    clicks = truth[None] + rng.normal(0, 1, (n, len(KEYPOINTS), 2)) * NOISE[None, :, None]
    volunteers = rng.integers(0, 5000, n)
    out = []
    for i in range(n):
        frame = i // per_frame
        labels = [
            {"id": k, "name": k, "placed": True, "pixel_x": float(x), "pixel_y": float(y)} for k, (x, y) in zip(KEYPOINTS, clicks[i].round(2))
        ]
        submission = {
            "video_url": f"https://example.org/v{frame // 1000}.mp4", "frame_index": frame % 1000, "total_frames": 1000, "fps": 30,
            "frame_width": 1280, "frame_height": 720, "timestamp": "2026-01-15T12:00:00Z", "labels": labels,
            "metadata": {"volunteer": f"p{volunteers[i]}"},
        }
        out.append(Record(f"{i:032x}", submission, "anonymous", "2026-01-15T12:00:00.000Z", "0.1.0"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--per-frame", type=int, default=10)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    made = records(args.records, args.per_frame)
    built = time.perf_counter() - started
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    result = consensus(made, KEYPOINTS, symmetry=PAIRS)
    took = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"generated {args.records:,} records in memory in {built:.1f} s (not timed below); {peak - before:,.0f} MiB of the peak came during the consensus")
    print("| records | frames | volunteers | consensus s | records/s | peak RSS MiB | target |")
    print(f"| {args.records:,} | {len(result.frames):,} | {len(result.volunteers):,} | {took:.1f} | {args.records / took:,.0f} | {peak:,.0f} | < 60 s, < 2048 MiB |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
