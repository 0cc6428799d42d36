"""The SQLite journal's own concerns: files an older receiver wrote. The shared behaviour is in test_contract.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from receiver.journal import Journal
from receiver.stores import Refused
from tests.captured import numbered_record as record


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
