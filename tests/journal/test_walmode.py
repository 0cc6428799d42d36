"""Opening SQLite files in WAL mode from processes that start together, as `receiver serve` starts them."""

from __future__ import annotations

import multiprocessing
import sqlite3
import traceback
from collections.abc import Callable
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from receiver.access.limitstate import SharedLimits
from receiver.journal.sqlite import SqliteConnector
from receiver.journal.walmode import open_wal
from receiver.settings import RateLimit
from receiver.volunteers.frames import SqliteTally

#: Before WAL opening was retried, about one round in three had an opener fail with "database is locked".
ROUNDS = 25
OPENERS = 3


def _journal(path: Path) -> None:
    connector = SqliteConnector(path)
    connector.open()
    connector.close()


def _tally(path: Path) -> None:
    tally = SqliteTally(path)
    tally.open()
    tally.close()


def _limits(path: Path) -> None:
    SharedLimits(path, per_client=RateLimit(5, 60.0)).open().close()


def _open_when_told(opener: Callable[[Path], None], path: Path, go: Event, failures: multiprocessing.Queue[str]) -> None:
    go.wait()
    try:
        opener(path)
    except Exception:
        failures.put(traceback.format_exc())


def _open_together(tmp_path: Path, openers: list[Callable[[Path], None]], name: str) -> list[str]:
    """Every round, fresh file, all openers released at once; the tracebacks of those that failed."""
    context = multiprocessing.get_context("fork")
    failures: multiprocessing.Queue[str] = context.Queue()
    for round_ in range(ROUNDS):
        path = tmp_path / f"round-{round_}" / name
        path.parent.mkdir()
        go = context.Event()
        processes = [context.Process(target=_open_when_told, args=(opener, path, go, failures)) for opener in openers]
        for process in processes:
            process.start()
        go.set()
        for process in processes:
            process.join(60)
            assert process.exitcode == 0
    found = []
    while not failures.empty():
        found.append(failures.get(timeout=5))
    return found


def test_a_fresh_journal_opened_by_several_processes_at_once_opens_in_each(tmp_path: Path) -> None:
    """Intake processes and the deliverer open a journal that does not exist yet, all at the same moment."""
    assert _open_together(tmp_path, [_journal] * OPENERS, "journal.sqlite3") == []


def test_the_frame_tally_and_the_journal_open_one_fresh_file_together(tmp_path: Path) -> None:
    """An intake process opens the tally in the journal's file while the deliverer opens the journal."""
    assert _open_together(tmp_path, [_tally, _journal, _tally], "journal.sqlite3") == []


def test_fresh_limits_opened_by_several_intake_processes_at_once_open_in_each(tmp_path: Path) -> None:
    """RECEIVER_WORKERS intake processes open the limits' file together."""
    assert _open_together(tmp_path, [_limits] * OPENERS, "journal.sqlite3.limits.sqlite") == []


class _Clock:
    def __init__(self, on_sleep: Callable[[int], None] = lambda count: None) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.on_sleep = on_sleep

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.on_sleep(len(self.sleeps))


def _locked(path: Path) -> sqlite3.Connection:
    """Another connection holding the file exclusively, so switching it to WAL is refused as busy."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def test_a_busy_switch_to_wal_is_tried_again_until_the_file_is_free(tmp_path: Path) -> None:
    path = tmp_path / "file.sqlite3"
    holder = _locked(path)
    clock = _Clock(on_sleep=lambda count: holder.execute("COMMIT") if count == 2 else None)
    connection = open_wal(path, busy_seconds=0.02, synchronous="NORMAL", clock=lambda: clock.now, sleep=clock.sleep)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA synchronous").fetchone()[0] == 1
        assert clock.sleeps[:2] == [0.001, 0.002]
    finally:
        connection.close()
        holder.close()


def test_a_file_that_stays_busy_fails_once_busy_seconds_have_passed(tmp_path: Path) -> None:
    path = tmp_path / "file.sqlite3"
    holder = _locked(path)
    clock = _Clock()
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            open_wal(path, busy_seconds=0.02, synchronous="FULL", clock=lambda: clock.now, sleep=clock.sleep)
    finally:
        holder.close()
    assert 0.02 <= sum(clock.sleeps) < 0.02 + 0.05
    assert max(clock.sleeps) <= 0.05


def test_an_error_other_than_busy_is_raised_at_once(tmp_path: Path) -> None:
    """A file that is not a database is not retried."""
    path = tmp_path / "file.sqlite3"
    path.write_bytes(b"this is not an SQLite database, and it is long enough to show it" * 2)
    clock = _Clock()
    with pytest.raises(sqlite3.DatabaseError):
        open_wal(path, busy_seconds=30.0, synchronous="FULL", clock=lambda: clock.now, sleep=clock.sleep)
    assert clock.sleeps == []
