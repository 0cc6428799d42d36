"""The SQLite journal's own concerns: files an older receiver wrote. The shared behaviour is in test_contract.py."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from receiver.journal import Journal
from receiver.stores import Refused
from tests.support.captured import numbered_record as record


class TestOlderFiles:
    def test_an_older_journal_gains_the_new_columns(self, tmp_path: Path) -> None:
        """A journal written before refusals were counted opens and works."""
        path = tmp_path / "journal.sqlite3"
        old = sqlite3.connect(path)
        old.executescript(
            "CREATE TABLE records (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, video_url TEXT NOT NULL,"
            " frame_index INTEGER NOT NULL, submitter TEXT NOT NULL, received_at TEXT NOT NULL, document BLOB NOT NULL,"
            " state TEXT NOT NULL DEFAULT 'queued', path TEXT NOT NULL, commit_sha TEXT, branch TEXT, pull_number INTEGER,"
            " pull_url TEXT, pull_state TEXT, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT);"
        )
        old.close()
        with Journal(path) as journal:
            identifier = journal.admit_async(record(1)).result(timeout=10).entry.id
            journal.mark_refused([Refused(identifier, "no")], max_refusals=1, retry_at=0.0)
            assert journal.get(identifier).state == "failed"  # type: ignore[union-attr]


class TestCheckpoints:
    def test_the_checkpoint_thread_folds_the_log_back_into_the_file_between_admissions(self, tmp_path: Path) -> None:
        """Once admissions stop, the journal file itself (read without its log) holds them all."""
        path = tmp_path / "journal.sqlite3"
        with Journal(path) as journal:
            for future in [journal.admit_async(record(n)) for n in range(400)]:
                future.result(timeout=30)
            assert _wait_until(lambda: _in_file_alone(path) == 400)

    def test_the_log_stays_bounded_under_admissions_that_never_pause(self, tmp_path: Path) -> None:
        """A passive checkpoint never catches the last commit of a steady stream, and SQLite starts
        the log over only once all of it is folded back: without a restart the log holds every
        page ever written (about 10 KB a record here). With it, a few thousand pages at most."""
        path = tmp_path / "journal.sqlite3"
        wal = path.with_name(path.name + "-wal")
        largest = 0
        with Journal(path) as journal:
            for start in range(0, 6000, 20):
                for future in [journal.admit_async(record(n)) for n in range(start, start + 20)]:
                    future.result(timeout=30)
                largest = max(largest, wal.stat().st_size)
        assert largest < 40 * 1024 * 1024, f"the log reached {largest / 1e6:.0f} MB"

    def test_closing_leaves_everything_in_the_file(self, tmp_path: Path) -> None:
        path = tmp_path / "journal.sqlite3"
        with Journal(path) as journal:
            journal.admit_async(record(1)).result(timeout=30)
        assert _in_file_alone(path) == 1


def _in_file_alone(path: Path) -> int:
    """Records the journal file holds, its write-ahead log ignored."""
    connection = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return int(connection.execute("SELECT count(*) FROM records").fetchone()[0])
    except sqlite3.DatabaseError:
        return -1  # caught mid-copy: not there yet
    finally:
        connection.close()


def _wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False
