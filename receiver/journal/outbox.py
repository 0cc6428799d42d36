"""The outbox: an SQLite journal that makes a 2xx mean "kept", and the state of every record's delivery.

Every accepted record is written here, fsynced (WAL with synchronous=FULL),
before the receiver answers; the delivery worker drains it into the store and
writes back each record's state. Writes go through one writer thread that
commits whatever has queued up in a single transaction (group commit), so 64
waiting requests cost one fsync, not 64.

```
JournalError
 +-- JournalUnavailable   the disk refused (full, read-only, I/O error): answer 503, keep nothing half-done
```
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from receiver.journal import schema
from receiver.records import Record
from receiver.stores.outcomes import Delivered, Refused

__all__ = ["Journal", "JournalError", "JournalUnavailable", "Entry", "Admission", "AdmitHook"]

log = logging.getLogger("receiver.journal")

class JournalError(Exception):
    """The journal could not do what was asked."""


class JournalUnavailable(JournalError):
    """The journal cannot keep new records right now (disk full, read-only, I/O error)."""


@dataclass(frozen=True)
class Entry:
    """What the journal knows of one record."""

    id: str
    video_url: str
    frame_index: int
    submitter: str
    received_at: str
    state: str
    path: str
    commit: str | None
    branch: str | None
    pull_number: int | None
    pull_url: str | None
    pull_state: str | None
    attempts: int
    last_error: str | None
    refusals: int = 0

    def public(self) -> dict[str, Any]:
        """The fields a client may see."""
        shown = {
            "id": self.id,
            "status": self.state,
            "video_url": self.video_url,
            "frame_index": self.frame_index,
            "submitter": self.submitter,
            "received_at": self.received_at,
            "path": self.path,
            "commit": self.commit,
        }
        if self.branch:
            shown.update(branch=self.branch, pull_number=self.pull_number, pull_url=self.pull_url, pull_state=self.pull_state)
        if self.state != "delivered" and self.last_error:
            shown["last_error"] = self.last_error
        if self.state == "failed":
            shown["refusals"] = self.refusals
        return shown


@dataclass(frozen=True)
class Admission:
    """The outcome of `Journal.admit`: a new record, or the one already kept under that id."""

    entry: Entry
    created: bool


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA busy_timeout=30000")
    return connection


def _entry(row: Sequence[Any]) -> Entry:
    return Entry(*row)


_STOP = object()

#: Called inside each group commit's transaction with the records it newly admits,
#: so state derived from them (the frame tally) commits, or fails, with them.
AdmitHook = Callable[[sqlite3.Connection, Sequence[Record]], None]

_Waiter = Future[Admission] | asyncio.Future[Admission]


def _resolve(pairs: list[tuple[_Waiter, Admission | JournalError]]) -> None:
    for waiter, outcome in pairs:
        if waiter.done():
            continue  # the request was cancelled (client gone); its record is kept all the same
        if isinstance(outcome, JournalError):
            waiter.set_exception(outcome)
        else:
            waiter.set_result(outcome)


def _settle(pairs: list[tuple[_Waiter, Admission | JournalError]]) -> None:
    """Resolve waiters from the writer thread: thread futures directly, loop futures in one call per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Waiter, Admission | JournalError]]] = {}
    plain: list[tuple[_Waiter, Admission | JournalError]] = []
    for waiter, outcome in pairs:
        if isinstance(waiter, asyncio.Future):
            by_loop.setdefault(waiter.get_loop(), []).append((waiter, outcome))
        else:
            plain.append((waiter, outcome))
    _resolve(plain)
    for loop, group in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve, group)
        except RuntimeError:
            pass  # the loop has closed: nobody is waiting any more


class Journal:
    """The outbox. `open()` starts its writer thread; `close()` stops it after the queue drains."""

    def __init__(self, path: Path, *, max_group: int = 512, on_admit: AdmitHook | None = None) -> None:
        self.path = path
        self.max_group = max_group
        self.on_admit = on_admit
        self._queue: queue.Queue[Any] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._read_lock = threading.Lock()
        self._reader: sqlite3.Connection | None = None
        self._work = threading.Condition()
        self._generation = 0

    def open(self) -> Journal:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            setup = _connect(self.path)
            schema.create(setup)
            setup.close()
            self._reader = _connect(self.path)
        except sqlite3.Error as exc:
            raise JournalUnavailable(f"the journal cannot be opened ({exc.__class__.__name__})") from exc
        self._writer = threading.Thread(target=self._write_loop, name="journal-writer", daemon=True)
        self._writer.start()
        return self

    def close(self) -> None:
        if self._writer is not None:
            self._queue.put(_STOP)
            self._writer.join()
            self._writer = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def __enter__(self) -> Journal:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- admitting records (request side) ------------------------------------

    def admit_async(self, record: Record) -> Future[Admission]:
        """Queue a record for the next group commit; the future resolves once it is on disk."""
        future: Future[Admission] = Future()
        self._queue.put((record, future))
        return future

    async def admit(self, record: Record) -> Admission:
        """Like `admit_async`, for the event loop: one wake-up of the loop per group commit, not per record."""
        future: asyncio.Future[Admission] = asyncio.get_running_loop().create_future()
        self._queue.put((record, future))
        return await future

    def _write_loop(self) -> None:
        connection = _connect(self.path)
        try:
            while True:
                first = self._queue.get()
                if first is _STOP:
                    return
                batch = [first]
                while len(batch) < self.max_group:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is _STOP:
                        self._commit(connection, batch)
                        return
                    batch.append(item)
                self._commit(connection, batch)
        finally:
            connection.close()

    def _commit(self, connection: sqlite3.Connection, batch: list[tuple[Record, _Waiter]]) -> None:
        outcomes: list[tuple[_Waiter, Admission | JournalError]] = []
        created: list[Record] = []
        try:
            connection.execute("BEGIN IMMEDIATE")
            for record, future in batch:
                cursor = connection.execute(
                    "INSERT INTO records (id, video_url, frame_index, submitter, received_at, document, path)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
                    (record.id, record.submission["video_url"], record.submission["frame_index"], record.submitter,
                     record.received_at, record.to_bytes(), record.path),
                )
                row = connection.execute(f"SELECT {schema.COLUMNS} FROM records WHERE id = ?", (record.id,)).fetchone()
                outcomes.append((future, Admission(_entry(row), created=cursor.rowcount == 1)))
                if cursor.rowcount == 1:
                    created.append(record)
            if created and self.on_admit is not None:
                self.on_admit(connection, created)
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            log.error("journal write failed: %s", exc.__class__.__name__)
            error = JournalUnavailable("the journal cannot keep new submissions right now")
            _settle([(future, error) for _, future in batch])
            return
        if any(isinstance(admission, Admission) and admission.created for _, admission in outcomes):
            with self._work:
                self._generation += 1
                self._work.notify_all()
        _settle(outcomes)

    # -- reading --------------------------------------------------------------

    def _read(self, sql: str, parameters: Iterable[Any] = ()) -> list[Any]:
        if self._reader is None:
            raise JournalError("the journal is closed")
        with self._read_lock:
            return self._reader.execute(sql, tuple(parameters)).fetchall()

    def get(self, identifier: str) -> Entry | None:
        rows = self._read(f"SELECT {schema.COLUMNS} FROM records WHERE id = ?", (identifier,))
        return _entry(rows[0]) if rows else None

    def record(self, identifier: str) -> Record | None:
        """The stored record under this id, if any."""
        rows = self._read("SELECT document FROM records WHERE id = ?", (identifier,))
        return Record.from_stored(bytes(rows[0][0])) if rows else None

    def frame_records(self, video_url: str, frame_index: int, *, limit: int = 1000) -> list[Record]:
        """The records labelling one frame of one video, oldest first."""
        rows = self._read(
            "SELECT document FROM records WHERE video_url = ? AND frame_index = ? ORDER BY seq LIMIT ?", (video_url, frame_index, limit)
        )
        return [Record.from_stored(bytes(document)) for (document,) in rows]

    def page(self, *, video_url: str | None = None, offset: int = 0, limit: int = 50) -> tuple[int, list[Entry]]:
        """One page of records, oldest first, optionally of one video; and how many there are in all."""
        where, parameters = ("WHERE video_url = ?", [video_url]) if video_url else ("", [])
        total = self._read(f"SELECT count(*) FROM records {where}", parameters)[0][0]
        rows = self._read(f"SELECT {schema.COLUMNS} FROM records {where} ORDER BY seq LIMIT ? OFFSET ?", [*parameters, limit, offset])
        return total, [_entry(r) for r in rows]

    def counts(self) -> dict[str, int]:
        counts = {"queued": 0, "delivered": 0, "held": 0, "failed": 0}
        counts.update({state: n for state, n in self._read("SELECT state, count(*) FROM records GROUP BY state")})
        return counts

    def oldest_queued(self) -> str | None:
        rows = self._read("SELECT received_at FROM records WHERE state = 'queued' ORDER BY seq LIMIT 1")
        return rows[0][0] if rows else None

    # -- the delivery side ----------------------------------------------------

    def pending(self, limit: int, *, now: float | None = None) -> list[Record]:
        """The oldest queued records whose backoff (if any) has passed, to hand to the store."""
        moment = time.time() if now is None else now
        rows = self._read(
            "SELECT document FROM records WHERE state = 'queued' AND (not_before IS NULL OR not_before <= ?) ORDER BY seq LIMIT ?",
            (moment, limit),
        )
        return [Record.from_stored(bytes(document)) for (document,) in rows]

    def next_due(self) -> float | None:
        """When the earliest backed-off queued record may be tried again (wall-clock seconds), if any waits."""
        rows = self._read("SELECT min(not_before) FROM records WHERE state = 'queued' AND not_before IS NOT NULL")
        return float(rows[0][0]) if rows and rows[0][0] is not None else None

    def wait_for_work(self, generation: int, timeout: float) -> int:
        """Block until a new record is admitted after `generation` (or the timeout); return the current one."""
        with self._work:
            if self._generation == generation:
                self._work.wait(timeout)
            return self._generation

    def wake(self) -> None:
        """Wake the delivery worker (used when stopping)."""
        with self._work:
            self._generation += 1
            self._work.notify_all()

    def mark_delivered(self, results: Sequence[Delivered], *, now: float | None = None) -> None:
        moment = time.time() if now is None else now
        self._update(
            # A store that keeps a record for review (a branch not merged) reports no commit: 'held'.
            "UPDATE records SET state = CASE WHEN ? IS NULL THEN 'held' ELSE 'delivered' END,"
            " commit_sha = ?, path = ?, branch = ?, pull_number = ?, pull_url = ?,"
            " pull_state = CASE WHEN ? IS NULL THEN NULL ELSE COALESCE(pull_state, 'open') END,"
            " attempts = attempts + 1, last_error = NULL, not_before = NULL, delivered_at = ? WHERE id = ?",
            [(r.commit if r.commit or not r.branch else None, r.commit, r.path, r.branch, r.pull_number, r.pull_url, r.pull_number, moment, r.record_id) for r in results],
        )

    def mark_attempt(self, identifiers: Sequence[str], error: str) -> None:
        """Note a failed attempt; the records stay queued for the next try."""
        self._update("UPDATE records SET attempts = attempts + 1, last_error = ? WHERE id = ?", [(error, i) for i in identifiers])

    def mark_refused(self, refusals: Sequence[Refused], *, max_refusals: int, retry_at: float) -> list[str]:
        """Count a refusal per record; a record refused `max_refusals` times fails, the rest wait until `retry_at`.

        Returns the ids that failed now.
        """
        if not refusals:
            return []
        self._update(
            "UPDATE records SET attempts = attempts + 1, refusals = refusals + 1, last_error = ?,"
            " state = CASE WHEN refusals + 1 >= ? THEN 'failed' ELSE state END,"
            " not_before = CASE WHEN refusals + 1 >= ? THEN NULL ELSE ? END WHERE id = ? AND state = 'queued'",
            [(r.reason, max_refusals, max_refusals, retry_at, r.record_id) for r in refusals],
        )
        marks = ",".join("?" * len(refusals))
        rows = self._read(f"SELECT id FROM records WHERE state = 'failed' AND id IN ({marks})", [r.record_id for r in refusals])
        return [row[0] for row in rows]

    def retry(self, identifiers: Sequence[str] = (), *, failed: bool = False) -> int:
        """Put records back in the queue (the named ones, and every failed one with `failed`); how many were."""
        rows: list[tuple[Any, ...]] = [(i,) for i in identifiers]
        changed = self._update(
            "UPDATE records SET state = 'queued', refusals = 0, not_before = NULL WHERE id = ? AND state IN ('failed', 'held', 'queued')",
            rows,
        )
        if failed:
            changed += self._update("UPDATE records SET state = 'queued', refusals = 0, not_before = NULL WHERE state = 'failed'", [()])
        self.wake()
        return changed

    def requeue(self, identifiers: Sequence[str]) -> None:
        """Records marked delivered that the store turned out not to hold: deliver them again."""
        self._update("UPDATE records SET state = 'queued', commit_sha = NULL, delivered_at = NULL WHERE id = ?", [(i,) for i in identifiers])

    def recently_delivered(self, limit: int) -> list[Record]:
        """The records most recently marked delivered (not held), newest first."""
        rows = self._read(
            "SELECT document FROM records WHERE delivered_at IS NOT NULL AND state = 'delivered' ORDER BY delivered_at DESC LIMIT ?", (limit,)
        )
        return [Record.from_stored(bytes(document)) for (document,) in rows]

    def last_delivered_at(self) -> float | None:
        rows = self._read("SELECT max(delivered_at) FROM records WHERE delivered_at IS NOT NULL")
        return float(rows[0][0]) if rows and rows[0][0] is not None else None

    def open_pulls(self, limit: int = 1000) -> list[int]:
        """Pull request numbers the journal still believes open."""
        rows = self._read("SELECT DISTINCT pull_number FROM records WHERE pull_state = 'open' ORDER BY pull_number LIMIT ?", (limit,))
        return [int(row[0]) for row in rows]

    def set_pull_states(self, states: dict[int, str]) -> None:
        """Record what the store said about pull requests (merged, closed)."""
        self._update("UPDATE records SET pull_state = ? WHERE pull_number = ? AND pull_state = 'open'", [(state, n) for n, state in states.items()])

    def failures(self) -> tuple[int, str | None]:
        """How many records failed, and the reason of the latest."""
        rows = self._read("SELECT count(*), (SELECT last_error FROM records WHERE state = 'failed' ORDER BY seq DESC LIMIT 1) FROM records WHERE state = 'failed'")
        return int(rows[0][0]), rows[0][1]

    def set_delivery_status(self, status: dict[str, Any]) -> None:
        """What the delivering process last knew of the store (see DeliveryWorker.publish)."""
        self._update(
            "INSERT INTO status (name, value, written_at) VALUES ('delivery', ?, ?)"
            " ON CONFLICT(name) DO UPDATE SET value = excluded.value, written_at = excluded.written_at",
            [(json.dumps(status), time.time())],
        )

    def delivery_status(self) -> tuple[dict[str, Any], float] | None:
        """The last published delivery status and how many seconds ago it was written."""
        rows = self._read("SELECT value, written_at FROM status WHERE name = 'delivery'")
        if not rows:
            return None
        value: dict[str, Any] = json.loads(rows[0][0])
        return value, max(0.0, time.time() - rows[0][1])

    def _update(self, sql: str, rows: list[tuple[Any, ...]]) -> int:
        if self._reader is None:
            raise JournalError("the journal is closed")
        with self._read_lock:
            try:
                self._reader.execute("BEGIN IMMEDIATE")
                changed = self._reader.executemany(sql, rows).rowcount
                self._reader.execute("COMMIT")
                return max(0, changed)
            except sqlite3.Error as exc:
                if self._reader.in_transaction:
                    self._reader.execute("ROLLBACK")
                raise JournalUnavailable(f"the journal cannot record delivery ({exc.__class__.__name__})") from exc
