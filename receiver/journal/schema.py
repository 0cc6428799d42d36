"""The journal's tables, and the steps that bring an older journal file up to them.

A journal written by an earlier receiver is opened as it is: columns added
since are added in place (SQLite's ADD COLUMN is cheap), never by copying.
"""

from __future__ import annotations

import sqlite3

__all__ = ["create", "COLUMNS"]

_TABLES = """
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    video_url TEXT NOT NULL,
    frame_index INTEGER NOT NULL,
    submitter TEXT NOT NULL,
    received_at TEXT NOT NULL,
    document BLOB NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    path TEXT NOT NULL,
    commit_sha TEXT,
    branch TEXT,
    pull_number INTEGER,
    pull_url TEXT,
    pull_state TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS records_by_state ON records (state, seq);
CREATE INDEX IF NOT EXISTS records_by_video ON records (video_url, seq);
CREATE TABLE IF NOT EXISTS status (name TEXT PRIMARY KEY, value TEXT NOT NULL, written_at REAL NOT NULL);

-- The frame tally (receiver/frames.py): one row per configured video and per
-- frame of it, kept up to date inside each admitting transaction. Videos are
-- numbered so the ten million frame rows of a large catalog stay small.
CREATE TABLE IF NOT EXISTS videos (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    fps REAL NOT NULL,
    frames INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    touched INTEGER NOT NULL DEFAULT 0,
    retired INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS frames (
    video INTEGER NOT NULL,
    frame INTEGER NOT NULL,
    labels INTEGER NOT NULL DEFAULT 0,
    agreeing INTEGER NOT NULL DEFAULT 0,
    retired INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (video, frame)
) WITHOUT ROWID;
-- Picking the next frame walks this index from a random point of the least-agreed level.
CREATE INDEX IF NOT EXISTS frames_by_need ON frames (retired, agreeing, video, frame);
CREATE TABLE IF NOT EXISTS volunteer_frames (
    volunteer TEXT NOT NULL,
    video INTEGER NOT NULL,
    frame INTEGER NOT NULL,
    PRIMARY KEY (volunteer, video, frame)
) WITHOUT ROWID;
"""

#: Columns added after the first release: (name, declaration).
_ADDED = (
    ("refusals", "INTEGER NOT NULL DEFAULT 0"),
    ("not_before", "REAL"),
    ("delivered_at", "REAL"),
)

_INDEXES = """
CREATE INDEX IF NOT EXISTS records_by_delivery ON records (delivered_at) WHERE delivered_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS records_open_pulls ON records (pull_number) WHERE pull_state = 'open';
CREATE INDEX IF NOT EXISTS records_by_frame ON records (video_url, frame_index);
"""

#: What `Entry` is built from, in its field order.
COLUMNS = (
    "id, video_url, frame_index, submitter, received_at, state, path, commit_sha, branch,"
    " pull_number, pull_url, pull_state, attempts, last_error, refusals"
)


def create(connection: sqlite3.Connection) -> None:
    """Create the tables, or add what an older journal lacks.

    One write transaction: processes starting together (intake and deliverer)
    take turns, and the second finds the first one's columns instead of adding them again.
    """
    connection.execute("BEGIN IMMEDIATE")
    try:
        for statement in _statements(_TABLES):
            connection.execute(statement)
        present = {row[1] for row in connection.execute("PRAGMA table_info(records)")}
        for name, declaration in _ADDED:
            if name not in present:
                connection.execute(f"ALTER TABLE records ADD COLUMN {name} {declaration}")
        for statement in _statements(_INDEXES):
            connection.execute(statement)
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _statements(script: str) -> list[str]:
    # The scripts hold no ';' inside a statement or a comment.
    return [statement for statement in (part.strip() for part in script.split(";")) if statement and not all(line.strip().startswith("--") for line in statement.splitlines())]
