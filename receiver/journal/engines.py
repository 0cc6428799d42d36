"""Which engine keeps the journal, chosen in one place from the settings: SQLite by default, PostgreSQL by URL.

`open_journal` builds and opens the `Journal`; `journal_problem` says, before
anything starts, why the journal cannot be used. psycopg is imported only when
the settings name a PostgreSQL journal. (The lease that elects the deliverer
among processes sharing a journal is `receiver.delivery.lease`.)
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Protocol

from receiver.journal.connector import AdmitHook, JournalUnavailable
from receiver.journal.outbox import Journal
from receiver.journal.sqlite import connect

__all__ = ["JournalLocation", "open_journal", "journal_problem", "MISSING_DRIVER"]


class JournalLocation(Protocol):
    """Where the journal is: a `postgresql://` URL, or else an SQLite file (the settings carry both)."""

    @property
    def journal_url(self) -> str: ...

    @property
    def journal_path(self) -> Path: ...


MISSING_DRIVER = (
    "a postgresql:// journal needs psycopg, which is not installed: install pose-receiver[postgres] (or psycopg[binary,pool])"
)


def _sqlite_problem(path: Path) -> str | None:
    # Opening makes the file, as the receiver would a moment later.
    if path.parent.exists() and not path.parent.is_dir():
        return f"the journal's folder {path.parent} is a file; set RECEIVER_JOURNAL to a file in a folder this user can write"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connect(path).close()
    except OSError as exc:
        return f"the journal's folder {path.parent} cannot be made ({exc.strerror}); set RECEIVER_JOURNAL to a file in a folder this user can write"
    except sqlite3.Error as exc:
        return f"the journal {path} cannot be opened ({exc}); set RECEIVER_JOURNAL to another file, or move this one away if it is not a journal"
    return None


def journal_problem(settings: JournalLocation) -> str | None:
    """Why the configured journal cannot be used right now, as a sentence; None when it can."""
    if not settings.journal_url:
        return _sqlite_problem(settings.journal_path)
    try:
        from receiver.journal import postgres
    except ImportError:
        return MISSING_DRIVER
    return postgres.probe(settings.journal_url)


def open_journal(settings: JournalLocation, *, on_admit: AdmitHook | None = None) -> Journal:
    """The journal the settings name, opened, with `on_admit` (the frame tally) inside each admitting transaction."""
    if not settings.journal_url:
        return Journal(settings.journal_path, on_admit=on_admit).open()
    try:
        from receiver.journal.postgres import PostgresConnector
    except ImportError as exc:
        raise JournalUnavailable(MISSING_DRIVER) from exc
    return Journal(PostgresConnector(settings.journal_url, on_admit=on_admit)).open()
