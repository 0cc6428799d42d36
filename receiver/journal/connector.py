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

from receiver.records import Record

__all__ = ["Connector", "JournalError", "JournalUnavailable", "Row", "Parameters", "QUERY_NAMES"]

#: One row as the engine returns it (a tuple of column values).
Row = Sequence[Any]
#: Named parameters of a query (`:name` in SQLite, `%(name)s` in PostgreSQL).
Parameters = Mapping[str, Any]

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
