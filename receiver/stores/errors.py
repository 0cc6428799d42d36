"""What a store can fail with, as values the delivery worker acts on.

```
StoreError                 something a store could not do; `answer` keeps what the store said
 +-- StoreUnavailable      retry later: down, slow, unreadable, or asked us to wait (`retry_after`)
 |    +-- StoreRateLimited the store's limits: wait `retry_after` seconds
 +-- StoreConflict         the branch moved under us: re-read and retry at once
 +-- StoreRefused          a refusal that repeating will not change (a ruleset, a conflicting file)
```

"Already done" is not an error: a store proves it by comparing blob ids
(`receiver.stores.adoption`) and reports the record delivered. Each store
classifies its own failures into these classes in one place
(`stores.github.answers` for GitHub, `stores.git.Git` for git).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Answer",
    "FieldError",
    "StoreError",
    "StoreUnavailable",
    "StoreRateLimited",
    "StoreConflict",
    "StoreRefused",
]


@dataclass(frozen=True)
class FieldError:
    """One entry of GitHub's `errors` list."""

    resource: str = ""
    code: str = ""
    field: str = ""
    message: str = ""


@dataclass(frozen=True)
class Answer:
    """What the store said, kept whole: the status (None when no answer came), its message and details."""

    status: int | None
    message: str = ""
    errors: tuple[FieldError, ...] = ()
    retry_after: float | None = None
    documentation_url: str = ""
    headers: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def reason(self) -> str:
        """One line a maintainer can read: the status, the message and each field error."""
        parts = [self.message] + [e.message or " ".join(p for p in (e.resource, e.field, e.code) if p) for e in self.errors]
        text = "; ".join(p for p in parts if p)
        return f"{self.status} {text}".strip() if self.status is not None else text


class StoreError(Exception):
    """A store could not do what was asked; the message is safe to log and to show."""

    def __init__(self, message: str, *, answer: Answer | None = None) -> None:
        super().__init__(message)
        self.answer = answer


class StoreUnavailable(StoreError):
    """Retry later, after `retry_after` seconds when the store said so."""

    def __init__(self, message: str, retry_after: float | None = None, *, answer: Answer | None = None) -> None:
        super().__init__(message, answer=answer)
        self.retry_after = retry_after


class StoreRateLimited(StoreUnavailable):
    """The store's limits are reached; `retry_after` says when to try again."""


class StoreConflict(StoreError):
    """The branch moved while writing; re-read and retry at once."""


class StoreRefused(StoreError):
    """The store refused for a reason that repeating will not change; after a few refusals the record fails."""
