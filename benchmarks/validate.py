"""How fast `receiver validate` checks stored records: files per second over a generated tree, one job and every core.

    python benchmarks/validate.py [--records 100000] [--keep DIR]

Generates N distinct valid records at their derived paths, then times the
real command (`python -m receiver validate`) over the tree with `--jobs 1`
and with `--jobs` left at its default (one per available CPU), and prints
both rows. Target: 100,000 records in under 10 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from receiver.contract.records import Record  # noqa: E402
from receiver.contract.schemas import load_skeleton  # noqa: E402
from receiver.datarepo.checking import available_cores  # noqa: E402


def generate(root: Path, count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    keypoints = load_skeleton().keypoints
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for n in range(count):
        labels = []
        for k in keypoints:
            placed = rng.random() > 0.2 or k is keypoints[0]
            labels.append({"id": k.id, "name": k.name, "placed": placed,
                           "pixel_x": rng.randint(0, 1280) if placed else None,
                           "pixel_y": rng.randint(0, 720) if placed else None})
        submission = {
            "video_url": f"https://videos.example.org/{n % 1000}.mp4", "frame_index": rng.randint(0, 299),
            "total_frames": 300, "fps": 30, "frame_width": 1280, "frame_height": 720,
            "timestamp": (start + timedelta(seconds=n)).isoformat().replace("+00:00", "Z"), "labels": labels,
        }
        record = Record.create(submission, submitter="anonymous", received_at=start, receiver_version="bench")
        path = root / record.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(record.to_bytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this folder")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="validate-bench-"))
    existing = sum(1 for _ in root.rglob("*.json")) if root.exists() else 0
    if existing < args.records:
        started = time.perf_counter()
        generate(root, args.records)
        print(f"generated {args.records} records in {time.perf_counter() - started:.1f} s")
    print("| jobs | records | failing | seconds | files/s | target |")
    print("| --- | --- | --- | --- | --- | --- |")
    for jobs in (1, available_cores()):
        started = time.perf_counter()
        command = [sys.executable, "-m", "receiver", "validate", "--format", "json", "--jobs", str(jobs), str(root)]
        run = subprocess.run(command, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        report = json.loads(run.stdout)
        target = "< 10 s for 100,000: " + ("met" if elapsed < 10 else "missed") if report["checked"] >= 100_000 else ""
        print(f"| {jobs} | {report['checked']} | {report['failed']} | {elapsed:.1f} | {report['checked'] / elapsed:,.0f} | {target} |")


if __name__ == "__main__":
    main()
