"""Seconds and peak memory of the consensus over many records (default 1,000,000), streamed from a generator.

    python benchmarks/consensus_scale.py [--records 1000000] [--per-frame 10]

Records are generated 10,000 at a time (anonymous submissions naming one of
5,000 volunteers, ten per frame, seeded noise around a pose) as stored-record
documents, and streamed into `receiver.consensus.records_table`, so no more
than one chunk of records is alive at once. Then the consensus learns noise
and reliability, answers every frame and volunteer, and every frame's
`FrameConsensus` is built and read once (streamed, as a CSV writer would).

Timed: laying the records out as arrays, learning, answering and building the
frames; the generator's own time (drawing numbers, building documents) is
measured apart and subtracted. Reading and validating files from disk or git
is not included (`benchmarks/validate.py` measures that). Peak memory is the
whole process's maximum resident size (ru_maxrss): interpreter, numpy, one
chunk of generated records and the consensus.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from receiver.consensus import ConsensusRule, consensus_of_table, records_table  # noqa: E402
from receiver.contract.records import Record  # noqa: E402
from tests.consensus.crowd import NOISE, PAIRS  # noqa: E402
from tests.export.records import KEYPOINTS, TRUTH  # noqa: E402


def records(n: int, per_frame: int, spent: list[float], seed: int = 1, chunk: int = 10_000) -> Iterator[Record]:
    """`n` records, built `chunk` at a time; the time spent building them is added to `spent[0]`."""
    rng = np.random.default_rng(seed)
    truth = np.array([TRUTH[k] for k in KEYPOINTS])
    for first in range(0, n, chunk):
        started = time.perf_counter()
        size = min(chunk, n - first)
        clicks = (truth[None] + rng.normal(0, 1, (size, len(KEYPOINTS), 2)) * NOISE[None, :, None]).round(2).tolist()
        volunteers = rng.integers(0, 5000, size).tolist()
        made = []
        for j in range(size):
            i = first + j
            frame = i // per_frame
            labels = [
                {"id": k, "name": k, "placed": True, "pixel_x": x, "pixel_y": y} for k, (x, y) in zip(KEYPOINTS, clicks[j])
            ]
            submission = {
                "video_url": f"https://example.org/v{frame // 1000}.mp4", "frame_index": frame % 1000, "total_frames": 1000, "fps": 30,
                "frame_width": 1280, "frame_height": 720, "timestamp": "2026-01-15T12:00:00Z", "labels": labels,
                "metadata": {"volunteer": f"p{volunteers[j]}"},
            }
            receipt = {"id": f"{i:032x}", "submitter": "anonymous", "received_at": "2026-01-15T12:00:00.000Z", "receiver_version": "0.1.0"}
            made.append(Record.from_document({"receipt": receipt, "submission": submission}))
        spent[0] += time.perf_counter() - started
        yield from made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--per-frame", type=int, default=10)
    args = parser.parse_args(argv)
    spent = [0.0]
    started = time.perf_counter()
    table = records_table(records(args.records, args.per_frame, spent), KEYPOINTS)
    laid_out = time.perf_counter()
    result = consensus_of_table(table, ConsensusRule(), symmetry=PAIRS)
    answered = time.perf_counter()
    frames = settled = 0
    for frame in result.iter_frames():
        frames += 1
        settled += frame.settled
    finished = time.perf_counter()
    took = finished - started - spent[0]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"generated {args.records:,} records in chunks in {spent[0]:.1f} s (not timed); "
        f"table {laid_out - started - spent[0]:.1f} s, learn and answer {answered - laid_out:.1f} s, "
        f"frames built {finished - answered:.1f} s; {settled:,} of {frames:,} frames settled"
    )
    print("| records | frames | volunteers | consensus s | records/s | peak RSS MiB | target |")
    print(f"| {args.records:,} | {frames:,} | {len(result.volunteers):,} | {took:.1f} | {args.records / took:,.0f} | {peak:,.0f} | < 60 s, < 2048 MiB |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
