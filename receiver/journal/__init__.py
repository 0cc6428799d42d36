"""The journal: what was accepted, kept durably, and how far each record's delivery got.

`outbox` holds the `Journal` (group-committed admissions, delivery state);
`schema` its tables.
"""

from __future__ import annotations

from receiver.journal.outbox import Admission, Entry, Journal, JournalError, JournalUnavailable

__all__ = ["Journal", "JournalError", "JournalUnavailable", "Entry", "Admission"]
