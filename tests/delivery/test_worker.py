"""The delivery worker under supervision: no exception ends delivery, and a dead thread comes back."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from receiver.delivery.worker import DeliveryWorker, backoff_delay
from receiver.journal import Journal
from tests.stores.scripted import ScriptedStore
from tests.support.captured import numbered_record as record


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite3") as opened:
        yield opened


def wait_for(predicate: object = None, tries: int = 2000) -> None:
    """Yield to the worker thread until `predicate()` holds (bounded by tries, not by time)."""
    stop = threading.Event()
    for _ in range(tries):
        if predicate is not None and predicate():  # type: ignore[operator]
            return
        stop.wait(0.005)
    raise AssertionError("the worker never got there")


class TestSupervision:
    def test_an_unexpected_exception_is_logged_with_the_record_and_retried(self, journal: Journal, caplog: pytest.LogCaptureFixture) -> None:
        """A KeyError from a store does not end the thread; the record is named in the log and delivered later."""
        rec = record(1)
        journal.admit_async(rec).result(timeout=10)
        store = ScriptedStore(error=KeyError("content"))
        worker = DeliveryWorker(journal, store, jitter=lambda: 0.0, sleep=lambda _s: None)
        with caplog.at_level(logging.ERROR, logger="receiver.delivery"):
            worker.start()
            try:
                wait_for(predicate=lambda: store.calls >= 3)
                assert worker.alive
                assert worker.status.state == "retrying" and worker.status.last_error == "unexpected KeyError while delivering"
                store.error = None
                wait_for(predicate=lambda: journal.get(rec.id).state == "delivered")  # type: ignore[union-attr]
            finally:
                worker.stop()
        assert any(rec.id in message and "KeyError" in message for message in caplog.messages)

    @pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
    def test_a_dead_worker_thread_is_restarted(self, journal: Journal) -> None:
        """Even an exception the loop cannot catch only ends the thread until ensure_running."""

        class Fatal(BaseException):
            pass

        store = ScriptedStore(error=Fatal())
        journal.admit_async(record(2)).result(timeout=10)
        worker = DeliveryWorker(journal, store, jitter=lambda: 0.0, sleep=lambda _s: None)
        worker.start()
        wait_for(predicate=lambda: not worker.alive)
        store.error = None
        assert worker.ensure_running() is True
        try:
            wait_for(predicate=lambda: journal.counts()["delivered"] == 1)
            assert worker.status.crashes == 1
        finally:
            worker.stop()

    def test_a_stopped_worker_is_not_restarted(self, journal: Journal) -> None:
        """Stopping on purpose is not a death."""
        worker = DeliveryWorker(journal, ScriptedStore(), sleep=lambda _s: None)
        worker.start()
        worker.stop()
        assert worker.ensure_running() is False and not worker.alive


class TestOneByOne:
    def test_run_once_delivers_and_says_so(self, journal: Journal) -> None:
        """One step hands the queue to the store and marks what it delivered."""
        for n in range(3):
            journal.admit_async(record(n)).result(timeout=10)
        outcome = DeliveryWorker(journal, ScriptedStore()).run_once()
        assert outcome.delivered == 3 and journal.counts()["delivered"] == 3

    def test_run_once_with_an_empty_queue_waits_idle(self, journal: Journal) -> None:
        outcome = DeliveryWorker(journal, ScriptedStore(), idle_wait=1.5).run_once()
        assert outcome.delivered == 0 and outcome.wait == 1.5


class TestBackoff:
    def test_retry_after_is_obeyed_exactly(self) -> None:
        assert backoff_delay(7, 42.0) == 42.0

    def test_backoff_doubles_and_is_capped(self) -> None:
        """Without jitter each attempt waits half its window: 0.25, 0.5, 1 ... up to half the cap."""
        waits = [backoff_delay(n, None, jitter=0.0) for n in (1, 2, 3)]
        assert waits == [0.25, 0.5, 1.0]
        assert backoff_delay(40, None, jitter=0.999) < 300.0

    def test_jitter_spreads_over_the_upper_half(self) -> None:
        assert backoff_delay(3, None, jitter=0.0) == 1.0 and backoff_delay(3, None, jitter=0.5) == 1.5


class TestRefusals:
    def test_each_refusal_of_a_record_waits_longer(self, journal: Journal) -> None:
        """A record refused again and again backs off by its own count: 0.25 s, then 0.5 s, then 1 s (no jitter)."""
        from datetime import datetime, timedelta, timezone

        journal.admit_async(record(7)).result(timeout=10)
        clock = [datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)]
        worker = DeliveryWorker(journal, ScriptedStore(refuse=True), max_refusals=5, jitter=lambda: 0.0, wall_clock=lambda: clock[0])
        waits = []
        for _ in range(3):
            worker.run_once()
            due = journal.next_due()
            assert due is not None
            waits.append(round(due - clock[0].timestamp(), 3))
            clock[0] = datetime.fromtimestamp(due, timezone.utc) + timedelta(milliseconds=1)
        assert waits == [0.25, 0.5, 1.0]


class TestJournalOutage:
    def test_a_journal_outage_is_retried_as_such_not_as_a_crash(self, journal: Journal, caplog: pytest.LogCaptureFixture) -> None:
        """JournalUnavailable from a step: a warning naming the journal, no crash counted, and the thread goes on."""
        from receiver.journal import JournalUnavailable

        worker = DeliveryWorker(journal, ScriptedStore(), jitter=lambda: 0.0, sleep=lambda _s: None)
        calls = []

        def failing_step() -> object:
            calls.append(1)
            if len(calls) < 3:
                raise JournalUnavailable("the journal's database cannot be reached")
            worker._stop.set()
            raise JournalUnavailable("still away")

        worker._step = failing_step  # type: ignore[method-assign,assignment]
        with caplog.at_level(logging.WARNING, logger="receiver.delivery"):
            worker._loop()
        assert len(calls) == 3 and worker.status.crashes == 0
        assert worker.status.last_error == "the journal is unavailable: still away"
        assert any("journal is unavailable" in m for m in caplog.messages)
