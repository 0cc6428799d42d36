"""How fast LocalGitStore commits new records into a repository that already holds many.

    python benchmarks/local_store.py [--existing 20000] [--batch 100,500] [--records 5000]

Seeds a bare repository with `--existing` record files in one fast-import,
then, for each batch size (and for one-record commits), copies the seed and
delivers `--records` new records into the copy in direct mode. Prints records
per second: the median over batches, and overall (wall clock, including
building the records and the occasional repack), plus the slowest batch and
the CPU (user and system) that git's processes used per record.
"""

from __future__ import annotations

import argparse
import copy
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from receiver.contract.records import Record
from receiver.stores.local import LocalGitStore

RECEIVED = datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc)

SUBMISSION: dict[str, Any] = {
    "video_url": "https://example.org/videos/mouse-{video}.mp4",
    "frame_index": 0,
    "total_frames": 300,
    "fps": 30,
    "frame_width": 1280,
    "frame_height": 720,
    "timestamp": "2026-01-15T10:00:00.000Z",
    "labels": [
        {"id": "left_front_paw", "name": "Left Front Paw", "placed": True, "pixel_x": 100, "pixel_y": 100},
        {"id": "right_front_paw", "name": "Right Front Paw", "placed": True, "pixel_x": 200, "pixel_y": 100},
        {"id": "left_hind_paw", "name": "Left Hind Paw", "placed": True, "pixel_x": 100, "pixel_y": 300},
        {"id": "right_hind_paw", "name": "Right Hind Paw", "placed": True, "pixel_x": 200, "pixel_y": 300},
        {"id": "nose", "name": "Nose", "placed": True, "pixel_x": 150, "pixel_y": 50},
        {"id": "tail_base", "name": "Tail Base", "placed": True, "pixel_x": 150, "pixel_y": 400},
    ],
}


def record(number: int) -> Record:
    """A distinct valid record; spread over 50 videos like a real project's data."""
    body = copy.deepcopy(SUBMISSION)
    body["video_url"] = body["video_url"].format(video=number % 50)
    body["frame_index"] = number % 301
    body["labels"][0]["pixel_x"] = number % 1280
    body["labels"][0]["pixel_y"] = (number // 1280) % 720
    return Record.create(body, submitter="anonymous", received_at=RECEIVED, receiver_version="0.1.0")


def seed(repository: Path, existing: int) -> None:
    """One fast-import commit holding `existing` records, far faster than delivering them."""
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(repository)], check=True)
    stream = [b"commit refs/heads/main\ncommitter seed <seed@localhost> 1768471200 +0000\ndata 5\nseed\n"]
    for number in range(existing):
        item = record(1_000_000 + number)
        content = item.to_bytes()
        stream.append(b"M 100644 inline %s\ndata %d\n%s\n" % (item.path.encode(), len(content), content))
    stream.append(b"\n")
    subprocess.run(["git", f"--git-dir={repository}", "fast-import", "--quiet"], input=b"".join(stream), check=True)


@dataclass(frozen=True)
class Run:
    label: str
    batch: int
    records: int
    seconds: float
    per_batch: list[float]
    git_cpu: float

    @property
    def overall(self) -> float:
        return self.records / self.seconds

    @property
    def median(self) -> float:
        return statistics.median(self.batch / s for s in self.per_batch)


def measure(template: Path, workdir: Path, batch: int, total: int) -> Run:
    repository = workdir / f"batch-{batch}.git"
    shutil.copytree(template, repository)
    store = LocalGitStore(repository)
    numbers = list(range(total))
    per_batch: list[float] = []
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    for start in range(0, total, batch):
        records = [record(n) for n in numbers[start : start + batch]]
        begun = time.perf_counter()
        results = store.deliver(records)
        per_batch.append(time.perf_counter() - begun)
        assert all(r.created for r in results)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    git_cpu = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    store.close()
    fsck = subprocess.run(
        ["git", f"--git-dir={repository}", "fsck", "--strict", "--no-dangling"], capture_output=True, text=True
    )
    if fsck.returncode != 0 or fsck.stdout.strip():
        sys.exit(f"fsck failed after batch size {batch}: {fsck.stdout}{fsck.stderr}")
    label = "1 (one commit each)" if batch == 1 else str(batch)
    return Run(label, batch, total, seconds, per_batch, git_cpu)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--existing", type=int, default=20_000, help="record files already in the repository")
    parser.add_argument("--batch", default="100,500", help="comma-separated batch sizes")
    parser.add_argument("--records", type=int, default=5_000, help="new records per batch size")
    parser.add_argument("--single", type=int, default=300, help="records delivered one per commit (0 to skip)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    sizes = [int(size) for size in args.batch.split(",") if size.strip()]
    with tempfile.TemporaryDirectory(prefix="local-store-bench-") as scratch:
        workdir = Path(scratch)
        template = workdir / "seed.git"
        began = time.perf_counter()
        seed(template, args.existing)
        print(f"seeded {args.existing} files in {time.perf_counter() - began:.1f}s; git {_git_version()}")
        runs = [measure(template, workdir, size, args.records) for size in sizes]
        if args.single:
            runs.append(measure(template, workdir, 1, args.single))
    print()
    print(f"{'batch':>20} {'records':>8} {'median rec/s':>13} {'overall rec/s':>14} {'median ms':>10} {'max ms':>8} {'git CPU us/rec':>15}")
    for run in runs:
        ms, worst = statistics.median(run.per_batch) * 1000, max(run.per_batch) * 1000
        git_us = run.git_cpu / run.records * 1e6
        print(f"{run.label:>20} {run.records:>8} {run.median:>13.0f} {run.overall:>14.0f} {ms:>10.1f} {worst:>8.1f} {git_us:>15.0f}")
    return 0


def _git_version() -> str:
    return subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.split()[-1]


if __name__ == "__main__":
    raise SystemExit(main())
