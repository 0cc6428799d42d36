"""How fast `GET /api/next-frame` answers over a large catalog: answers per second and p50/p99 latency.

    python benchmarks/next_frame.py [--videos 1000] [--frames 10000] [--requests 2000] [--keep DIR]

Builds a journal whose frame tally holds videos x frames rows (1,000 x 10,000
by default: ten million frames), shapes it like a campaign under way (a tenth
of the videos partly labelled and retired, each benchmark volunteer with a
run of frames already labelled), then times next-frame two ways: the tally's
pick alone, and the whole request through the app in-process (Starlette's
TestClient, one request at a time). Target: p99 under 20 ms.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from starlette.testclient import TestClient  # noqa: E402

from receiver.contract.schemas import load_skeleton  # noqa: E402
from receiver.journal import Journal  # noqa: E402
from receiver.settings import Settings  # noqa: E402
from receiver.volunteers.frames import FrameLedger, SqliteTally  # noqa: E402
from receiver.volunteers.videos import Video  # noqa: E402
from receiver.web.app import create_app  # noqa: E402

RETIRE_AFTER = 3
TARGET_P99_MS = 20.0


def catalog(videos: int, frames: int) -> tuple[Video, ...]:
    return tuple(Video(f"https://videos.example.org/bench/{n:05d}.mp4", 30.0, frames, 1280, 720) for n in range(videos))


def build(journal: Path, videos: tuple[Video, ...], volunteers: list[str], labelled: int, seed: int = 7) -> None:
    """Create the tally (the receiver's own start-up path), then shape it like a campaign under way."""
    Journal(journal).open().close()
    keypoints = [k.id for k in load_skeleton().keypoints]
    started = time.perf_counter()
    FrameLedger(SqliteTally(journal), videos, retire_after=RETIRE_AFTER, keypoints=keypoints).open().close()
    print(f"tally built: {len(videos):,} videos x {videos[0].frames:,} frames in {time.perf_counter() - started:.1f} s")
    rng = random.Random(seed)
    connection = sqlite3.connect(journal, isolation_level=None)
    started = time.perf_counter()
    connection.execute("BEGIN")
    busy = max(1, len(videos) // 10)
    # A tenth of the videos under way: agreeing labels 0-3 at random, 3 retired.
    connection.execute(
        "UPDATE frames SET agreeing = abs(random()) % 4 WHERE video <= ?", (busy,)
    )
    connection.execute("UPDATE frames SET labels = agreeing, retired = (agreeing >= ?) WHERE video <= ?", (RETIRE_AFTER, busy))
    connection.execute(
        "UPDATE videos SET touched = (SELECT count(*) FROM frames WHERE video = videos.id AND labels > 0),"
        " retired = (SELECT count(*) FROM frames WHERE video = videos.id AND retired = 1) WHERE id <= ?",
        (busy,),
    )
    # Each volunteer labelled a run of frames, so a pick that lands in it walks past them.
    rows = []
    for volunteer in volunteers:
        video = rng.randint(1, len(videos))
        first = rng.randrange(max(1, videos[0].frames - labelled))
        rows += [(volunteer, video, frame) for frame in range(first, min(videos[0].frames, first + labelled))]
    connection.executemany("INSERT OR IGNORE INTO volunteer_frames (volunteer, video, frame) VALUES (?, ?, ?)", rows)
    connection.execute("COMMIT")
    connection.close()
    print(f"campaign shaped in {time.perf_counter() - started:.1f} s ({len(rows):,} volunteer labels)")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def row(name: str, seconds: list[float], wall: float) -> str:
    p50, p99 = percentile(seconds, 0.50) * 1000, percentile(seconds, 0.99) * 1000
    verdict = "met" if p99 < TARGET_P99_MS else "missed"
    return f"| {name} | {len(seconds):,} | {len(seconds) / wall:,.0f} | {p50:.2f} | {p99:.2f} | {max(seconds) * 1000:.2f} | p99 < {TARGET_P99_MS:.0f} ms: {verdict} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--volunteers", type=int, default=200)
    parser.add_argument("--labelled", type=int, default=500, help="frames each benchmark volunteer has labelled already")
    parser.add_argument("--count", type=int, default=1, help="frames asked for per request (1 to 10)")
    parser.add_argument("--keep", type=Path, help="build the journal in (or reuse it from) this folder")
    args = parser.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="next-frame-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    journal = root / "journal.sqlite3"
    videos = catalog(args.videos, args.frames)
    volunteers = [f"bench-volunteer-{n:05d}" for n in range(args.volunteers)]
    if not journal.exists():
        build(journal, videos, volunteers, args.labelled)
    print(f"journal: {journal.stat().st_size / 1e6:,.0f} MB")

    keypoints = [k.id for k in load_skeleton().keypoints]
    tally = FrameLedger(SqliteTally(journal), videos, retire_after=RETIRE_AFTER, keypoints=keypoints).open()
    rng = random.Random(11)
    picks: list[float] = []
    started = time.perf_counter()
    for n in range(args.requests):
        begun = time.perf_counter()
        tally.next_frames(volunteers[n % len(volunteers)], count=args.count, rng=rng)
        tally.remaining()
        picks.append(time.perf_counter() - begun)
    tally_wall = time.perf_counter() - started
    tally.close()

    settings = Settings(local_repo=root / "annotations.git", journal=journal, rate_limit=None, videos=videos, retire_after=RETIRE_AFTER)
    answers: list[float] = []
    with TestClient(create_app(settings)) as client:
        for n in range(50):
            client.get("/api/next-frame", params={"volunteer": volunteers[n % len(volunteers)]})
        started = time.perf_counter()
        for n in range(args.requests):
            begun = time.perf_counter()
            response = client.get("/api/next-frame", params={"volunteer": volunteers[n % len(volunteers)], "count": args.count})
            answers.append(time.perf_counter() - begun)
            assert response.status_code == 200 and response.json()["frame_index"] is not None, response.text
        http_wall = time.perf_counter() - started

    print(f"{args.videos:,} videos x {args.frames:,} frames, {args.volunteers} volunteers, count={args.count}")
    print("| path | requests | answers/s | p50 ms | p99 ms | max ms | target |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(row("tally pick", picks, tally_wall))
    print(row("next-frame (app in-process)", answers, http_wall))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
