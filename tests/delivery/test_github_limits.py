"""The journal, the worker and the GitHub store together, on the fake's clock: hours of limits in seconds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from receiver.delivery.worker import DeliveryWorker
from receiver.journal import Journal
from receiver.stores.github import GitHubStore
from tests.github_fake import FakeClock, FakeGitHub
from tests.support.captured import numbered_record as record
from tests.support.github_world import REPO, fake_world, pygithub


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeGitHub]:
    with fake_world(clock) as github:
        github.set_limits(secondary_per_minute=80, secondary_per_hour=500)
        yield github


def drain(worker: DeliveryWorker, clock: FakeClock, journal: Journal, *, max_steps: int = 100_000) -> int:
    """Run the worker step by step; its waits advance the fake clock instead of sleeping."""
    steps = 0
    while journal.counts()["queued"] and steps < max_steps:
        outcome = worker.run_once()
        if outcome.wait > 0:
            clock.advance(outcome.wait)
        steps += 1
    return steps


def test_two_thousand_submissions_under_githubs_limits(fake: FakeGitHub, clock: FakeClock, tmp_path: Path) -> None:
    """All delivered, each file in exactly one pull request, no request sent while a retry-after was pending."""
    store = GitHubStore(REPO, clock=clock.now, sleep=clock.advance, github=pygithub())
    records = [record(n) for n in range(2000)]
    started = clock.now()
    with Journal(tmp_path / "journal.sqlite3") as journal:
        for future in [journal.admit_async(r) for r in records]:
            future.result()
        worker = DeliveryWorker(journal, store, batch_size=20, clock=clock.now, jitter=lambda: 0.0)
        drain(worker, clock, journal)
        counts = journal.counts()
    assert counts["delivered"] == 2000 and counts["queued"] == 0 and counts["failed"] == 0
    log = fake.requests()
    assert not any(entry.retry_after_pending for entry in log)
    assert not any(entry.status in (403, 429) for entry in log), "the pacer kept within the limits without being told"
    main = fake.files(REPO, "main")
    in_pulls: Counter[str] = Counter()
    for pull in fake.pulls(REPO):
        added = {p for p in fake.files(REPO, pull.head_ref) if p.startswith("annotations/") and p not in main}
        in_pulls.update(added)
    assert set(in_pulls) == {r.path for r in records}
    assert max(in_pulls.values()) == 1
    times = [entry.at for entry in log if entry.content_creating]
    assert all(sum(1 for t in times if at - 60 < t <= at) <= 80 for at in times)
    assert all(sum(1 for t in times if at - 3600 < t <= at) <= 500 for at in times)
    assert clock.now() - started > 3600, "the run should have needed more than an hour of GitHub's budget"
    assert any("coalesced" in note for note in store.notes)
