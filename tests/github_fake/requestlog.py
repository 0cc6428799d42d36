"""The record of every API request the fake answered.

Tests and benchmarks read it to check what a client did: how many writes,
which answers it got, and whether it sent a request while a ``retry-after``
it had been given was still running (a client ignoring ``retry-after``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["LogEntry"]


@dataclass(frozen=True)
class LogEntry:
    method: str
    path: str
    status: int
    #: Counted toward the secondary (content-generating) limit.
    content_creating: bool
    #: Fake-clock time the request arrived.
    at: float
    #: A retry-after given to this user had not yet run out.
    retry_after_pending: bool
    login: str | None
    #: The kind of fault that hit it ("status", "body", "delay", "drop"), or None.
    fault: str | None = None
    #: No route models this request (answered 404 naming it).
    unmodelled: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
