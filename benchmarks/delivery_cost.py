"""CPU per record of delivery into the local git store, early and late in one video's life, for this tree and another revision.

    python benchmarks/delivery_cost.py [--window 20000] [--at 0,180000] [--batch 500] [--before REV]

For each starting point in `--at`, a bare repository first gets that many
records of one video: delivered by the store under test in batches, so its
packs and repacks are what use would leave (`--stored grow`, the default; their
CPU per record is printed too), or in one `git fast-import` (`--stored import`,
quicker). Then `--window` further records of the same video are
admitted into an SQLite journal (not timed), and the delivery worker drains
them into the repository in direct mode, batch by batch, exactly as the
deliverer role does. Timed: the CPU the deliverer process used (every thread:
the worker, the journal's) and the CPU its git processes used (user and
system, from the kernel's accounting of waited-for children), each per record
delivered. The machine may be busy: CPU time, not wall time, is the figure.

With `--before REV` the same runs use that revision's code (from `git
archive`), so an old layout and store sit beside the new in one run.
Each measurement runs in a fresh process, so no cache carries over.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
from revisions import tree_of
VIDEO = "https://videos.example.org/one-long-video.mp4"
RECEIVED = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
TARGET_US = 100.0


def submission(number: int) -> dict[str, Any]:
    """A distinct valid submission of the one video: frame and coordinates vary with `number`."""
    labels = []
    names = ["left_front_paw", "right_front_paw", "left_hind_paw", "right_hind_paw", "nose", "tail_base"]
    for i, name in enumerate(names):
        x = 10 + (number * 7 + i * 131) % 1260
        y = 10 + (number // 1260 * 3 + i * 97) % 700
        labels.append({"id": name, "name": name.replace("_", " ").title(), "placed": True, "pixel_x": x, "pixel_y": y})
    return {
        "video_url": VIDEO,
        "frame_index": number % 90_000,
        "total_frames": 90_000,
        "fps": 30,
        "frame_width": 1280,
        "frame_height": 720,
        "timestamp": "2026-12-07T10:00:00.000Z",
        "labels": labels,
    }


def make_record(number: int) -> Any:
    from receiver.contract.records import Record

    return Record.create(
        submission(number),
        submitter=f"volunteer-{number % 997}",
        received_at=RECEIVED + timedelta(milliseconds=number),
        receiver_version="bench",
    )


def seed(repository: Path, count: int) -> None:
    """`count` records of the video in one commit on `main`, at the paths the code under test gives them."""
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(repository)], check=True)
    if not count:
        return
    process = subprocess.Popen(["git", f"--git-dir={repository}", "fast-import", "--quiet"], stdin=subprocess.PIPE)
    assert process.stdin is not None
    process.stdin.write(b"commit refs/heads/main\ncommitter seed <seed@localhost> 1765108800 +0000\ndata 5\nseed\n")
    for number in range(count):
        item = make_record(number)
        content = item.to_bytes()
        process.stdin.write(b"M 100644 inline %s\ndata %d\n%s\n" % (item.path.encode(), len(content), content))
    process.stdin.write(b"\n")
    process.stdin.close()
    if process.wait() != 0:
        sys.exit("seeding the repository failed")
    if os.environ.get("DELIVERY_COST_GC"):
        subprocess.run(["git", f"--git-dir={repository}", "repack", "-a", "-d", "-q"], check=True)


def grow(repository: Path, count: int, batch: int) -> tuple[float, float]:
    """Deliver `count` records of the video straight into the store, batch by batch, as the deliverer would have: its CPU and git's per record."""
    from receiver.stores.local import LocalGitStore

    store = LocalGitStore(repository)
    own = git = 0.0
    for first in range(0, count, batch):
        records = [make_record(number) for number in range(first, min(count, first + batch))]
        own_before, git_before = time.process_time(), _children()
        store.deliver(records)
        own, git = own + time.process_time() - own_before, git + _children() - git_before
    return own / max(count, 1) * 1e6, git / max(count, 1) * 1e6


def measure(start: int, window: int, batch: int, scratch: Path, how: str) -> dict[str, Any]:
    """Store `start` records, admit `window` more, drain them with the worker: CPU and wall figures."""
    from receiver.delivery.worker import DeliveryWorker
    from receiver.journal import Journal
    from receiver.stores.local import LocalGitStore

    repository = scratch / "data.git"
    began = time.perf_counter()
    growth = (0.0, 0.0)
    if how == "grow":
        growth = grow(repository, start, batch)
    else:
        seed(repository, start)
    seeded = time.perf_counter() - began
    journal = Journal(scratch / "journal.sqlite3").open()
    try:
        futures = [journal.admit_async(make_record(number)) for number in range(start, start + window)]
        for future in futures:
            future.result()
        # The deliverer process holds none of the admissions: they would only make the collector's passes longer.
        del futures
        gc.collect()
        store = LocalGitStore(repository)
        worker = DeliveryWorker(journal, store, batch_size=batch, wall_clock=lambda: RECEIVED + timedelta(days=1))
        delivered = 0
        batches: list[tuple[float, float, float]] = []
        own_before, git_before, wall_before = time.process_time(), _children(), time.perf_counter()
        while True:
            own, git, wall = time.process_time(), _children(), time.perf_counter()
            outcome = worker.run_once()
            if outcome.delivered == 0:
                break
            delivered += outcome.delivered
            batches.append((time.process_time() - own, _children() - git, time.perf_counter() - wall))
        own_total, git_total, wall_total = time.process_time() - own_before, _children() - git_before, time.perf_counter() - wall_before
        counts = journal.counts()
    finally:
        journal.close()
    fsck = subprocess.run(["git", f"--git-dir={repository}", "fsck", "--no-dangling", "--connectivity-only"], capture_output=True, text=True)
    files = subprocess.run(["git", f"--git-dir={repository}", "ls-tree", "-r", "--name-only", "main"], capture_output=True, text=True).stdout.split()
    folders: dict[str, int] = {}
    for name in files:
        folders[name.rpartition("/")[0]] = folders.get(name.rpartition("/")[0], 0) + 1
    return {
        "start": start,
        "window": window,
        "batch": batch,
        "delivered": delivered,
        "queued_left": counts["queued"],
        "files": len(files),
        "largest_leaf": max(folders.values(), default=0),
        "fsck": fsck.returncode == 0,
        "seed_s": seeded,
        "growth_own_us": growth[0],
        "growth_git_us": growth[1],
        "own_us": own_total / max(delivered, 1) * 1e6,
        "git_us": git_total / max(delivered, 1) * 1e6,
        "wall_s": wall_total,
        "worst_batch_ms": max((b[2] for b in batches), default=0.0) * 1e3,
        "median_git_batch_ms": sorted(b[1] for b in batches)[len(batches) // 2] * 1e3 if batches else 0.0,
    }


def _children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime




def run_in(tree: Path, start: int, window: int, batch: int, scratch: Path, how: str) -> dict[str, Any]:
    """One measurement in a fresh interpreter that imports `receiver` from `tree`."""
    scratch.mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, str(Path(__file__).resolve()), "--one", f"{start},{window},{batch},{how},{scratch}"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"the measurement at {start} failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--window", type=int, default=20_000, help="records delivered and timed at each starting point")
    parser.add_argument("--at", default="0,180000", help="comma-separated counts of records of the video already stored")
    parser.add_argument("--batch", type=int, default=500, help="records per delivery batch (the receiver's default is 500)")
    parser.add_argument("--before", help="also run this git revision's code, for comparison")
    parser.add_argument(
        "--stored", choices=("grow", "import"), default="grow",
        help="how the records already stored get there: delivered by the store batch by batch (its packs and repacks as in use), or one fast-import",
    )
    parser.add_argument("--one", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.one:
        start, window, batch, how, scratch = args.one.split(",", 4)
        print(json.dumps(measure(int(start), int(window), int(batch), Path(scratch), how)))
        return 0
    starts = [int(part) for part in args.at.split(",") if part.strip()]
    rows: list[tuple[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="delivery-cost-") as folder:
        trees = [("this tree", tree_of(None, Path(folder)))]
        if args.before:
            trees.append((args.before[:12], tree_of(args.before, Path(folder))))
        for start in starts:
            for label, tree in trees:
                result = run_in(tree, start, args.window, args.batch, Path(folder) / f"{len(rows)}", args.stored)
                rows.append((label, result))
                print(f"measured {label} at {start:,}: {result['own_us'] + result['git_us']:.0f} us/record", file=sys.stderr, flush=True)
    print(f"git {_git_version()}; {args.window:,} records of one video per row, batches of {args.batch}; CPU microseconds per record")
    print("| code | records already stored | delivered | deliverer us | git us | total us | wall s | median git ms/batch | worst batch ms | largest folder | storing the first ones: deliverer + git us | target |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, r in rows:
        total = r["own_us"] + r["git_us"]
        verdict = f"<= {TARGET_US:.0f} us: {'met' if total <= TARGET_US else 'missed'}"
        if r["queued_left"] or not r["fsck"] or r["delivered"] != r["window"]:
            verdict += f" (INCOMPLETE: {r['delivered']} delivered, {r['queued_left']} queued, fsck {'ok' if r['fsck'] else 'FAILED'})"
        print(
            f"| {label} | {r['start']:,} | {r['delivered']:,} | {r['own_us']:.1f} | {r['git_us']:.1f} | {total:.1f} | {r['wall_s']:.1f} "
            f"| {r['median_git_batch_ms']:.1f} | {r['worst_batch_ms']:.0f} | {r['largest_leaf']:,} "
            f"| {_growth(r, args.stored)} | {verdict} |"
        )
    return 0


def _growth(r: dict[str, Any], how: str) -> str:
    if not r["start"] or how != "grow":
        return "-"
    return f"{r['growth_own_us']:.1f} + {r['growth_git_us']:.1f}"


def _git_version() -> str:
    return subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.split()[-1]


if __name__ == "__main__":
    raise SystemExit(main())
