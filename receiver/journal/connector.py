"""What an engine gives the journal: one transaction per group of admissions, named queries, and wake-ups.

The journal's behaviour (group commit, waiters, states, backoff) lives once
in `receiver.journal.outbox`; each engine's module (`sqlite`, `postgres`)
holds its SQL as named queries taking named parameters, and a connector that
runs them. This module draws the line between the two and holds the errors
both sides raise. It runs no SQL itself.

```
JournalError
 +-- JournalUnavailable   the engine refused (disk full, database gone): answer 503, keep nothing half-done
```
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from receiver.contract.records import Record

__all__ = ["AdmitHook", "Connector", "JournalError", "JournalUnavailable", "Row", "Parameters", "QUERY_NAMES", "NEW_COLUMNS", "new_values", "fresh_row", "admissions"]

#: One row as the engine returns it (a tuple of column values).
Row = Sequence[Any]
#: Named parameters of a query (`:name` in SQLite, `%(name)s` in PostgreSQL).
Parameters = Mapping[str, Any]

#: Called inside each group commit's transaction, on the engine's connection, with the records it
#: newly admits: state derived from them (the frame tally) commits, or fails, with them.
AdmitHook = Callable[[Any, Sequence[Record]], None]

#: Every query the journal asks for by name; each engine's module defines all of them.
QUERY_NAMES = frozenset(
    {
        # reads
        "get", "document", "frame_records", "per_hour", "latest_records", "recent_pulls", "count_all", "count_video", "page_all", "page_video", "counts", "oldest_queued",
        "pending", "next_due", "recently_delivered", "last_delivered_at", "open_pulls", "failures", "delivery_status", "state",
        # changes
        "mark_delivered", "mark_attempt", "mark_refused", "retry_one", "retry_failed", "requeue", "set_pull_states",
        "set_delivery_status",
    }
)


class JournalError(Exception):
    """The journal could not do what was asked."""


class JournalUnavailable(JournalError):
    """The journal cannot keep new records right now (disk full, read-only, I/O error, database unreachable)."""


class Connector(Protocol):
    """One engine under the journal. Every method raises `JournalUnavailable` for the engine's own failures."""

    #: The engine's name, for messages: "sqlite" or "postgresql".
    engine: str

    def open(self) -> None:
        """Connect, and create the tables or bring older ones up to date."""
        ...

    def close(self) -> None: ...

    def admit(self, records: Sequence[Record]) -> list[tuple[Row, bool]]:
        """Insert the records in one transaction, skipping ids already kept; per record, its row and whether it is new."""
        ...

    def fetch(self, query: str, parameters: Parameters) -> list[Row]:
        """Run a named query and return its rows (a query that claims rows commits its claim)."""
        ...

    def change(self, query: str, rows: Sequence[Parameters]) -> int:
        """Run a named change once per parameter set, all in one transaction; how many rows it changed."""
        ...

    def listen(self, wake: Callable[[], None], stop: threading.Event) -> None:
        """Until `stop`, call `wake` whenever another process admits or requeues records; returns at once if only one process can."""
        ...

    def announce(self) -> None:
        """Tell other processes' deliverers that records wait (after a retry or requeue)."""
        ...


#: The columns an admission writes; the others start at the tables' defaults.
NEW_COLUMNS = "id, video_url, frame_index, submitter, received_at, document, path"


def new_values(record: Record) -> tuple[Any, ...]:
    """The values of `NEW_COLUMNS` for a record being admitted."""
    return (record.id, record.submission["video_url"], record.submission["frame_index"], record.submitter,
            record.received_at, record.to_bytes(), record.path)


def fresh_row(record: Record) -> Row:
    """The row of a record admitted just now, in `schema.COLUMNS` order: queued, never tried.

    Built from the record rather than read back, so admitting a group costs one
    statement, not one per record; the tables' defaults say the same.
    """
    return (record.id, record.submission["video_url"], record.submission["frame_index"], record.submitter,
            record.received_at, "queued", record.path, None, None, None, None, None, 0, None, 0)


def admissions(records: Sequence[Record], created: set[str], kept: Mapping[str, Row]) -> list[tuple[Row, bool]]:
    """Per record, its row and whether this group created it.

    `created` holds the ids this group inserted, `kept` the rows of the others
    as the engine holds them. A record posted twice in one group is created
    once: the second sees the first's row.
    """
    rows: dict[str, Row] = dict(kept)
    outcomes: list[tuple[Row, bool]] = []
    for record in records:
        known = rows.get(record.id)
        if known is not None:
            outcomes.append((known, False))
        elif record.id in created:
            rows[record.id] = fresh_row(record)
            outcomes.append((rows[record.id], True))
        else:
            raise JournalError(f"record {record.id} was admitted and then not found")
    return outcomes
