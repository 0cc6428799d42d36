"""Submissions per hour each GitHub delivery mode sustains under GitHub's documented limits.

    python benchmarks/github_delivery.py [--records 1000] [--batch 200]

Runs the real journal, delivery worker and GitHub store against the project's
GitHub fake (in-process, through PyGithub) with the fake's secondary limits at
GitHub's (80 content-creating requests a minute, 500 an hour) and one clock
shared by the fake and the worker, so hours of pacing run in seconds. Prints,
per mode, the content-creating requests each submission cost (from the fake's
request log), what that allows per hour under 500 writes/hour, and the rate
actually achieved on the fake's clock. "Allowed per hour" is the sustained
rate; "achieved" on a short run also spends the first hour's full budget at
once, so it reads higher.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from github import Auth, Github  # noqa: E402

from receiver.contract.records import Record  # noqa: E402
from receiver.delivery.worker import DeliveryWorker  # noqa: E402
from receiver.journal import Journal  # noqa: E402
from receiver.stores.github import GitHubStore  # noqa: E402
from tests.github_fake import FakeClock, FakeGitHub, fake_github_mock  # noqa: E402
from tests.support.captured import captured_body  # noqa: E402

BASE, REPO, TOKEN = "http://github.test/api/v3", "owner/data", "bench-token"
HOURLY_WRITES = 500


def records(count: int) -> list[Record]:
    made = []
    for n in range(count):
        body = captured_body()
        body["frame_index"] = n % 300
        body["timestamp"] = f"2026-11-25T{(n // 3600) % 24:02d}:{(n // 60) % 60:02d}:{n % 60:02d}.000Z"
        body["labels"][0]["pixel_x"] = n % 1280
        made.append(Record.create(body, submitter="anonymous", received_at=datetime(2026, 11, 25, tzinfo=timezone.utc), receiver_version="bench"))
    return made


def run(mode: str, count: int, batch: int, coalesce: bool) -> dict[str, float]:
    clock = FakeClock()
    fake = FakeGitHub(clock=clock, sleep=clock.advance)
    fake.create_repository(REPO)
    fake.add_token(TOKEN, "pose-receiver")
    fake.set_limits(secondary_per_minute=80, secondary_per_hour=HOURLY_WRITES)
    client = Github(base_url=BASE, auth=Auth.Token(TOKEN), retry=None, seconds_between_requests=None, seconds_between_writes=None)
    store = GitHubStore(REPO, mode=mode, clock=clock.now, sleep=clock.advance, github=client, coalesce=coalesce)  # type: ignore[arg-type]
    started_wall, started = time.perf_counter(), clock.now()
    with tempfile.TemporaryDirectory() as folder, fake_github_mock(fake, BASE), Journal(Path(folder) / "journal.sqlite3") as journal:
        for future in [journal.admit_async(r) for r in records(count)]:
            future.result()
        worker = DeliveryWorker(journal, store, batch_size=batch, clock=clock.now, jitter=lambda: 0.0)
        while journal.counts()["queued"]:
            outcome = worker.run_once()
            if outcome.wait > 0:
                clock.advance(outcome.wait)
        delivered = journal.counts()["delivered"]
    log = fake.requests()
    writes = sum(1 for e in log if e.content_creating)
    hours = (clock.now() - started) / 3600
    return {
        "delivered": delivered,
        "writes": writes,
        "writes_per_submission": writes / delivered,
        "allowed_per_hour": HOURLY_WRITES / (writes / delivered),
        "achieved_per_hour": delivered / hours if hours else float("inf"),
        "fake_hours": hours,
        "refused": sum(1 for e in log if e.status in (403, 429)),
        "wall_seconds": time.perf_counter() - started_wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    rows = [
        ("pull-request (no coalescing)", run("pull-request", min(args.records, 400), 20, coalesce=False), "~160/h"),
        ("pull-request (coalescing)", run("pull-request", args.records, 20, coalesce=True), ""),
        (f"batch ({args.batch} per PR)", run("batch", args.records, args.batch, coalesce=True), ">= 10,000/h"),
        (f"direct ({args.batch} per commit)", run("direct", args.records, args.batch, coalesce=True), ""),
    ]
    print("| mode | submissions | writes/submission | allowed/hour at 500 writes/h | achieved/hour (fake clock) | fake hours | 403/429 | wall s | target |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, r, target in rows:
        print(
            f"| {name} | {r['delivered']:.0f} | {r['writes_per_submission']:.3f} | {r['allowed_per_hour']:,.0f} | "
            f"{r['achieved_per_hour']:,.0f} | {r['fake_hours']:.2f} | {r['refused']:.0f} | {r['wall_seconds']:.1f} | {target} |"
        )


if __name__ == "__main__":
    main()
