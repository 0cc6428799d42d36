"""Group commit: many admissions, one transaction, one thread that writes.

A commit costs the same for one record as for sixty-four (an fsync, or a
round trip), so admissions are gathered and written together by one writer
thread. Requests on an event loop hand their records over as one group per
loop turn; the writer takes every group queued while it was busy into its
next commit, without waiting for the loop to hand them over again. The
groups grow with the load, and the writer takes the GIL a few times per
commit instead of a few times per record. Threads without a loop (tests,
the CLI) hand records over one by one and get a concurrent future.

The writer knows nothing of SQL: it calls `write(records)`, which returns
one outcome per record in order or raises `JournalError`.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from receiver.contract.records import Record
from receiver.journal.connector import JournalError, JournalUnavailable

__all__ = ["GroupCommit"]

log = logging.getLogger("receiver.journal")

T = TypeVar("T")

_STOP = object()


@dataclass
class _Gathering(Generic[T]):
    """What one event loop has admitted this loop turn."""

    loop: asyncio.AbstractEventLoop
    waiting: list[tuple[Record, asyncio.Future[T]]] = field(default_factory=list)
    scheduled: bool = False


@dataclass
class _Group(Generic[T]):
    loop: asyncio.AbstractEventLoop
    items: list[tuple[Record, asyncio.Future[T]]]


class GroupCommit(Generic[T]):
    """The writer thread and the queue in front of it; `T` is what a caller gets back per record."""

    def __init__(self, write: Callable[[Sequence[Record]], list[T]], *, max_group: int, on_written: Callable[[list[T]], None]) -> None:
        self._write = write
        self._on_written = on_written
        self.max_group = max_group
        # SimpleQueue: no Condition to notify on each put, so a loop turn hands its group over cheaply.
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._gatherings: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Gathering[T]] = weakref.WeakKeyDictionary()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="journal-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Write what is queued, then end the thread."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None

    def submit(self, record: Record) -> Future[T]:
        """Queue one record from any thread; the future resolves once it is written."""
        future: Future[T] = Future()
        self._queue.put((record, future))
        return future

    async def admit(self, record: Record) -> T:
        """Queue one record from the running loop, in the group this loop turn hands over."""
        loop = asyncio.get_running_loop()
        gathering = self._gatherings.get(loop)
        if gathering is None:
            gathering = self._gatherings[loop] = _Gathering(loop)
        future: asyncio.Future[T] = loop.create_future()
        gathering.waiting.append((record, future))
        if not gathering.scheduled:
            # After the callbacks already due: every request this turn parsed joins the group.
            gathering.scheduled = True
            loop.call_soon(self._hand_over, gathering)
        return await future

    def _hand_over(self, gathering: _Gathering[T]) -> None:
        gathering.scheduled = False
        waiting, gathering.waiting = gathering.waiting, []
        for start in range(0, len(waiting), self.max_group):
            self._queue.put(_Group(gathering.loop, waiting[start : start + self.max_group]))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            size = _size(item)
            while size < self.max_group:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    self._commit(batch)
                    return
                batch.append(item)
                size += _size(item)
            self._commit(batch)

    def _commit(self, batch: list[object]) -> None:
        records: list[Record] = []
        for item in batch:
            if isinstance(item, _Group):
                records += [record for record, _ in item.items]
            else:
                records.append(item[0])  # type: ignore[index]
        outcomes: list[T] | JournalError
        try:
            outcomes = self._write(records)
            self._on_written(outcomes)
        except JournalError as exc:
            log.error("journal write failed: %s", exc)
            outcomes = JournalUnavailable("the journal cannot keep new submissions right now")
        except Exception as exc:
            # A bug must not end the only thread that writes: this group is answered 503
            # (a retry finds whatever was kept), and the next group is tried.
            log.error("journal write failed unexpectedly (%s)", exc.__class__.__name__)
            outcomes = JournalUnavailable("the journal cannot keep new submissions right now")
        # One wake-up per loop for the whole commit, however many of its turns it took in.
        answers: dict[asyncio.AbstractEventLoop, tuple[list[asyncio.Future[T]], list[T]]] = {}
        position = 0
        for item in batch:
            count = _size(item)
            mine = outcomes if isinstance(outcomes, JournalError) else outcomes[position : position + count]
            position += count
            if isinstance(item, _Group):
                futures, results = answers.setdefault(item.loop, ([], []))
                futures += [future for _, future in item.items]
                if not isinstance(mine, JournalError):
                    results += mine
            else:
                _settler([item[1]], mine)()  # type: ignore[index]
        for loop, (futures, results) in answers.items():
            try:
                loop.call_soon_threadsafe(_settler(futures, outcomes if isinstance(outcomes, JournalError) else results))
            except RuntimeError:
                pass  # the loop has closed: nobody is waiting any more


def _size(item: object) -> int:
    return len(item.items) if isinstance(item, _Group) else 1


def _settler(futures: Sequence[Future[T] | asyncio.Future[T]], outcomes: Sequence[T] | JournalError) -> Callable[[], None]:
    def settle() -> None:
        for index, future in enumerate(futures):
            if future.done():
                continue  # the request was cancelled (client gone); its record is kept all the same
            if isinstance(outcomes, JournalError):
                future.set_exception(outcomes)
            else:
                future.set_result(outcomes[index])

    return settle
