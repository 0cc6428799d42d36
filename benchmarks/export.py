"""Records per second exported to each format, side by side.

    python benchmarks/export.py [--records 100000] [--per-frame 5] [--formats slp,coco,dlc,csv,labelstudio]

Makes the records in memory (1280x720 frames, `--per-frame` volunteers per
frame, 300 frames a video, seeded noise around one pose), then for each format
times the two steps of `receiver export`: records into a sleap-io `Labels`
(the conversion) and sleap-io's writer (the file), and prints records per
second end to end. The same for `--consensus` (the consensus rule, then one
instance per frame). Reading the records from disk or git is not timed here:
`benchmarks/validate.py` and `benchmarks/local_store.py` measure that.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from receiver.consensus import consensus  # noqa: E402
from receiver.contract.records import Record  # noqa: E402
from receiver.contract.schemas import Skeleton, load_skeleton  # noqa: E402
from receiver.export.formats import FORMATS, Target  # noqa: E402
from receiver.export.labels import consensus_labels, submission_labels, video_infos  # noqa: E402

POSE = [(520, 410), (600, 430), (700, 380), (760, 450), (480, 420), (800, 400)]
RECEIVED = datetime(2026, 11, 25, tzinfo=UTC)


def make_records(count: int, per_frame: int, skeleton: Skeleton, seed: int = 0) -> list[Record]:
    """`count` valid records, `per_frame` volunteers on each frame, 300 frames a video."""
    rng = random.Random(seed)
    made = []
    for n in range(count):
        frame = n // per_frame
        labels = [
            {
                "id": k.id,
                "name": k.name,
                "placed": True,
                "pixel_x": round(x + rng.gauss(0, 4), 1),
                "pixel_y": round(y + rng.gauss(0, 4), 1),
            }
            for k, (x, y) in zip(skeleton.keypoints, POSE)
        ]
        submission = {
            "video_url": f"https://example.org/videos/mouse-{frame // 300:05d}.mp4",
            "frame_index": frame % 300,
            "total_frames": 300,
            "fps": 30,
            "frame_width": 1280,
            "frame_height": 720,
            "timestamp": "2026-11-25T08:00:00.000Z",
            "labels": labels,
        }
        made.append(Record.create(submission, submitter=f"volunteer-{n % per_frame}", received_at=RECEIVED, receiver_version="bench"))
    return made


def timed(step: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = step()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--per-frame", type=int, default=5)
    # The formats that need the videos (nwb, yolo) have no videos to read here; coco and dlc are written without frames.
    parser.add_argument("--formats", default="slp,coco,dlc,csv,labelstudio")
    args = parser.parse_args()
    skeleton = load_skeleton()
    records, made = timed(lambda: make_records(args.records, args.per_frame, skeleton))
    print(f"made {len(records):,} records in {made:.1f} s ({args.per_frame} per frame)\n", flush=True)
    keypoints = [k.id for k in skeleton.keypoints]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for mode in ("submissions", "consensus"):
            for name in args.formats.split(","):
                fmt = FORMATS[name]
                if mode == "submissions":
                    labels, convert = timed(lambda: submission_labels(records, skeleton))
                else:
                    results, rule_time = timed(lambda: consensus(records, keypoints))
                    labels, convert = timed(lambda: consensus_labels(results, video_infos(records), skeleton))
                    convert += rule_time
                out = Path(scratch) / f"{mode}-{name}" / ("" if fmt.folder else f"out.{name}")
                out.parent.mkdir(parents=True, exist_ok=True)
                _, write = timed(lambda: fmt.write(labels, Target(out, skeleton)))
                size = sum(p.stat().st_size for p in Path(scratch).glob(f"{mode}-{name}/**/*") if p.is_file())
                rows.append((mode, name, convert, write, len(records) / (convert + write), size))
                print(f"  {mode:<11} {name:<11} {convert + write:7.1f} s", flush=True)
    print()
    header = ("mode", "format", "convert s", "write s", "records/s", "file MB")
    table = [header] + [
        (mode, name, f"{c:.2f}", f"{w:.2f}", f"{rate:,.0f}", f"{size / 1e6:.1f}") for mode, name, c, w, rate, size in rows
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.rjust(w) if i > 1 else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))))


if __name__ == "__main__":
    main()
