"""The limits' state, shared by every process of one receiver: an SQLite file beside the journal.

(With a PostgreSQL journal, receiver.access.postgres keeps the same state in
the database instead, for receivers on several machines; both run `check`.)

`receiver serve --workers N` runs N processes on one port; limits kept in
each process's memory would let a client through N times. The buckets and the
ceiling's window therefore live in one small SQLite database
(`<journal>.limits.sqlite`), and each check is one `BEGIN IMMEDIATE`
read-modify-write, so two processes can never both spend a client's last
token.

Why SQLite and not shared memory: uvicorn starts its worker processes itself
(spawned, not forked from a parent that could hand them a segment), a
restarted worker must find the same state, and the journal already puts an
SQLite file on this disk. Why its own file: a limit check must not wait behind
the journal's group commit, and limits are not data. So it runs with WAL and
`synchronous=NORMAL`: a commit does not fsync (only the occasional checkpoint
does), and a power cut may forget the last few checks, which only forgives a
few requests.

What it will not do: decide. The decisions are `receiver.access.ratelimit`'s pure
functions; this module reads their inputs and keeps their outputs. If the
file cannot be used (disk full, locked for too long), requests are admitted
and a warning is logged: a broken limiter must not turn volunteers away.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from receiver.access.ratelimit import HOUR, Bucket, RateLimit, ceiling_wait, take
from receiver.journal.walmode import open_wal

__all__ = ["Limiter", "Limits", "Refusal", "SharedLimits", "check", "Run"]

log = logging.getLogger("receiver.limits")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (key TEXT PRIMARY KEY, tokens REAL NOT NULL, updated REAL NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS buckets_by_age ON buckets (updated);
CREATE TABLE IF NOT EXISTS admitted (at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS admitted_by_time ON admitted (at);
"""

#: Admissions stamped further ahead of the clock than this come from before a restart of the machine's clock.
_CLOCK_SLACK = 60.0
#: How long a process waits for another one's check before giving up (and admitting).
_BUSY_SECONDS = 2.0


#: Runs one statement (`?` placeholders) in the transaction of a check and returns its rows.
Run = Callable[[str, Sequence[object]], list[tuple[Any, ...]]]


@dataclass(frozen=True)
class Refusal:
    """Why a tokenless submission is refused now, and how many seconds until it would not be."""

    #: `client`: this client's limit; `ceiling`: every client's hourly ceiling; `busy`: the check could not get its turn in time.
    reason: Literal["client", "ceiling", "busy"]
    wait: float


class Limits(Protocol):
    """Where the limits' state lives: this file for one machine, PostgreSQL (receiver.access.postgres) for several."""

    #: Whether a check is quick enough for the event loop (a local file) or wants a thread (a round trip).
    local: bool

    @property
    def active(self) -> bool: ...

    def open(self) -> object: ...

    def close(self) -> None: ...

    def admit(self, key: str, now: float) -> Refusal | None: ...


def check(run: Run, key: str, now: float, per_client: RateLimit | None, per_hour: int, *, prune: bool) -> Refusal | None:
    """Count one tokenless submission from `key` at `now` against the stored state, inside the caller's transaction.

    The caller makes the transaction exclusive (no two checks interleave), so
    two processes can never both spend a client's last token or the hour's last slot.
    """
    if per_client is not None:
        rows = run("SELECT tokens, updated FROM buckets WHERE key = ?", (key,))
        bucket, wait = take(Bucket(*rows[0]) if rows else None, now, per_client)
        run(
            "INSERT INTO buckets (key, tokens, updated) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, updated = excluded.updated",
            (key, bucket.tokens, bucket.updated),
        )
        if prune:
            # Buckets untouched for a whole refill are full again, as a client never seen.
            run("DELETE FROM buckets WHERE updated < ?", (now - per_client.seconds,))
        if wait is not None:
            return Refusal("client", wait)
    if per_hour > 0:
        run("DELETE FROM admitted WHERE at <= ?", (now - HOUR,))
        run("DELETE FROM admitted WHERE at > ?", (now + _CLOCK_SLACK,))
        ((count,),) = run("SELECT count(*) FROM admitted", ())
        freeing_at = None
        if count >= per_hour:
            ((freeing_at,),) = run("SELECT at FROM admitted ORDER BY at LIMIT 1 OFFSET ?", (count - per_hour,))
        wait = ceiling_wait(count, freeing_at, now, per_hour)
        if wait is not None:
            return Refusal("ceiling", wait)
        run("INSERT INTO admitted (at) VALUES (?)", (now,))
    return None


def _sqlite_run(connection: sqlite3.Connection) -> Run:
    def run(statement: str, parameters: Sequence[object]) -> list[tuple[Any, ...]]:
        return connection.execute(statement, parameters).fetchall()

    return run


class Limiter:
    """What every store of the limits' state decides alike: whether any limit is on, and when to forget idle buckets."""

    def __init__(self, *, per_client: RateLimit | None, per_hour: int, prune_every: float) -> None:
        self.per_client = per_client
        self.per_hour = per_hour
        self.prune_every = prune_every
        self._pruned_at: float | None = None

    @property
    def active(self) -> bool:
        return self.per_client is not None or self.per_hour > 0

    def _prune_due(self, now: float) -> bool:
        if self._pruned_at is not None and 0.0 <= now - self._pruned_at < self.prune_every:
            return False
        self._pruned_at = now
        return True


class SharedLimits(Limiter):
    """The per-client buckets and the hourly ceiling of one receiver, checked in one transaction per request."""

    local = True

    def __init__(
        self,
        path: Path,
        *,
        per_client: RateLimit | None,
        per_hour: int = 0,
        prune_every: float = 60.0,
        busy_seconds: float = _BUSY_SECONDS,
    ) -> None:
        super().__init__(per_client=per_client, per_hour=per_hour, prune_every=prune_every)
        self.path = path
        self.busy_seconds = busy_seconds
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._warned_at: float | None = None

    def open(self) -> SharedLimits:
        """Create or join the file; a receiver with no limits leaves no file behind."""
        if not self.active:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = open_wal(self.path, busy_seconds=self.busy_seconds, synchronous="NORMAL")
        # Several processes start at once: create the tables under the write lock, one statement at a time.
        connection.execute("BEGIN IMMEDIATE")
        for statement in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
            connection.execute(statement)
        connection.execute("COMMIT")
        self._connection = connection
        return self

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def admit(self, key: str, now: float) -> Refusal | None:
        """Count one tokenless submission from client `key` at `now`: None if it may pass, else why not."""
        if not self.active:
            return None
        assert self._connection is not None, "open() the limits first"
        connection = self._connection
        with self._lock:
            try:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    refusal = check(_sqlite_run(connection), key, now, self.per_client, self.per_hour, prune=self._prune_due(now))
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
            except sqlite3.Error as exc:
                self._warn(now, exc)
                return None
        return refusal

    def _warn(self, now: float, exc: sqlite3.Error) -> None:
        if self._warned_at is None or not 0.0 <= now - self._warned_at < 60.0:
            self._warned_at = now
            log.warning("limits not checked, submissions admitted: the limits file cannot be used (%s: %s)", exc.__class__.__name__, exc)

    def buckets(self) -> int:
        """How many clients are tracked (for tests and `doctor`-style reports)."""
        assert self._connection is not None
        with self._lock:
            (count,) = self._connection.execute("SELECT count(*) FROM buckets").fetchone()
        return int(count)
