"""The delivery worker: drain the journal into the store, in batches, retrying with backoff.

The decisions (how long to wait after a failure) are functions over values;
the worker loop is the only place that sleeps, and it sleeps through the
`wait` it is given, so tests run it step by step with `run_once` and never
wait on real time. Records leave the queue only when the store has reported
them delivered, so a crash at any moment means a retry, and the store's
idempotency makes the retry harmless.
"""

from __future__ import annotations

import fcntl
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from receiver.journal import Journal, JournalError
from receiver.records import Record
from receiver.stores import Store, StoreConflict, StoreError, StoreUnavailable

__all__ = ["DeliveryWorker", "DeliveryLease", "Outcome", "backoff_delay", "StoreStatus"]

log = logging.getLogger("receiver.delivery")


def backoff_delay(attempt: int, retry_after: float | None, *, base: float = 0.5, cap: float = 300.0, jitter: float = 0.0) -> float:
    """Seconds to wait before attempt `attempt + 1`: what the store asked for, else capped exponential with jitter.

    `jitter` is a number in [0, 1) (drawn by the caller) that spreads retries
    over the upper half of the window, so restarted receivers do not retry in step.
    """
    if retry_after is not None:
        return max(0.0, float(retry_after))
    window: float = min(cap, base * 2.0 ** max(0, attempt - 1))
    return window / 2 + window / 2 * jitter


@dataclass
class StoreStatus:
    """What /health shows about the store: is it taking records, and if not, why and until when."""

    state: str = "ok"
    failures: int = 0
    last_error: str | None = None
    retry_at: float | None = None
    delivered: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    """What one `run_once` did: how many records it delivered, and how long to wait before the next step."""

    delivered: int
    wait: float


class DeliveryLease:
    """Which of several receiver processes delivers: the one holding an exclusive lock on a file.

    The operating system releases the lock when its holder dies, however it
    dies, so another process takes over at its next try.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class DeliveryWorker:
    def __init__(
        self,
        journal: Journal,
        store: Store,
        *,
        batch_size: int = 200,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        idle_wait: float = 1.0,
        linger: float = 0.0,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        lease: DeliveryLease | None = None,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self.journal = journal
        self.store = store
        self.batch_size = batch_size
        self.clock = clock
        self.jitter = jitter
        self.idle_wait = idle_wait
        self.linger = linger
        self.wall_clock = wall_clock
        self.lease = lease
        self.status = StoreStatus()
        self._published: tuple[object, float] = (None, float("-inf"))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Waits after a failure go through `sleep` when one is given (a test's clock); else they end early on stop().
        self.sleep = sleep or self._stop.wait

    def run_once(self) -> Outcome:
        """Deliver one batch if there is one; never raises for store trouble."""
        records = self.journal.pending(self.batch_size)
        if not records:
            return Outcome(0, self.idle_wait)
        if self.linger and len(records) < self.batch_size:
            # Batch mode: let a batch fill for up to `linger` seconds after its first record arrived.
            age = (self.wall_clock() - datetime.fromisoformat(records[0].received_at.replace("Z", "+00:00"))).total_seconds()
            if age < self.linger:
                return Outcome(0, self.linger - age)
        try:
            results = self.store.deliver(records)
        except StoreConflict as exc:
            log.info("branch moved during delivery, retrying: %s", exc)
            return Outcome(0, 0.0)
        except StoreUnavailable as exc:
            return self._failed(records, str(exc), exc.retry_after)
        except StoreError as exc:
            if len(records) > 1:
                # One bad record must not hold the queue: retry the batch one by one.
                return self._one_by_one(records)
            self.journal.mark_failed(records[0].id, str(exc))
            log.warning("record %s refused by the store: %s", records[0].id, exc)
            return Outcome(0, 0.0)
        self.journal.mark_delivered(results)
        self.status.state, self.status.failures, self.status.last_error, self.status.retry_at = "ok", 0, None, None
        self.status.delivered += len(results)
        log.info("delivered %d record(s) to the %s store", len(results), self.store.name)
        return Outcome(len(results), 0.0)

    def _one_by_one(self, records: list[Record]) -> Outcome:
        delivered = 0
        for record in records:
            try:
                results = self.store.deliver([record])
            except StoreUnavailable as exc:
                return self._failed([record], str(exc), exc.retry_after)
            except StoreConflict:
                return Outcome(delivered, 0.0)
            except StoreError as exc:
                self.journal.mark_failed(record.id, str(exc))
                continue
            self.journal.mark_delivered(results)
            delivered += len(results)
        return Outcome(delivered, 0.0)

    def _failed(self, records: list[Record], error: str, retry_after: float | None) -> Outcome:
        self.status.failures += 1
        wait = backoff_delay(self.status.failures, retry_after, jitter=self.jitter())
        self.status.state, self.status.last_error = "retrying", error
        self.status.retry_at = self.clock() + wait
        self.journal.mark_attempt([r.id for r in records], error)
        log.warning("store %s unavailable (%s); %d record(s) wait, next try in %.1f s", self.store.name, error, len(records), wait)
        return Outcome(0, wait)

    # -- the thread -----------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="delivery-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self.journal.wake()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self.lease is not None:
            self.lease.release()

    def publish(self, *, every: float = 5.0) -> None:
        """Share the store's state through the journal, so every receiver process's /health can show it.

        Written when the state changes, else at most every `every` seconds: each write is an fsync.
        """
        key = (self.status.state, self.status.last_error, self.status.retry_at)
        now = self.clock()
        if key == self._published[0] and now - self._published[1] < every:
            return
        retry_in = None if self.status.retry_at is None else max(0.0, self.status.retry_at - now)
        self.journal.set_delivery_status(
            {
                "state": self.status.state,
                "last_error": self.status.last_error,
                "retry_in_seconds": retry_in,
                "store": {"name": self.store.name, **self.store.describe()},
            }
        )
        self._published = (key, now)

    def _loop(self) -> None:
        generation = 0
        while not self._stop.is_set():
            if self.lease is not None and not self.lease.try_acquire():
                self._stop.wait(2.0)  # another process delivers; take over if it goes away
                continue
            try:
                outcome = self.run_once()
                self.publish()
            except JournalError as exc:
                log.error("journal unavailable to the delivery worker: %s", exc)
                outcome = Outcome(0, 5.0)
            if outcome.wait <= 0:
                continue
            if outcome.delivered == 0 and self.status.state == "ok":
                generation = self.journal.wait_for_work(generation, outcome.wait)
            else:
                self.sleep(outcome.wait)
