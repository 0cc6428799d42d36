"""The store contract, once for every store: a record is delivered only when its exact bytes are held.

"Held" means on the default branch, or on the record's own branch with an
open pull request. Otherwise it is queued (retrying) or failed with the
store's reason. Each test runs against the local store (branch mode) and the
GitHub store through the fake (pull-request mode).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from receiver.stores import Delivered, Refused, StoreUnavailable
from tests.github_fake import FakeClock
from tests.stores.contract import CRASH_POINTS, Crash, GitHubWorld, Harness, LocalWorld, World, journal_at, run_worker
from tests.support.captured import numbered_record as record
from tests.support.github_world import fake_world


@pytest.fixture(params=["local", "github"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    if request.param == "local":
        yield LocalWorld(tmp_path / "data.git")
        return
    clock = FakeClock()
    with fake_world(clock) as fake:
        yield GitHubWorld(fake, clock)


@pytest.fixture
def harness(world: World, tmp_path: Path) -> Iterator[Harness]:
    for journal in journal_at(tmp_path / "journal.sqlite3"):
        yield Harness(world, journal)


class TestFirstDelivery:
    def test_delivered_record_is_held(self, world: World) -> None:
        """The first delivery reports the record delivered, and its bytes are where the report says."""
        rec = record(1)
        [outcome] = world.store().deliver([rec])
        assert isinstance(outcome, Delivered) and outcome.created
        assert world.holds(rec)

    def test_redelivery_writes_nothing_new(self, world: World) -> None:
        """Delivering again adopts what is there: still one copy."""
        rec = record(2)
        world.store().deliver([rec])
        before = world.copies(rec)
        [again] = world.store().deliver([rec])
        assert isinstance(again, Delivered) and world.holds(rec)
        assert world.copies(rec) == before


class TestCrashPoints:
    @pytest.mark.parametrize("point", CRASH_POINTS)
    def test_crash_then_redelivery_holds_one_copy(self, world: World, point: str) -> None:
        """Whatever step a crash interrupts, the next delivery finishes it without a second copy."""
        rec = record(3)
        store = world.store()
        if point == "merge" and isinstance(world, GitHubWorld):
            store.deliver([rec])
            world.merge_and_delete(rec)
        else:
            world.crash_after(point)
            with pytest.raises((Crash, StoreUnavailable)):  # the process 'dies', or never hears GitHub's answer
                store.deliver([rec])
        [outcome] = world.store().deliver([rec])
        assert isinstance(outcome, Delivered)
        assert world.holds(rec)
        assert world.copies(rec) <= 3  # at most: the file, its branch, its pull request
        if isinstance(world, GitHubWorld):
            assert len([p for p in world.fake.pulls("owner/data", "all") if p.head_ref == rec.branch]) == 1


class TestRefusals:
    def test_other_file_at_the_path_is_refused_and_kept(self, world: World) -> None:
        """A different file at the record's path is never taken for the record, nor overwritten."""
        rec = record(4)
        world.put_on_default(rec.path, b'{"someone": "else"}\n')
        [outcome] = world.store().deliver([rec])
        assert isinstance(outcome, Refused) and "different file" in outcome.reason
        assert not world.holds(rec)

    def test_refused_record_fails_with_the_reason_after_max_attempts(self, world: World, harness: Harness) -> None:
        """Refused every time: the record ends failed with the store's reason, never delivered."""
        rec = record(5)
        world.put_on_default(rec.path, b'{"someone": "else"}\n')
        harness.admit(rec)
        run_worker(harness.worker(world.store(), max_refusals=3), world.clock)
        entry = harness.journal.get(rec.id)
        assert entry is not None and entry.state == "failed" and entry.refusals == 3
        assert entry.last_error is not None and "different file" in entry.last_error

    def test_failed_record_is_delivered_after_retry_once_the_cause_is_gone(self, world: World, harness: Harness) -> None:
        """`retry` puts a failed record back; once the store takes it, it is delivered exactly once."""
        rec = record(6)
        harness.admit(rec)
        harness.journal.mark_refused([Refused(rec.id, "refused for a while")], max_refusals=1, retry_at=0.0)
        assert harness.journal.retry(failed=True) == 1
        run_worker(harness.worker(world.store()), world.clock)
        entry = harness.journal.get(rec.id)
        assert entry is not None and entry.state == "delivered" and world.holds(rec)


class TestUnavailable:
    def test_unavailable_store_keeps_the_record_queued(self, world: World, harness: Harness) -> None:
        """An unreachable store is retried later: the record stays queued, never delivered or failed."""
        rec = record(7)
        harness.admit(rec)
        world.trouble("unavailable")
        worker = harness.worker(world.store())
        outcomes = [worker.run_once() for _ in range(3)]
        entry = harness.journal.get(rec.id)
        assert entry is not None and entry.state == "queued" and entry.attempts == 3
        assert all(o.delivered == 0 and o.wait > 0 for o in outcomes)
        assert not world.holds(rec)

    def test_record_is_delivered_once_the_store_is_back(self, world: World, harness: Harness) -> None:
        """After the outage, the same worker delivers it."""
        rec = record(8)
        harness.admit(rec)
        world.trouble("unavailable")
        worker = harness.worker(world.store())
        worker.run_once()
        world.clear()
        run_worker(worker, world.clock)
        entry = harness.journal.get(rec.id)
        assert entry is not None and entry.state == "delivered" and world.holds(rec)

    def test_store_error_is_raised_not_reported_delivered(self, world: World) -> None:
        """Called directly, an unavailable store raises instead of returning an outcome."""
        world.trouble("unavailable")
        with pytest.raises(StoreUnavailable):
            world.store().deliver([record(9)])
