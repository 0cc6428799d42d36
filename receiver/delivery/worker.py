"""The delivery worker: drain the journal into the store, in batches, retrying with backoff, supervised.

The decisions (how long to wait after a failure, whether delivery is
healthy) are functions over values; the worker loop is the only place that
sleeps, and it sleeps through the `sleep` it is given, so tests run it step
by step with `run_once` and never wait on real time. Records leave the queue
only when the store has reported them delivered; a record the store refuses
`max_refusals` times is marked failed with the store's reason. Nothing else
ends a record: any other exception is logged with the record ids, backed off
and retried, and a worker thread that dies anyway is restarted by
`ensure_running`.

The worker's heartbeat is the delivery status it publishes in the journal:
between steps, between the slices of its own waits, and, through the `beat`
it hands the store, before each request and each slice of the store's paced
waits. However long one batch paces, it reports at least every `HEARTBEAT`
seconds, so /health's "dead" means it stopped reporting, never that it is busy.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Protocol

from receiver.contract.records import Record
from receiver.delivery.lease import DeliveryLease, Lease
from receiver.journal import Journal, JournalError
from receiver.stores import Delivered, Refused, Store, StoreConflict, StoreError, StoreRefused, StoreUnavailable

__all__ = ["DeliveryWorker", "DeliveryLease", "DeliveryObserver", "Outcome", "backoff_delay", "StoreStatus", "process_name"]

log = logging.getLogger("receiver.delivery")

#: The longest the loop waits without publishing its state (its heartbeat).
HEARTBEAT = 5.0
#: How often open pull requests' states are refreshed from the store (one list request).
PULL_REFRESH = 60.0
#: How many of the latest deliveries are checked against the store when delivery starts.
VERIFY_LATEST = 200


def process_name() -> str:
    """`host:pid`: how /health names the process that delivers."""
    return f"{socket.gethostname()}:{os.getpid()}"


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
    last_delivered_at: float | None = None
    crashes: int = 0
    notes: list[str] = field(default_factory=list)


class DeliveryObserver(Protocol):
    """Told what the worker marked in the journal (the metrics count it)."""

    def records_delivered(self, latencies: Sequence[float]) -> None:
        """Records marked delivered, each as its seconds from receipt to delivery."""
        ...

    def records_failed(self, count: int) -> None:
        """Records marked failed."""
        ...


@dataclass(frozen=True)
class Outcome:
    """What one `run_once` did: how many records it delivered, and how long to wait before the next step."""

    delivered: int
    wait: float


class DeliveryWorker:
    def __init__(
        self,
        journal: Journal,
        store: Store,
        *,
        batch_size: int = 200,
        max_refusals: int = 5,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        idle_wait: float = 1.0,
        linger: float = 0.0,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        lease: Lease | None = None,
        sleep: Callable[[float], object] | None = None,
        observer: DeliveryObserver | None = None,
    ) -> None:
        self.journal = journal
        self.store = store
        self.batch_size = batch_size
        self.max_refusals = max_refusals
        self.clock = clock
        self.jitter = jitter
        self.idle_wait = idle_wait
        self.linger = linger
        self.wall_clock = wall_clock
        self.lease = lease
        self.observer = observer
        self.status = StoreStatus()
        self._published: tuple[object, float] = (None, float("-inf"))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._verified = False
        self._pulls_read_at = float("-inf")
        self._current: list[str] = []
        # Waits after a failure go through `sleep` when one is given (a test's clock); else they end early on stop().
        self.sleep = sleep or self._stop.wait

    def _now(self) -> float:
        return self.wall_clock().timestamp()

    # -- one step ---------------------------------------------------------------

    def run_once(self) -> Outcome:
        """Deliver one batch if there is one; never raises for store trouble."""
        if not self._verified:
            self._verify_latest()
        now = self._now()
        records = self.journal.pending(self.batch_size, now=now)
        if not records:
            self._refresh_pulls()
            due = self.journal.next_due()
            return Outcome(0, self.idle_wait if due is None else max(0.0, min(self.idle_wait, due - now)))
        if self.linger and len(records) < self.batch_size:
            # Batch mode: let a batch fill for up to `linger` seconds after its first record arrived.
            age = now - datetime.fromisoformat(records[0].received_at.replace("Z", "+00:00")).timestamp()
            if age < self.linger:
                return Outcome(0, self.linger - age)
        self._current = [r.id for r in records]
        try:
            outcomes = self.store.deliver(records, beat=self.beat)
        except StoreConflict as exc:
            log.info("branch moved during delivery, retrying: %s", exc)
            return self._failed(records, str(exc), None)
        except StoreRefused as exc:
            outcomes = [Refused(r.id, str(exc)) for r in records]
        except StoreUnavailable as exc:
            return self._failed(records, str(exc), exc.retry_after)
        except StoreError as exc:
            return self._failed(records, str(exc), None)
        delivered = [o for o in outcomes if isinstance(o, Delivered)]
        refused = [o for o in outcomes if isinstance(o, Refused)]
        self.journal.mark_delivered(delivered, now=now)
        self._observe_delivered(records, delivered, now)
        self._refused(refused, now)
        if delivered:
            self.status.state, self.status.failures, self.status.last_error, self.status.retry_at = "ok", 0, None, None
            self.status.delivered += len(delivered)
            self.status.last_delivered_at = now
            log.info("delivered %d record(s) to the %s store", len(delivered), self.store.name)
        self._current = []
        return Outcome(len(delivered), 0.0)

    def _observe_delivered(self, records: list[Record], delivered: list[Delivered], now: float) -> None:
        if self.observer is None or not delivered:
            return
        received = {r.id: r.received_at for r in records}
        stamps = [received[d.record_id] for d in delivered if d.record_id in received]
        self.observer.records_delivered([now - datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() for s in stamps])

    def _refused(self, refused: list[Refused], now: float) -> None:
        if not refused:
            return
        # Each record backs off by its own count of refusals: a refusal that lasts (a ruleset) waits longer each time.
        by_count: dict[int, list[Refused]] = {}
        for refusal in refused:
            entry = self.journal.get(refusal.record_id)
            by_count.setdefault(entry.refusals if entry is not None else 0, []).append(refusal)
        failed: set[str] = set()
        for count, group in by_count.items():
            retry_at = now + backoff_delay(count + 1, None, jitter=self.jitter())
            failed.update(self.journal.mark_refused(group, max_refusals=self.max_refusals, retry_at=retry_at))
        if failed and self.observer is not None:
            self.observer.records_failed(len(failed))
        for refusal in refused:
            if refusal.record_id in failed:
                log.error(
                    "record %s failed: the %s store refused it %d times: %s", refusal.record_id, self.store.name, self.max_refusals, refusal.reason,
                    extra={"record_id": refusal.record_id},
                )
            else:
                log.warning(
                    "record %s refused by the %s store, will retry: %s", refusal.record_id, self.store.name, refusal.reason,
                    extra={"record_id": refusal.record_id},
                )

    def _failed(self, records: list[Record], error: str, retry_after: float | None) -> Outcome:
        self.status.failures += 1
        wait = backoff_delay(self.status.failures, retry_after, jitter=self.jitter())
        self.status.state, self.status.last_error = "retrying", error
        self.status.retry_at = self.clock() + wait
        self.journal.mark_attempt([r.id for r in records], error)
        log.warning("store %s unavailable (%s); %d record(s) wait, next try in %.1f s", self.store.name, error, len(records), wait)
        self._current = []
        return Outcome(0, wait)

    def _verify_latest(self) -> None:
        """Redeliver records marked delivered that the store does not hold (a crash beat its disk)."""
        latest = self.journal.recently_delivered(VERIFY_LATEST)
        lost = self.store.missing(latest)
        if lost:
            log.warning("%d record(s) marked delivered are not in the %s store; delivering them again", len(lost), self.store.name)
            self.journal.requeue(lost)
        self._verified = True

    def _refresh_pulls(self) -> None:
        """Learn which open pull requests merged or closed: one request per PULL_REFRESH, whatever the traffic."""
        now = self.clock()
        if now - self._pulls_read_at < PULL_REFRESH:
            return
        self._pulls_read_at = now
        numbers = self.journal.open_pulls()
        if not numbers:
            return
        try:
            states = self.store.pull_states(numbers)
        except StoreError as exc:
            log.info("pull request states not refreshed: %s", exc)
            return
        self.journal.set_pull_states(states)

    # -- the thread -------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="delivery-worker", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def ensure_running(self) -> bool:
        """Restart the worker thread if it died; True when it had to."""
        if self._stop.is_set() or self.alive:
            return False
        log.error("the delivery worker was not running; restarting it")
        self.status.crashes += 1
        self.start()
        return True

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self.journal.wake()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self.lease is not None:
            self.lease.release()

    def publish(self, *, every: float = HEARTBEAT) -> None:
        """Share the store's state through the journal, so every receiver process's /health can show it.

        Written when the state changes, else every `every` seconds as a heartbeat: each write is an fsync.
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
                "last_delivered_at": self.status.last_delivered_at,
                "store": {"name": self.store.name, **self.store.describe()},
                "deliverer": self.lease.holder if self.lease is not None else process_name(),
            }
        )
        self._published = (key, now)

    def beat(self) -> None:
        """Report "still delivering" from inside a long delivery (the store calls it); at most one write per HEARTBEAT.

        A heartbeat that cannot be written does not end the delivery: the
        records it is sending would be sent again; the next beat tries again.
        """
        try:
            self.publish()
        except JournalError as exc:
            log.warning("delivery state could not be published (%s); delivery goes on", exc)

    def _step(self) -> Outcome:
        if self.lease is not None and not self.lease.try_acquire():
            return Outcome(0, 2.0)  # another process delivers; take over if it goes away
        if self.status.last_delivered_at is None:
            self.status.last_delivered_at = self.journal.last_delivered_at()
        outcome = self.run_once()
        self.publish()
        return outcome

    def _loop(self) -> None:
        generation = 0
        while not self._stop.is_set():
            try:
                outcome = self._step()
            except JournalError as exc:
                outcome = self._journal_down(exc)
            except Exception as exc:  # noqa: BLE001 - the outermost loop: nothing may end delivery unseen
                outcome = self._crashed(exc)
            if outcome.wait <= 0:
                continue
            if outcome.delivered == 0 and self.status.state == "ok":
                generation = self.journal.wait_for_work(generation, min(outcome.wait, HEARTBEAT))
            else:
                self.pause(outcome.wait)

    def pause(self, seconds: float) -> None:
        """Sleep `seconds` in slices, publishing between them, so the heartbeat outlives long backoffs."""
        left = seconds
        while left > 0 and not self._stop.is_set():
            piece = min(left, HEARTBEAT)
            self.sleep(piece)
            left -= piece
            if left > 0:
                try:
                    self.publish()
                except Exception:  # noqa: BLE001 - a heartbeat that cannot be written is retried at the next slice
                    log.error("delivery state could not be published")

    def _journal_down(self, exc: JournalError) -> Outcome:
        """The journal cannot be read or written (a database away, a full disk): an expected outage, retried with backoff."""
        self.status.failures += 1
        self._current = []
        wait = backoff_delay(self.status.failures, None, jitter=self.jitter())
        self.status.state, self.status.last_error = "retrying", f"the journal is unavailable: {exc}"
        self.status.retry_at = self.clock() + wait
        log.warning("the journal is unavailable to the delivery worker (%s); next try in %.1f s", exc, wait)
        return Outcome(0, wait)

    def _crashed(self, exc: Exception) -> Outcome:
        """Log an unforeseen failure once, with the records it concerned, and back off."""
        self.status.failures += 1
        self.status.crashes += 1
        ids = ", ".join(self._current[:5]) + (f" and {len(self._current) - 5} more" if len(self._current) > 5 else "")
        log.error(
            "delivery failed unexpectedly (%s) for record(s) %s; retrying", exc.__class__.__name__, ids or "none",
            extra={"record_id": self._current[0]} if len(self._current) == 1 else {},
        )
        self.status.state, self.status.last_error = "retrying", f"unexpected {exc.__class__.__name__} while delivering"
        self._current = []
        wait = backoff_delay(self.status.failures, None, jitter=self.jitter())
        self.status.retry_at = self.clock() + wait
        try:
            self.publish(every=0.0)
        except Exception:  # noqa: BLE001 - the journal may be what failed; the next step tries again
            log.error("delivery state could not be published")
        return Outcome(0, wait)
