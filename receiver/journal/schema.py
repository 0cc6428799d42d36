"""The journal's tables, and the steps that bring an older journal file up to them.

A journal written by an earlier receiver is opened as it is: columns added
since are added in place (SQLite's ADD COLUMN is cheap), never by copying,
and tables added since are created on open (`IF NOT EXISTS`, on both engines).
"""

from __future__ import annotations

import sqlite3

__all__ = ["create", "COLUMNS", "TALLY_SQLITE", "TALLY_POSTGRES"]

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
"""

#: The frame tally (receiver/volunteers/frames.py): one row per configured video and per
#: frame of it, the labels that count for each frame (`frame_votes`, one per
#: voice, at most a few times K), the frames whose counted labels changed and
#: wait to be judged (`pending_judgements`), each voice's score on gold and on
#: settled frames (`voice_scores`) and the voices whose standing changed, so
#: their frames are judged again (`pending_voices`), a model's predictions by
#: video URL and frame (`predictions`, kept across video changes) and the frames
#: not retired that have one, by doubt (`doubtful_frames`), the frames leased to volunteer sessions
#: (`assignments`, one per session and one per client address group on each
#: frame), each settled frame's comparison with the model (`settled_frames`: whether it was
#: settled from suggestions; `settled_keypoints`: per keypoint, whether the model's
#: prediction agreed) and their running sums per video (`settled_counts`, `model_agreement`),
#: so the dashboard reads a few rows, the retired frames that later labels brought back (`reopened_frames`)
#: and the secret that signs sessions (`volunteer_keys`), kept up to date inside each admitting transaction, on either
#: engine, each with its own spelling of a generated id, a float and a table
#: stored in its key's order. Videos are numbered so the ten million frame rows
#: of a large catalog stay small; picking the next frame walks `frames_by_need`
#: from a random point of the least-agreed level.
_TALLY = """
CREATE TABLE IF NOT EXISTS videos (
    id {identity},
    url TEXT NOT NULL UNIQUE,
    fps {double} NOT NULL,
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
){keyed};
CREATE INDEX IF NOT EXISTS frames_by_need ON frames (retired, agreeing, video, frame);
CREATE TABLE IF NOT EXISTS volunteer_frames (
    volunteer TEXT NOT NULL,
    video INTEGER NOT NULL,
    frame INTEGER NOT NULL,
    PRIMARY KEY (volunteer, video, frame)
){keyed};
CREATE TABLE IF NOT EXISTS frame_votes (
    video INTEGER NOT NULL,
    frame INTEGER NOT NULL,
    voice TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (video, frame, voice)
){keyed};
CREATE TABLE IF NOT EXISTS assignments (
    video INTEGER NOT NULL,
    frame INTEGER NOT NULL,
    session TEXT NOT NULL,
    address TEXT NOT NULL,
    expires_at {double} NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (video, frame, session),
    UNIQUE (video, frame, address)
){keyed};
CREATE TABLE IF NOT EXISTS volunteer_keys (name TEXT PRIMARY KEY, value TEXT NOT NULL){keyed};
CREATE TABLE IF NOT EXISTS reopened_frames (
    video INTEGER NOT NULL,
    frame INTEGER NOT NULL,
    PRIMARY KEY (video, frame)
){keyed};
CREATE TABLE IF NOT EXISTS pending_judgements (
    video INTEGER NOT NULL,
    frame INTEGER NOT NULL,
    queued INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (video, frame)
){keyed};
CREATE TABLE IF NOT EXISTS pending_voices (voice TEXT PRIMARY KEY, queued INTEGER NOT NULL DEFAULT 1){keyed};
CREATE INDEX IF NOT EXISTS frame_votes_by_voice ON frame_votes (voice);
CREATE TABLE IF NOT EXISTS predictions (
    url TEXT NOT NULL,
    frame INTEGER NOT NULL,
    model TEXT NOT NULL,
    points TEXT NOT NULL,
    doubt {double} NOT NULL,
    PRIMARY KEY (url, frame)
){keyed};
CREATE TABLE IF NOT EXISTS doubtful_frames (
    video INTEGER NOT NULL,
    frame INTEGER NOT NULL,
    doubt {double} NOT NULL,
    PRIMARY KEY (video, frame)
){keyed};
CREATE INDEX IF NOT EXISTS doubtful_by_doubt ON doubtful_frames (doubt);
CREATE TABLE IF NOT EXISTS settled_frames (
    video INTEGER NOT NULL,
    frame INTEGER NOT NULL,
    suggested INTEGER NOT NULL,
    PRIMARY KEY (video, frame)
){keyed};
CREATE TABLE IF NOT EXISTS settled_keypoints (
    video INTEGER NOT NULL,
    frame INTEGER NOT NULL,
    keypoint TEXT NOT NULL,
    model TEXT NOT NULL,
    agree INTEGER NOT NULL,
    PRIMARY KEY (video, frame, keypoint)
){keyed};
CREATE TABLE IF NOT EXISTS settled_counts (
    video INTEGER NOT NULL,
    suggested INTEGER NOT NULL,
    frames INTEGER NOT NULL,
    PRIMARY KEY (video, suggested)
){keyed};
CREATE TABLE IF NOT EXISTS model_agreement (
    video INTEGER NOT NULL,
    model TEXT NOT NULL,
    keypoint TEXT NOT NULL,
    agree INTEGER NOT NULL,
    total INTEGER NOT NULL,
    PRIMARY KEY (video, model, keypoint)
){keyed};
CREATE TABLE IF NOT EXISTS voice_scores (
    voice TEXT NOT NULL,
    video INTEGER NOT NULL,
    frame INTEGER NOT NULL,
    kind TEXT NOT NULL,
    good INTEGER NOT NULL,
    PRIMARY KEY (voice, video, frame)
){keyed};
"""
TALLY_SQLITE = _TALLY.format(identity="INTEGER PRIMARY KEY", double="REAL", keyed=" WITHOUT ROWID")
TALLY_POSTGRES = _TALLY.format(identity="INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", double="DOUBLE PRECISION", keyed="")

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
        for statement in _statements(_TABLES + TALLY_SQLITE):
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
