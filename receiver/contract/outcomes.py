"""What a store reports for each record it was given: delivered (with where), or refused (with the store's reason)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Delivered", "Refused", "Outcome"]


@dataclass(frozen=True)
class Delivered:
    """The record's exact bytes are on the default branch, or on its own branch with an open pull request."""

    record_id: str
    path: str
    commit: str | None
    created: bool
    branch: str | None = None
    pull_number: int | None = None
    pull_url: str | None = None


@dataclass(frozen=True)
class Refused:
    """The store refused this record; repeating may not help, so after a few refusals it fails."""

    record_id: str
    reason: str


Outcome = Delivered | Refused
