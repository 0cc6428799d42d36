"""The frame tally in a PostgreSQL journal's database, for receivers on several machines.

The same statements as SQLite's (`receiver.volunteers.frames.STATEMENTS`), in psycopg's
parameter style, with one difference: reading a frame's row before its labels
locks the row (`FOR UPDATE`). Two receivers admitting labels of one frame at
once then take turns, and the second re-judges the frame with the first's
label in view, where without the lock each would count only its own.
Syncing the tables with the configured videos holds an advisory lock (its key
drawn from the deployment's secret, `receiver.journal.postgres.lock_key`), so
receivers starting together do it one after another; each admitting
transaction holds the same lock shared, so a label of a video being added is
admitted either before the sync (which then counts it from the records) or
after it (and counts itself), never unseen by both.

psycopg is imported when this module is: only a receiver configured with a
`postgresql://` journal imports it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from receiver.journal.connector import JournalUnavailable
from receiver.journal.postgres import describe, lock_key, lock_secret
from receiver.volunteers.frames import STATEMENTS

__all__ = ["PostgresTally", "SYNC_LOCK"]

#: Serialises syncing the tally with the configured videos (the name of its advisory lock's key); admissions hold it shared.
SYNC_LOCK = "frame tally sync"

_PARAMETER = re.compile(r"(?<![:\w]):([a-z_]+)\b")


def _in_psycopg_style(sql: str) -> str:
    return _PARAMETER.sub(r"%(\1)s", sql)


_STATEMENTS = {name: _in_psycopg_style(sql) for name, sql in STATEMENTS.items()}
_STATEMENTS["frame"] += " FOR UPDATE"


class PostgresTally:
    """A small pool of its own for the tally's reads and syncs; admissions run its statements on the journal's connection."""

    def __init__(self, url: str, *, name: str = "receiver") -> None:
        self.url = url
        self._sync_key = 0
        self._pool: ConnectionPool[psycopg.Connection[tuple[Any, ...]]] = ConnectionPool(
            url,
            min_size=1,
            max_size=4,
            open=False,
            check=ConnectionPool.check_connection,
            kwargs={"connect_timeout": 5, "application_name": f"{name} frames", "autocommit": True},
            name=f"{name}-frames",
            timeout=5.0,
        )

    def open(self) -> None:
        try:
            self._pool.open(wait=True, timeout=5.0)
        except PoolTimeout as exc:
            self._pool.close()
            raise JournalUnavailable(f"the frame tally's database ({describe(self.url)}) cannot be reached") from exc
        try:
            with self._pool.connection() as connection:
                self._sync_key = lock_key(lock_secret(connection), SYNC_LOCK)
        except (psycopg.Error, PoolTimeout) as exc:
            self._pool.close()
            raise JournalUnavailable(f"the frame tally's lock secret cannot be read ({exc.__class__.__name__})") from exc

    def statement(self, name: str) -> str:
        if name == "admitting":
            return f"SELECT pg_advisory_xact_lock_shared({self._sync_key})"
        return _STATEMENTS[name]

    def read(self, name: str, parameters: Mapping[str, Any]) -> list[Any]:
        try:
            with self._pool.connection() as connection:
                return list(connection.execute(_STATEMENTS[name], dict(parameters)).fetchall())
        except (psycopg.Error, PoolTimeout) as exc:
            raise JournalUnavailable(f"the frame tally cannot be read right now ({exc.__class__.__name__})") from exc

    def transaction(self) -> contextlib.AbstractContextManager[psycopg.Connection[tuple[Any, ...]]]:
        return self._holding("pg_advisory_xact_lock", "be brought up to date")

    def judging(self) -> contextlib.AbstractContextManager[psycopg.Connection[tuple[Any, ...]]]:
        # Shared, as admissions hold it: judging runs beside them and waits only for a sync.
        return self._holding("pg_advisory_xact_lock_shared", "judge frames")

    @contextlib.contextmanager
    def _holding(self, lock: str, what: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """A transaction holding the sync lock the way `lock` (a PostgreSQL advisory-lock function) takes it."""
        try:
            with self._pool.connection() as connection, connection.transaction():
                connection.execute(f"SELECT {lock}(%s)", (self._sync_key,))
                yield connection
        except (psycopg.Error, PoolTimeout) as exc:
            raise JournalUnavailable(f"the frame tally cannot {what} right now ({exc.__class__.__name__})") from exc

    def close(self) -> None:
        self._pool.close()
