"""Where the frame tally lives: beside the records, in the journal's own database (its SQLite file, or PostgreSQL)."""

from __future__ import annotations

from receiver.journal.engines import JournalLocation
from receiver.volunteers.frames import SqliteTally, TallyDatabase

__all__ = ["tally_database"]


def tally_database(location: JournalLocation) -> TallyDatabase:
    """The tally's database for a journal: psycopg is imported only for a `postgresql://` journal."""
    if location.journal_url:
        from receiver.volunteers.postgres import PostgresTally

        return PostgresTally(location.journal_url)
    return SqliteTally(location.journal_path)
