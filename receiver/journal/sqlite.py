"""The journal on SQLite, the embedded default: one file, WAL, fsynced at every commit.

One machine, any number of receiver processes: SQLite's write lock orders
them, and the flock `DeliveryLease` (receiver/delivery/lease.py) lets only one of
them deliver, so `pending` reads the queue without claiming it. Admissions
go through one writer connection (the journal's writer thread); reads and
delivery marks share a second one behind a lock. The tables and their
upgrades are in `receiver.journal.schema`; the frame tally's admit hook
(receiver/volunteers/frames.py) runs inside the admitting transaction.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from receiver.contract.records import Record
from receiver.journal import schema
from receiver.journal.connector import NEW_COLUMNS, AdmitHook, JournalError, JournalUnavailable, Parameters, Row, admissions, new_values
from receiver.journal.walmode import open_wal

__all__ = ["SqliteConnector", "AdmitHook", "QUERIES"]

log = logging.getLogger("receiver.journal")

_ENTRY = f"SELECT {schema.COLUMNS} FROM records"

QUERIES: dict[str, str] = {
    "get": f"{_ENTRY} WHERE id = :id",
    "document": "SELECT document FROM records WHERE id = :id",
    "frame_records": "SELECT document FROM records WHERE video_url = :video_url AND frame_index = :frame_index ORDER BY seq LIMIT :limit",
    "count_all": "SELECT count(*) FROM records",
    "count_video": "SELECT count(*) FROM records WHERE video_url = :video_url",
    "page_all": f"{_ENTRY} ORDER BY seq LIMIT :limit OFFSET :offset",
    "page_video": f"{_ENTRY} WHERE video_url = :video_url ORDER BY seq LIMIT :limit OFFSET :offset",
    "per_hour": "SELECT substr(received_at, 1, 13) AS hour, count(*) FROM records WHERE received_at >= :since GROUP BY hour ORDER BY hour",
    "latest_records": "SELECT document FROM records ORDER BY seq DESC LIMIT :limit",
    "recent_pulls": (
        "SELECT pull_number, max(pull_url), max(pull_state) FROM records WHERE pull_number IS NOT NULL"
        " GROUP BY pull_number ORDER BY pull_number DESC LIMIT :limit"
    ),
    "counts": "SELECT state, count(*) FROM records GROUP BY state",
    "oldest_queued": "SELECT received_at FROM records WHERE state = 'queued' ORDER BY seq LIMIT 1",
    # One deliverer per file (the flock lease): reading the queue is claiming it.
    "pending": (
        "SELECT document FROM records WHERE state = 'queued' AND (not_before IS NULL OR not_before <= :now)"
        " ORDER BY seq LIMIT :limit"
    ),
    "next_due": "SELECT min(not_before) FROM records WHERE state = 'queued' AND not_before IS NOT NULL",
    "recently_delivered": (
        "SELECT document FROM records WHERE delivered_at IS NOT NULL AND state = 'delivered' ORDER BY delivered_at DESC LIMIT :limit"
    ),
    "last_delivered_at": "SELECT max(delivered_at) FROM records WHERE delivered_at IS NOT NULL",
    "open_pulls": "SELECT DISTINCT pull_number FROM records WHERE pull_state = 'open' ORDER BY pull_number LIMIT :limit",
    "failures": (
        "SELECT count(*), (SELECT last_error FROM records WHERE state = 'failed' ORDER BY seq DESC LIMIT 1)"
        " FROM records WHERE state = 'failed'"
    ),
    "delivery_status": "SELECT value, written_at FROM status WHERE name = 'delivery'",
    "state": "SELECT state FROM records WHERE id = :id",
    "mark_delivered": (
        # A store that keeps a record for review (a branch not merged) reports no commit: 'held'.
        "UPDATE records SET state = CASE WHEN :held THEN 'held' ELSE 'delivered' END,"
        " commit_sha = :commit, path = :path, branch = :branch, pull_number = :pull_number, pull_url = :pull_url,"
        " pull_state = CASE WHEN :pull_number IS NULL THEN NULL ELSE COALESCE(pull_state, 'open') END,"
        " attempts = attempts + 1, last_error = NULL, not_before = NULL, delivered_at = :now WHERE id = :id"
    ),
    "mark_attempt": "UPDATE records SET attempts = attempts + 1, last_error = :error WHERE id = :id",
    "mark_refused": (
        "UPDATE records SET attempts = attempts + 1, refusals = refusals + 1, last_error = :reason,"
        " state = CASE WHEN refusals + 1 >= :max_refusals THEN 'failed' ELSE state END,"
        " not_before = CASE WHEN refusals + 1 >= :max_refusals THEN NULL ELSE :retry_at END WHERE id = :id AND state = 'queued'"
    ),
    "retry_one": (
        "UPDATE records SET state = 'queued', refusals = 0, not_before = NULL WHERE id = :id AND state IN ('failed', 'held', 'queued')"
    ),
    "retry_failed": "UPDATE records SET state = 'queued', refusals = 0, not_before = NULL WHERE state = 'failed'",
    "requeue": "UPDATE records SET state = 'queued', commit_sha = NULL, delivered_at = NULL WHERE id = :id",
    "set_pull_states": "UPDATE records SET pull_state = :state WHERE pull_number = :number AND pull_state = 'open'",
    "set_delivery_status": (
        "INSERT INTO status (name, value, written_at) VALUES ('delivery', :value, :written_at)"
        " ON CONFLICT(name) DO UPDATE SET value = excluded.value, written_at = excluded.written_at"
    ),
}


#: How often the listener looks whether another process committed (see `SqliteConnector.listen`).
_LOOK_EVERY = 0.05

#: Rows per transaction of a change (delivery marks, retries).
_ROWS_PER_CHANGE = 64

#: Rows per INSERT statement: 7 parameters each stays under the 999 that any SQLite build takes.
_ROWS_PER_INSERT = 128


def _insert(connection: sqlite3.Connection, records: Sequence[Record]) -> tuple[set[str], dict[str, Row]]:
    """Insert records with distinct ids, skipping ids already kept: the ids created, and the rows of the others."""
    created: set[str] = set()
    kept: dict[str, Row] = {}
    for start in range(0, len(records), _ROWS_PER_INSERT):
        chunk = records[start : start + _ROWS_PER_INSERT]
        before = connection.total_changes
        connection.execute(_insert_sql(len(chunk)), [value for record in chunk for value in new_values(record)])
        inserted = connection.total_changes - before
        if inserted == len(chunk):
            created.update(record.id for record in chunk)
            continue
        # Some ids were kept already. Every row kept before this statement has a
        # lower sequence number than any it inserted (AUTOINCREMENT never reuses one).
        rows = sorted(connection.execute(_rows_sql(len(chunk)), [record.id for record in chunk]), key=lambda row: row[-1])
        for position, (*row, _seq) in enumerate(rows):
            if position >= len(rows) - inserted:
                created.add(row[0])
            else:
                kept[row[0]] = tuple(row)
    return created, kept


def _insert_sql(count: int) -> str:
    rows = ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * count)
    return f"INSERT INTO records ({NEW_COLUMNS}) VALUES {rows} ON CONFLICT(id) DO NOTHING"


def _rows_sql(count: int) -> str:
    return f"SELECT {schema.COLUMNS}, seq FROM records WHERE id IN ({', '.join('?' * count)})"


def connect(path: Path) -> sqlite3.Connection:
    """A connection to the journal file as every user of it needs one: WAL, fsync at each commit, patient when busy."""
    return open_wal(path, busy_seconds=30.0, synchronous="FULL")


class _Checkpoints:
    """A thread that folds the write-ahead log back into the journal file every `every` seconds.

    SQLite would otherwise do it inside whichever commit crosses a thousand
    pages: a 10-40 ms stall for the requests waiting on that commit. A passive
    checkpoint never blocks writers or readers, but under steady admissions it
    never catches the last commit either, and SQLite starts the log over only
    once everything in it is folded back: the log would grow without end, and
    every commit would pay for the file growing. So once the log passes
    `restart_after` pages, the thread takes a write turn and folds back the
    little a passive pass left (a restart checkpoint), and the next commit
    writes the log from its start again.
    """

    def __init__(self, connection: sqlite3.Connection, turns: _WriteTurns, every: float = 0.25, restart_after: int = 1000) -> None:
        self._connection = connection
        self._turns = turns
        self._every = every
        self._restart_after = restart_after
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="journal-checkpoints", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                _, logged, _ = self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if logged >= self._restart_after:
                    with self._turns:
                        self._connection.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            except sqlite3.Error as exc:
                log.warning("the journal's log could not be folded back into its file this time: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        try:
            self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            pass  # the next open recovers from the log all the same
        self._connection.close()


class _CommitWatch:
    """Whether another connection has committed to the file since the last look.

    SQLite changes `PRAGMA data_version` on a connection whenever another one
    has committed; reading it touches only the shared WAL index, so looking
    every 50 ms costs next to nothing. The first reading is taken when the
    journal opens, so nothing committed after that is missed.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._seen = self._version()

    def _version(self) -> int:
        return int(self._connection.execute("PRAGMA data_version").fetchone()[0])

    def changed(self) -> bool:
        version = self._version()
        changed, self._seen = version != self._seen, version
        return changed

    def close(self) -> None:
        self._connection.close()


class _WriteTurns:
    """Whose turn it is to write the journal file, among this process's threads and every other process's.

    SQLite's own lock would order them too, but a writer that finds it taken
    sleeps in the busy handler (1 ms, then longer) however soon it frees; a
    `flock` on a file beside the journal wakes the next writer the moment the
    last one is done. Taken before `BEGIN` and never while a write is open.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._threads = threading.Lock()
        self._fd: int | None = None

    def open(self) -> None:
        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> None:
        self._threads.acquire()
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._threads.release()
                raise

    def __exit__(self, *exc_info: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()


class SqliteConnector:
    """The journal's file: a writer connection for admissions, a locked one for everything else."""

    engine = "sqlite"

    def __init__(self, path: Path, *, on_admit: AdmitHook | None = None) -> None:
        self.path = path
        self.on_admit = on_admit
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._checkpoints: _Checkpoints | None = None
        self._commits: _CommitWatch | None = None
        self._lock = threading.Lock()
        # Held for every write transaction: admissions and delivery marks, of this
        # process and of the others on this file, take turns here rather than in SQLite's busy handler.
        self._write_lock = _WriteTurns(path.with_name(path.name + ".write.lock"))

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            setup = connect(self.path)
            schema.create(setup)
            setup.close()
            self._writer = connect(self.path)
            self._reader = connect(self.path)
            # Copying the log back into the file (and fsyncing it) is left to a
            # thread of its own, so no commit an answer waits on ever does it.
            for connection in (self._writer, self._reader):
                connection.execute("PRAGMA wal_autocheckpoint=0")
            self._write_lock.open()
            self._checkpoints = _Checkpoints(connect(self.path), self._write_lock)
            self._commits = _CommitWatch(self.path)
        except OSError as exc:
            raise JournalUnavailable(f"the journal's lock file beside {self.path} cannot be opened ({exc.strerror})") from exc
        except sqlite3.Error as exc:
            raise JournalUnavailable(f"the journal cannot be opened ({exc.__class__.__name__})") from exc

    def close(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.stop()
            self._checkpoints = None
        if self._commits is not None:
            self._commits.close()
            self._commits = None
        for connection in (self._writer, self._reader):
            if connection is not None:
                connection.close()
        self._writer = self._reader = None
        self._write_lock.close()

    def admit(self, records: Sequence[Record]) -> list[tuple[Row, bool]]:
        connection = self._writer
        if connection is None:
            raise JournalError("the journal is closed")
        fresh = list({record.id: record for record in records}.values())
        with self._write_lock:
            try:
                if self.on_admit is None:
                    # Each INSERT is its own transaction, fsynced: one statement per
                    # group, so the writer takes the GIL back once, not per record.
                    created, kept = _insert(connection, fresh)
                else:
                    connection.execute("BEGIN IMMEDIATE")
                    created, kept = _insert(connection, fresh)
                    if created:
                        self.on_admit(connection, [record for record in fresh if record.id in created])
                    connection.execute("COMMIT")
            except sqlite3.Error as exc:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise JournalUnavailable(f"the journal cannot keep new submissions right now ({exc.__class__.__name__})") from exc
        return admissions(records, created, kept)

    def fetch(self, query: str, parameters: Parameters) -> list[Row]:
        if self._reader is None:
            raise JournalError("the journal is closed")
        with self._lock:
            try:
                return self._reader.execute(QUERIES[query], dict(parameters)).fetchall()
            except sqlite3.Error as exc:
                raise JournalUnavailable(f"the journal cannot be read ({exc.__class__.__name__})") from exc

    def change(self, query: str, rows: Sequence[Parameters]) -> int:
        if self._reader is None:
            raise JournalError("the journal is closed")
        changed = 0
        # Every row's change stands alone, so a long list commits in slices:
        # admissions wait for one slice, not for a whole batch of delivery marks.
        for start in range(0, len(rows), _ROWS_PER_CHANGE):
            with self._lock, self._write_lock:
                try:
                    self._reader.execute("BEGIN IMMEDIATE")
                    cursor = self._reader.executemany(QUERIES[query], [dict(r) for r in rows[start : start + _ROWS_PER_CHANGE]])
                    self._reader.execute("COMMIT")
                except sqlite3.Error as exc:
                    if self._reader.in_transaction:
                        self._reader.execute("ROLLBACK")
                    raise JournalUnavailable(f"the journal cannot record delivery ({exc.__class__.__name__})") from exc
            changed += max(0, cursor.rowcount)
        return changed

    def listen(self, wake: Callable[[], None], stop: threading.Event) -> None:
        """Wake the deliverer when another process commits to the file, as a PostgreSQL NOTIFY would."""
        watch = self._commits
        while watch is not None and not stop.wait(_LOOK_EVERY):
            try:
                if watch.changed():
                    wake()
            except sqlite3.Error as exc:
                log.warning("the journal's listener cannot read %s (%s); looking again in a second", self.path.name, exc.__class__.__name__)
                wake()  # it may have missed news meanwhile
                stop.wait(1.0)

    def announce(self) -> None:
        """Nothing to announce: every commit to the file is seen by the deliverer's listener."""
