"""Peak memory and seconds of `receiver consensus` and `receiver export` over a git repository, as a user runs them.

    python benchmarks/consensus_cli.py [--records 20000,100000] [--per-frame 10]

For each size, a bare repository is seeded with that many stored records (one
`git fast-import`, the layout the receiver writes), then each command runs in
a child process on it: `receiver consensus REPO` (lists the files, reads and
validates each one, builds the click table and prints the consensus) and
`receiver export REPO --format slp` (the same read, one instance per frame,
written by sleap-io). Printed per command and size: the child's wall seconds
and its peak resident memory (ru_maxrss from wait4), and the memory per
10,000 records above the smallest size's, so the growth with the repository
is read side by side in one run.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.export.records import TRUTH, record  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def seed(repository: Path, count: int, per_frame: int) -> None:
    """One commit holding `count` record files at the paths the receiver gives them."""
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(repository)], check=True)
    importer = subprocess.Popen(["git", f"--git-dir={repository}", "fast-import", "--quiet"], stdin=subprocess.PIPE)
    assert importer.stdin is not None
    importer.stdin.write(b"commit refs/heads/main\ncommitter seed <seed@localhost> 1768471200 +0000\ndata 5\nseed\n")
    rng = random.Random(count)
    for number in range(count):
        points = {key: (x + rng.gauss(0, 3), y + rng.gauss(0, 3)) for key, (x, y) in TRUTH.items()}
        item = record(points, submitter=f"volunteer-{rng.randrange(500)}", frame_index=number // per_frame % 300,
                      video_url=f"https://example.org/videos/mouse-{number // per_frame // 300}.mp4", seconds=number)
        content = item.to_bytes()
        importer.stdin.write(b"M 100644 inline %s\ndata %d\n%s\n" % (item.path.encode(), len(content), content))
    importer.stdin.write(b"\n")
    importer.stdin.close()
    if importer.wait() != 0:
        sys.exit("consensus_cli: seeding the repository failed")


COMMANDS = {
    "consensus": lambda repository, scratch: ["consensus", str(repository)],
    "export slp": lambda repository, scratch: ["export", str(repository), "--format", "slp", "--out", str(scratch / "out.slp")],
}


def run_command(argv: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MiB, and the summary line of one `receiver` run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECEIVER_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    began = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "receiver", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert child.stdout is not None
    output = child.stdout.read().decode()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - began
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"consensus_cli: receiver {argv[0]} exited {child.returncode}")
    summary = next((line for line in output.splitlines() if " labels by " in line), "")
    return seconds, usage.ru_maxrss / 1024, summary


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", default="20000,100000", help="comma-separated repository sizes")
    parser.add_argument("--per-frame", type=int, default=10, help="labels per frame")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    sizes = sorted(int(size) for size in args.records.split(",") if size.strip())
    rows: dict[str, list[tuple[int, float, float, str]]] = {name: [] for name in COMMANDS}
    with tempfile.TemporaryDirectory(prefix="consensus-cli-bench-") as scratch:
        for size in sizes:
            repository = Path(scratch) / f"{size}.git"
            seed(repository, size, args.per_frame)
            for name, argv in COMMANDS.items():
                rows[name].append((size, *run_command(argv(repository, Path(scratch)))))
    print(f"{'command':<11} {'records':>9} {'seconds':>8} {'peak MiB':>9} {'MiB per 10k above the smallest':>31}  summary")
    for name, measured in rows.items():
        smallest, _, base_rss, _ = measured[0]
        for size, seconds, rss, summary in measured:
            growth = f"{(rss - base_rss) / (size - smallest) * 10_000:.1f}" if size > smallest else "-"
            print(f"{name:<11} {size:>9,} {seconds:>8.1f} {rss:>9.0f} {growth:>31}  {summary}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
