"""The limits' state in PostgreSQL: one set of buckets and one hourly ceiling for every receiver on the journal's database.

Receivers on several machines behind one proxy must not each allow a client
its limit, so with `RECEIVER_JOURNAL=postgresql://…` the buckets and the
ceiling's window live in two small tables of the journal's database. Each
check is one transaction that holds a transaction-scoped advisory lock, so
checks from every receiver take turns, and reads the time from the
database's clock, so receivers whose clocks disagree still share one hour.

The advisory locks' keys are drawn from the deployment's secret
(`receiver.journal.postgres.lock_key`), so a role that may only connect cannot
hold the checks' lock to let a limited client through or stall everyone.

The decision is `receiver.access.limitstate.check`, the same one the SQLite file
runs. A check that waits longer than `busy_seconds` for its turn (a lock or
statement timeout) refuses the submission with a short wait: a limit must not
give way to a wait. A limiter whose database cannot be reached admits and logs
a warning, as the SQLite file does: a broken limiter must not turn volunteers
away, and a database that is gone refuses the submission anyway.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from receiver.access.limitstate import Limiter, Refusal, check
from receiver.access.ratelimit import RateLimit
from receiver.journal.connector import JournalUnavailable
from receiver.journal.postgres import lock_key, lock_secret, set_lock_timeout

__all__ = ["PostgresLimits"]

log = logging.getLogger("receiver.limits")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (key TEXT PRIMARY KEY, tokens DOUBLE PRECISION NOT NULL, updated DOUBLE PRECISION NOT NULL);
CREATE INDEX IF NOT EXISTS buckets_by_age ON buckets (updated);
CREATE TABLE IF NOT EXISTS admitted (at DOUBLE PRECISION NOT NULL);
CREATE INDEX IF NOT EXISTS admitted_by_time ON admitted (at)
"""

#: The names of the advisory locks' keys: one orders the checks, one the creation of the tables.
_CHECK_LOCK = "limits check"
_SCHEMA_LOCK = "limits schema"
#: A check that timed out waiting for its turn: what it does not know cannot let anyone past a limit.
_TIMED_OUT = (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled)
#: After the database could not be used, checks admit without trying again for this long.
_RETRY_AFTER = 5.0


class PostgresLimits(Limiter):
    """The per-client buckets and the hourly ceiling of every receiver on one PostgreSQL journal."""

    #: A check is a round trip to the database: the submit handler runs it off the event loop.
    local = False

    def __init__(
        self,
        url: str,
        *,
        per_client: RateLimit | None,
        per_hour: int = 0,
        prune_every: float = 60.0,
        busy_seconds: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(per_client=per_client, per_hour=per_hour, prune_every=prune_every)
        self.url = url
        self.busy_seconds = busy_seconds
        self._monotonic = monotonic
        self._connection: psycopg.Connection[tuple[Any, ...]] | None = None
        self._check_key = 0
        self._lock = threading.Lock()
        self._failed_at: float | None = None

    def open(self) -> PostgresLimits:
        """Create the tables if no receiver has yet; a database that cannot be reached now is tried again at the next check."""
        if self.active:
            with self._lock:
                try:
                    self._connected()
                except (psycopg.Error, JournalUnavailable) as exc:
                    self._failed(exc)
        return self

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def admit(self, key: str, now: float | None = None) -> Refusal | None:
        """Count one tokenless submission from client `key`: None if it may pass, else why not.

        `now` is ignored: every receiver reads the database's clock instead.
        """
        if not self.active:
            return None
        with self._lock:
            if self._failed_at is not None and 0.0 <= self._monotonic() - self._failed_at < _RETRY_AFTER:
                return None
            try:
                connection = self._connected()
                with connection.transaction():
                    connection.execute("SELECT pg_advisory_xact_lock(%s)", (self._check_key,))
                    row = connection.execute("SELECT extract(epoch FROM clock_timestamp())::float8").fetchone()
                    assert row is not None
                    database_now = float(row[0])
                    refusal = check(_run(connection), key, database_now, self.per_client, self.per_hour, prune=self._prune_due(database_now))
            except _TIMED_OUT:
                log.warning("a limit check waited more than %.1f s for its turn; the submission is refused, to be sent again", self.busy_seconds)
                return Refusal("busy", max(1.0, self.busy_seconds))
            except (psycopg.Error, JournalUnavailable) as exc:
                self._failed(exc)
                return None
        self._failed_at = None
        return refusal

    def buckets(self) -> int:
        """How many clients are tracked (for tests and reports)."""
        with self._lock:
            row = self._connected().execute("SELECT count(*) FROM buckets").fetchone()
        return int(row[0]) if row else 0

    def _connected(self) -> psycopg.Connection[tuple[Any, ...]]:
        if self._connection is not None and not self._connection.closed:
            return self._connection
        timeout = max(1, round(self.busy_seconds))
        connection = psycopg.connect(self.url, autocommit=True, connect_timeout=timeout, application_name="receiver limits")
        try:
            # A check waits at most this long for the others, then refuses.
            set_lock_timeout(connection, self.busy_seconds)
            connection.execute(f"SET statement_timeout = {int(self.busy_seconds * 1000) * 2}")
            secret = lock_secret(connection)
            with connection.transaction():
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(secret, _SCHEMA_LOCK),))
                for statement in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
                    connection.execute(statement)
        except BaseException:
            connection.close()
            raise
        self._check_key = lock_key(secret, _CHECK_LOCK)
        self._connection = connection
        return connection

    def _failed(self, exc: psycopg.Error | JournalUnavailable) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self._failed_at = self._monotonic()
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        log.warning("limits not checked, submissions admitted for %.0f s: the PostgreSQL journal cannot be used for them (%s)", _RETRY_AFTER, reason)


def _run(connection: psycopg.Connection[tuple[Any, ...]]) -> Callable[[str, Sequence[object]], list[tuple[Any, ...]]]:
    def run(statement: str, parameters: Sequence[object]) -> list[tuple[Any, ...]]:
        cursor = connection.execute(statement.replace("?", "%s"), parameters)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description is not None else []

    return run
