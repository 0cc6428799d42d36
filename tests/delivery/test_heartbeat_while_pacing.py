"""/health's judgement while the deliverer paces a long batch to GitHub: busy is never dead, silent still is.

The worker, the journal and the GitHub store share the fake clock; every
sleep (the store's paced waits and the worker's backoffs) advances it and then
asks the judgement an intake process's /health makes from what the journal holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from receiver.delivery.health import HEARTBEAT_STALE, Assessment, DeliveryFacts, assess
from receiver.delivery.worker import DeliveryWorker
from receiver.journal import Journal
from receiver.stores.github import GitHubStore
from receiver.stores.pacing import Budget
from tests.github_fake import FakeClock, FakeGitHub, Fault, fake_github_mock
from tests.support.captured import numbered_record as record
from tests.support.github_world import BASE, REPO, TOKEN, pygithub


@pytest.fixture
def journal(tmp_path: Path, clock: FakeClock) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite3", clock=clock.now) as opened:
        yield opened


def seen_from_intake(journal: Journal, now: float) -> Assessment:
    """What an intake process's /health concludes: it has no worker, only what the deliverer published."""
    published = journal.delivery_status()
    status, age = published if published is not None else ({"state": "unknown"}, None)
    return assess(
        DeliveryFacts(
            now=now,
            backlog=journal.counts()["queued"],
            oldest_queued_at=None,
            last_delivered_at=status.get("last_delivered_at"),
            store_state=status["state"],
            last_error=status.get("last_error"),
            heartbeat_age=age,
            worker_alive=None,
            stall_seconds=3600.0,
        )
    )


class Watch:
    """A sleep on the fake clock that asks the health judgement after every step of time."""

    def __init__(self, clock: FakeClock, journal: Journal) -> None:
        self.clock = clock
        self.journal = journal
        self.verdicts: list[Assessment] = []

    def sleep(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.verdicts.append(seen_from_intake(self.journal, self.clock.now()))


def paced_worker(journal: Journal, clock: FakeClock, watch: Watch, *, per_minute: int) -> DeliveryWorker:
    store = GitHubStore(REPO, budget=Budget(per_minute=per_minute, min_interval=1.0), clock=clock.now, sleep=watch.sleep, github=pygithub())
    return DeliveryWorker(
        journal,
        store,
        batch_size=30,
        clock=clock.now,
        wall_clock=lambda: datetime.fromtimestamp(clock.now(), timezone.utc),
        jitter=lambda: 0.0,
        sleep=watch.sleep,
    )


def deliver_everything(worker: DeliveryWorker, journal: Journal, *, max_steps: int = 1000) -> None:
    """The delivery loop's steps, with its waits through the worker's own `pause` (which publishes between slices)."""
    for _ in range(max_steps):
        if not journal.counts()["queued"]:
            return
        outcome = worker.run_once()
        worker.publish()
        if outcome.wait > 0:
            worker.pause(outcome.wait)


def test_thirty_paced_pull_requests_are_never_judged_dead(fake: FakeGitHub, clock: FakeClock, journal: Journal) -> None:
    """30 PRs, writes a second apart, GitHub's Retry-After and the minute's budget obeyed: at no sleep is delivery called dead."""
    fake.set_limits(secondary_per_minute=25)  # GitHub asks for pauses (Retry-After) well inside the batch
    for future in [journal.admit_async(record(n)) for n in range(30)]:
        future.result()
    watch = Watch(clock, journal)
    worker = paced_worker(journal, clock, watch, per_minute=40)
    started = clock.now()
    deliver_everything(worker, journal)
    assert journal.counts()["delivered"] == 30 and len(fake.pulls(REPO)) == 30
    assert any(entry.status == 403 for entry in fake.requests()), "GitHub should have asked the deliverer to wait"
    assert clock.now() - started > 4 * HEARTBEAT_STALE, "the batch should have paced far longer than the staleness"
    assert len(watch.verdicts) > 90
    dead = [v.reason for v in watch.verdicts if v.state == "dead"]
    assert dead == []


def test_a_deliverer_that_stopped_reporting_is_judged_dead(fake: FakeGitHub, clock: FakeClock, journal: Journal) -> None:
    """A deliverer that published and then fell silent for longer than HEARTBEAT_STALE is dead, whatever it did before."""
    watch = Watch(clock, journal)
    worker = paced_worker(journal, clock, watch, per_minute=80)
    journal.admit_async(record(1)).result()
    deliver_everything(worker, journal)
    assert seen_from_intake(journal, clock.now()).state == "ok"
    clock.advance(HEARTBEAT_STALE + 1)
    verdict = seen_from_intake(journal, clock.now())
    assert verdict.state == "dead"
    assert verdict.reason is not None and verdict.reason.startswith("the delivering process has not reported for")


def test_a_deliverer_stuck_inside_one_request_is_judged_dead(clock: FakeClock, journal: Journal) -> None:
    """Only waits and requests beat: a request that hangs past HEARTBEAT_STALE leaves the deliverer silent, so it is dead meanwhile."""
    watch = Watch(clock, journal)
    hanging = FakeGitHub(clock=clock, sleep=watch.sleep)  # GitHub's own delay is watched as it passes
    hanging.create_repository(REPO)
    hanging.add_token(TOKEN, "pose-receiver")
    hanging.add_fault(Fault(kind="delay", delay=HEARTBEAT_STALE + 5, method="POST", path="/pulls$"))
    worker = paced_worker(journal, clock, Watch(clock, journal), per_minute=80)
    journal.admit_async(record(1)).result()
    with fake_github_mock(hanging, BASE):
        worker.run_once()
    assert [v.state for v in watch.verdicts] == ["dead"]
    assert journal.counts()["delivered"] == 1
