"""Where records end up: one small interface, one implementation per kind of repository.

```
StoreError                 something a store could not do
 +-- StoreUnavailable      down, slow or refusing: retry later (after `retry_after` seconds if given)
 |    +-- StoreRateLimited the store asked us to wait (GitHub's rate limits)
 +-- StoreConflict         the branch moved under us: re-read and retry at once
```

A store's `deliver` is idempotent: a record already at its path is reported
as delivered (`created=False`) and writes nothing new. The delivery worker
relies on that to retry safely after a crash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from receiver.records import Record

if TYPE_CHECKING:
    from receiver.settings import Settings

__all__ = ["build_store", "Delivered", "Store", "StoreError", "StoreUnavailable", "StoreRateLimited", "StoreConflict"]


@dataclass(frozen=True)
class Delivered:
    """What a store did with one record."""

    record_id: str
    path: str
    commit: str | None
    created: bool
    branch: str | None = None
    pull_number: int | None = None
    pull_url: str | None = None


class Store(Protocol):
    name: str

    def deliver(self, records: Sequence[Record]) -> list[Delivered]:
        """Put the records into the repository (or find them already there), one result per record."""
        ...

    def describe(self) -> dict[str, object]:
        """A few facts for /health; never a token or a server path."""
        ...

    def close(self) -> None: ...


class StoreError(Exception):
    """A store could not do what was asked; the message is safe to log."""


class StoreUnavailable(StoreError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreRateLimited(StoreUnavailable):
    pass


class StoreConflict(StoreError):
    pass


def build_store(settings: Settings) -> Store:
    """The store the settings name; the one place an implementation is chosen."""
    if settings.store == "local":
        from receiver.stores.local import LocalGitStore

        return LocalGitStore(settings.local_repo, branch=settings.branch, mode="branch" if settings.local_mode == "branch" else "direct")
    from receiver.pacing import Budget
    from receiver.stores.github import AppCredentials, GitHubStore, github_client

    budget = Budget(
        per_minute=settings.github_writes_per_minute,
        per_hour=settings.github_writes_per_hour,
        min_interval=settings.github_write_interval,
    )
    mode = {"direct": "direct", "batch": "batch"}.get(settings.delivery_mode, "pull-request")
    app = None
    if settings.github_app_private_key_file is not None:
        try:
            key = settings.github_app_private_key_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise StoreError(f"the GitHub App's private key file cannot be read ({exc.strerror})") from exc
        app = AppCredentials(settings.github_app_id, key, settings.github_app_installation_id)
    return GitHubStore(
        settings.github_repository,
        api_url=settings.github_api_url,
        mode=mode,  # type: ignore[arg-type]
        budget=budget,
        github=github_client(settings.github_api_url, token=settings.github_token, app=app),
    )
