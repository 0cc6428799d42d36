"""What the shared limiter's check costs: SharedLimits.admit calls a second, in one process and in two sharing the file.

    python benchmarks/limits.py [--seconds 3]

Each process checks as fast as it can for `--seconds`, spread over 1,000
client keys, under a limit never reached (so every check is a full
read-modify-write) and with the hourly ceiling on or off. Intake with the
limiter on is `python benchmarks/intake.py --servers receiver --rate-limit
1000000000/hour`; this isolates the check itself.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from receiver.access.limitstate import SharedLimits
from receiver.settings import RateLimit


def _checks(path: str, seconds: float, per_hour: int, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    limits = SharedLimits(Path(path), per_client=RateLimit(1_000_000_000, 3600.0), per_hour=per_hour).open()
    done, start = 0, time.perf_counter()
    while (now := time.perf_counter()) - start < seconds:
        limits.admit(f"198.51.100.{done % 1000}/32", time.monotonic())
        done += 1
    limits.close()
    results.put((done, now - start))


def measure(processes: int, seconds: float, per_hour: int) -> tuple[float, float]:
    """Checks a second in all, and microseconds per check in one process."""
    with tempfile.TemporaryDirectory(prefix="limits-bench-") as folder:
        path = str(Path(folder) / "journal.sqlite3.limits.sqlite")
        SharedLimits(Path(path), per_client=RateLimit(1, 1.0)).open().close()
        results: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
        workers = [multiprocessing.Process(target=_checks, args=(path, seconds, per_hour, results)) for _ in range(processes)]
        for worker in workers:
            worker.start()
        counts = [results.get() for _ in workers]
        for worker in workers:
            worker.join()
    total = sum(done / elapsed for done, elapsed in counts)
    return total, 1e6 * processes / total


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    print("| processes | hourly ceiling | checks/s (all processes) | µs per check |")
    print("|---:|---|---:|---:|")
    for processes in (1, 2):
        for per_hour in (0, 1_000_000_000):
            total, micros = measure(processes, args.seconds, per_hour)
            print(f"| {processes} | {'on' if per_hour else 'off'} | {total:,.0f} | {micros:,.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
