"""Where records end up: one small interface, one implementation per kind of repository.

A store's `deliver` is idempotent: it observes what the repository holds
for each record and proves "already there" by blob id (`receiver.stores.adoption`),
so the delivery worker can retry anything after a crash. It reports one
outcome per record, delivered or refused, and while it works it calls the
`beat` it was given (between requests, and in slices of every wait), so a
long paced delivery is seen to be alive; trouble that concerns the whole
store (down, rate-limited, a moved branch) is raised as a `StoreError`
(see `stores.errors` for the classes and what the worker does with each).

May import: `contract`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from receiver.contract.outcomes import Delivered, Outcome, Refused
from receiver.contract.records import Record
from receiver.stores.errors import (
    Answer,
    FieldError,
    StoreConflict,
    StoreError,
    StoreRateLimited,
    StoreRefused,
    StoreUnavailable,
)
from receiver.stores.pacing import Beat

__all__ = [
    "Beat",
    "build_store",
    "GithubAccess",
    "StoreSettings",
    "store_problem",
    "Answer",
    "Delivered",
    "FieldError",
    "Outcome",
    "Refused",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "StoreRateLimited",
    "StoreConflict",
    "StoreRefused",
]


class Store(Protocol):
    name: str

    def deliver(self, records: Sequence[Record], *, beat: Beat | None = None) -> list[Outcome]:
        """Put the records into the repository (or prove them already there): one outcome per distinct record.

        `beat` is called while the delivery goes on, so whoever delivers can report it is alive however long it paces.
        """
        ...

    def describe(self) -> dict[str, object]:
        """A few facts for /health; never a token or a server path."""
        ...

    def pull_states(self, numbers: Sequence[int]) -> dict[int, str]:
        """Of these open pull requests, those now `merged` or `closed`, in few requests."""
        ...

    def missing(self, records: Sequence[Record]) -> list[str]:
        """Ids of records reported delivered that the repository does not hold (a crash lost them)."""
        ...

    def close(self) -> None: ...


class GithubAccess(Protocol):
    """What reaching a GitHub repository takes: where, as whom, and at what pace (the settings carry it)."""

    @property
    def github_repository(self) -> str: ...

    @property
    def github_api_url(self) -> str: ...

    @property
    def github_token(self) -> str: ...

    @property
    def github_app_id(self) -> int: ...

    @property
    def github_app_installation_id(self) -> int: ...

    @property
    def github_app_private_key_file(self) -> Path | None: ...

    @property
    def github_writes_per_minute(self) -> int: ...

    @property
    def github_writes_per_hour(self) -> int: ...

    @property
    def github_write_interval(self) -> float: ...


class _HasUrl(Protocol):
    """A configured video, as far as a store cares: its URL, which PR bodies link."""

    @property
    def url(self) -> str: ...


class StoreSettings(GithubAccess, Protocol):
    """What choosing and opening a store takes (the settings carry it)."""

    @property
    def store(self) -> str: ...

    @property
    def local_repo(self) -> Path: ...

    @property
    def branch(self) -> str: ...

    @property
    def local_mode(self) -> str: ...

    @property
    def delivery_mode(self) -> str: ...

    @property
    def moderation(self) -> str: ...

    @property
    def public_url(self) -> str: ...

    @property
    def videos(self) -> Sequence[_HasUrl]: ...


def build_store(settings: StoreSettings) -> Store:
    """The store the settings name; the one place an implementation is chosen."""
    if settings.store == "local":
        from receiver.stores.local import LocalGitStore

        return LocalGitStore(settings.local_repo, branch=settings.branch, mode="branch" if settings.local_mode == "branch" else "direct")
    from receiver.stores.github import AppCredentials, GitHubStore, github_client
    from receiver.stores.pacing import Budget

    budget = Budget(
        per_minute=settings.github_writes_per_minute,
        per_hour=settings.github_writes_per_hour,
        min_interval=settings.github_write_interval,
    )
    mode = {"direct": "direct", "batch": "batch"}.get(settings.delivery_mode, "pull-request")
    app = None
    if settings.github_app_private_key_file is not None:
        try:
            app = AppCredentials.from_key_file(settings.github_app_id, settings.github_app_private_key_file, settings.github_app_installation_id)
        except OSError as exc:
            raise StoreError(f"the GitHub App's private key file cannot be read ({exc.strerror})") from exc
    return GitHubStore(
        settings.github_repository,
        api_url=settings.github_api_url,
        mode=mode,  # type: ignore[arg-type]
        budget=budget,
        moderation="review" if settings.moderation == "review" else "auto",
        review_url=f"{settings.public_url}/review" if settings.public_url else None,
        videos=frozenset(video.url for video in settings.videos),
        github=github_client(settings.github_api_url, token=settings.github_token, app=app),
    )


def store_problem(settings: StoreSettings) -> str | None:
    """Why the configured store cannot be opened, as a sentence; None when it can.

    Opening reaches no network: a GitHub store is only tried when it delivers.
    A local repository is made here when its path is free, as delivery would.
    """
    try:
        build_store(settings).close()
    except StoreError as exc:
        where = f" at {settings.local_repo}" if settings.store == "local" else ""
        return f"the {settings.store} store{where} cannot be opened: {exc}"
    return None
