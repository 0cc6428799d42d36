"""Opening an SQLite file in WAL mode when several processes open it at once.

`receiver serve` starts its intake processes and its deliverer together, and
each opens the journal (and the limits' file) as it starts. Switching a file
to WAL needs it alone for a moment; two connections that both read it first
and then ask for that would wait on each other forever, so SQLite answers one
of them "database is locked" at once, without the busy handler's wait. The
switch is therefore tried again, briefly, until the file is in WAL mode
(whoever switched it) or `busy_seconds` have passed.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["open_wal"]

#: The longest pause between two tries; a switch takes a few milliseconds.
_MOST_PAUSE = 0.05


def open_wal(
    path: Path,
    *,
    busy_seconds: float,
    synchronous: str,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] = time.sleep,
) -> sqlite3.Connection:
    """A connection to `path` in WAL mode, patient for `busy_seconds` when busy; raises `sqlite3.Error` as connecting does."""
    connection = sqlite3.connect(path, timeout=busy_seconds, isolation_level=None, check_same_thread=False)
    try:
        deadline = clock() + busy_seconds
        pause = 0.001
        while True:
            try:
                connection.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                if not _busy(exc) or clock() >= deadline:
                    raise
            sleep(pause)
            pause = min(_MOST_PAUSE, pause * 2)
        connection.execute(f"PRAGMA synchronous={synchronous}")
        connection.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
    except BaseException:
        connection.close()
        raise
    return connection


def _busy(exc: sqlite3.OperationalError) -> bool:
    # Extended codes (SQLITE_BUSY_RECOVERY, _SNAPSHOT, _TIMEOUT) keep SQLITE_BUSY in their low byte.
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY
