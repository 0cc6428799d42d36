"""The journal: what was accepted, kept durably, and how far each record's delivery got.

`outbox` holds the `Journal` (group-committed admissions, delivery state),
the behaviour every engine shares; `connector` the line between it and an
engine; `sqlite` (the embedded default, its tables in `schema`) and
`postgres` each engine's SQL; `engines` chooses one from the settings;
`walmode` opens an SQLite file in write-ahead-log mode, safely when processes start together;
`grants` judges a PostgreSQL journal's privileges (`receiver doctor --journal`).

May import: `contract`.
"""

from __future__ import annotations

from receiver.journal.connector import JournalError, JournalUnavailable
from receiver.journal.outbox import Admission, Entry, Journal

__all__ = ["Journal", "JournalError", "JournalUnavailable", "Entry", "Admission"]
