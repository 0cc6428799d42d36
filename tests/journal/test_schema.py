"""The journal's tables: created, or brought up to date, once however many processes open the file together."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from receiver.journal import schema
from receiver.journal.sqlite import connect

_OLDER = """
CREATE TABLE records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, video_url TEXT NOT NULL, frame_index INTEGER NOT NULL,
    submitter TEXT NOT NULL, received_at TEXT NOT NULL, document BLOB NOT NULL, state TEXT NOT NULL DEFAULT 'queued',
    path TEXT NOT NULL, commit_sha TEXT, branch TEXT, pull_number INTEGER, pull_url TEXT, pull_state TEXT,
    attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT
)
"""


def test_processes_opening_an_older_journal_together_each_find_it_brought_up_to_date(tmp_path: Path) -> None:
    """An intake process and its deliverer start at once on a journal from before `refusals`: neither fails on the other's columns."""
    path = tmp_path / "journal.sqlite3"
    with sqlite3.connect(path) as older:
        older.execute(_OLDER)
    connections = [connect(path) for _ in range(6)]
    start = threading.Barrier(len(connections))
    failures: list[BaseException] = []

    def open_it(connection: sqlite3.Connection) -> None:
        start.wait()
        try:
            schema.create(connection)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            failures.append(exc)

    threads = [threading.Thread(target=open_it, args=(c,)) for c in connections]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    columns = [row[1] for row in connections[0].execute("PRAGMA table_info(records)")]
    for connection in connections:
        connection.close()
    assert failures == []
    assert columns.count("refusals") == 1 and "delivered_at" in columns
