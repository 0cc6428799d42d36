"""Deliver records to a GitHub repository through PyGithub: a pull request per record, direct commits, or batch PRs.

GitHub's limits shape everything here: content-creating requests are serial
and paced by `pacing.Pacer`, `retry-after` and an exhausted primary limit
block every request until the time given, and a pull-request-mode backlog
that the hour's budget cannot cover is coalesced into one batch PR. Every
name (branch, path) derives from the record id, so after a crash or a retry
an existing branch, file or PR is adopted, never duplicated.

PyGithub's own retrying and sleeping are switched off: waiting is this
module's decision, made over the injected clock and sleep. Long waits are not
slept here; they become `StoreRateLimited` so the delivery worker waits and
`/health` says why.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import requests
from github import Auth, Github, GithubException, InputGitTreeElement
from github.Repository import Repository

from receiver.pacing import Budget, Pacer
from receiver.pull_requests import (
    batch_body,
    batch_title,
    commit_message,
    pull_body,
    pull_title,
)
from receiver.records import BRANCH_PREFIX, Record
from receiver.stores import (
    Delivered,
    StoreConflict,
    StoreError,
    StoreRateLimited,
    StoreUnavailable,
)

__all__ = ["GitHubStore", "DeliveryMode", "translate", "github_client", "AppCredentials"]

log = logging.getLogger("receiver.stores.github")

DeliveryMode = Literal["pull-request", "direct", "batch"]
T = TypeVar("T")

#: The longest pause the store sleeps itself; anything longer is handed to the worker.
MAX_INLINE_WAIT = 5.0
#: How long the default branch's head is reused for new branches.
BASE_TTL = 300.0
#: Writes one record costs in pull-request mode (ref, contents, pull).
WRITES_PER_PULL = 3


def _header(headers: dict[str, str] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None


def _message(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or "")
    errors = data.get("errors")
    if isinstance(errors, list):
        message += " " + " ".join(str(e.get("message", "")) for e in errors if isinstance(e, dict))
    return message.strip()


def translate(exc: GithubException, now: float) -> StoreError:
    """Map a GitHub error answer to what the worker should do about it (gidgethub's decipher_response, for PyGithub)."""
    status, headers, message = exc.status, exc.headers, _message(exc)
    retry_after = _header(headers, "retry-after")
    remaining, reset = _header(headers, "x-ratelimit-remaining"), _header(headers, "x-ratelimit-reset")
    if status in (403, 429) and retry_after is not None:
        return StoreRateLimited(f"GitHub asked to wait {retry_after} s ({message[:80]})", retry_after=float(retry_after))
    if status in (403, 429) and remaining == "0" and reset is not None:
        return StoreRateLimited("GitHub's hourly request limit is used up", retry_after=max(1.0, float(reset) - now))
    if status in (403, 429) and "rate limit" in message.lower():
        return StoreRateLimited(f"GitHub rate limit ({message[:80]})", retry_after=60.0)
    if status == 401:
        return StoreUnavailable(f"GitHub refused the credentials (401 {message[:60]}); check GITHUB_TOKEN or the GitHub App settings")
    if status >= 500:
        return StoreUnavailable(f"GitHub answered {status}; retrying")
    if status == 409:
        return StoreConflict(f"GitHub reported a conflict: {message[:120]}")
    return StoreError(f"GitHub answered {status}: {message[:160]}")


@dataclass(frozen=True)
class AppCredentials:
    """A GitHub App installation: the receiver then acts as the app's bot, with the app's own rate limits."""

    app_id: int
    private_key: str = field(repr=False)
    installation_id: int


def github_client(api_url: str, *, token: str = "", app: AppCredentials | None = None, timeout: int = 30) -> Github:
    """PyGithub without its own retrying or sleeping: waiting is the pacer's decision.

    With `app`, PyGithub signs a JWT with the app's key and trades it for an
    installation token (renewed before it expires); else the token is used as is.
    """
    auth: Auth.Auth | None
    if app is not None:
        auth = Auth.AppAuth(app.app_id, app.private_key).get_installation_auth(app.installation_id)
    else:
        auth = Auth.Token(token) if token else None
    return Github(auth=auth, base_url=api_url.rstrip("/"), retry=None, seconds_between_requests=None, seconds_between_writes=None, timeout=timeout)


@dataclass
class _Base:
    sha: str = ""
    tree: str = ""
    read_at: float = float("-inf")


@dataclass
class GitHubStore:
    """The `github` store. Pass `github` (a configured PyGithub client) or a token and API URL."""

    repository: str
    token: str = field(default="", repr=False)
    api_url: str = "https://api.github.com"
    mode: DeliveryMode = "pull-request"
    budget: Budget = field(default_factory=Budget)
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    github: Github | None = None
    coalesce: bool = True
    name: str = "github"

    def __post_init__(self) -> None:
        if self.github is None:
            self.github = github_client(self.api_url, token=self.token)
        self.owner = self.repository.split("/", 1)[0]
        self.pacer = Pacer(self.budget)
        self._repo: Repository | None = None
        self._default_branch = ""
        self._base = _Base()
        self.notes: list[str] = []
        self.requests_sent = 0

    # -- the Store protocol ---------------------------------------------------

    def deliver(self, records: Sequence[Record]) -> list[Delivered]:
        unique = list({r.id: r for r in records}.values())
        if not unique:
            return []
        if self.mode == "direct":
            return self._deliver_direct(unique)
        if self.mode == "batch":
            return self._deliver_batch(unique, reason="")
        if self.coalesce and len(unique) > 1 and self.pacer.remaining_this_hour(self.clock()) < WRITES_PER_PULL * len(unique):
            note = (
                f"coalesced {len(unique)} queued records into one batch pull request: "
                f"the hour's write budget ({self.pacer.remaining_this_hour(self.clock())} left) cannot open one each"
            )
            log.warning(note)
            self.notes = [*self.notes[-9:], note]
            return self._deliver_batch(unique, reason="Coalesced: " + note + ".")
        delivered: list[Delivered] = []
        for record in unique:
            try:
                delivered.append(self._deliver_pull(record))
            except StoreUnavailable:
                if delivered:
                    return delivered
                raise
        return delivered

    def describe(self) -> dict[str, object]:
        now = self.clock()
        facts: dict[str, object] = {
            "repository": self.repository,
            "mode": self.mode,
            "writes_left_this_hour": self.pacer.remaining_this_hour(now),
        }
        if self.pacer.blocked_until > now:
            facts["blocked_for_seconds"] = round(self.pacer.blocked_until - now, 1)
        if self.notes:
            facts["notes"] = self.notes[-5:]
        return facts

    def close(self) -> None:
        if self.github is not None:
            self.github.close()

    def pull_state(self, number: int) -> str:
        """open, closed or merged: read from GitHub (one read request)."""
        pull = self._call(lambda: self._repository().get_pull(number), write=False)
        return "merged" if pull.merged else str(pull.state)

    # -- requests -------------------------------------------------------------

    def _call(self, action: Callable[[], T], *, write: bool) -> T:
        """Send one request when the pacer allows, and translate what GitHub says."""
        wait = self.pacer.delay(self.clock(), write=write)
        if wait > MAX_INLINE_WAIT:
            raise StoreRateLimited(f"pacing GitHub requests: next one allowed in {wait:.0f} s", retry_after=wait)
        if wait > 0:
            self.sleep(wait)
        now = self.clock()
        if write:
            self.pacer.sent(now)
        self.requests_sent += 1
        try:
            result = action()
        except GithubException as exc:
            error = translate(exc, self.clock())
            if isinstance(error, StoreRateLimited) and error.retry_after is not None:
                self.pacer.block(self.clock() + error.retry_after)
            raise error from exc
        except requests.exceptions.RequestException as exc:
            raise StoreUnavailable(f"GitHub could not be reached ({exc.__class__.__name__}); retrying") from exc
        self._note_primary_limit()
        return result

    def _note_primary_limit(self) -> None:
        assert self.github is not None
        remaining, _ = self.github.rate_limiting
        if remaining == 0:
            self.pacer.block(float(self.github.rate_limiting_resettime))

    def _repository(self) -> Repository:
        if self._repo is None:
            assert self.github is not None
            github = self.github
            repo = self._call(lambda: github.get_repo(self.repository), write=False)
            self._repo, self._default_branch = repo, repo.default_branch
        return self._repo

    def _base_commit(self, *, refresh: bool = False) -> _Base:
        """The default branch's head, read once and reused for BASE_TTL seconds."""
        if refresh or self.clock() - self._base.read_at > BASE_TTL:
            repo = self._repository()
            ref = self._call(lambda: repo.get_git_ref(f"heads/{self._default_branch}"), write=False)
            commit = self._call(lambda: repo.get_git_commit(ref.object.sha), write=False)
            self._base = _Base(sha=ref.object.sha, tree=commit.tree.sha, read_at=self.clock())
        return self._base

    # -- pull request per record ----------------------------------------------

    def _deliver_pull(self, record: Record) -> Delivered:
        repo = self._repository()
        base = self._base_commit()
        branch = record.branch
        try:
            self._call(lambda: repo.create_git_ref(f"refs/heads/{branch}", base.sha), write=True)
        except StoreError as exc:
            if "already exists" not in str(exc):
                raise
            log.info("adopting existing branch %s", branch)
        commit = self._add_file(repo, record, branch)
        pull = self._open_pull(repo, branch, pull_title(record), pull_body(record))
        if pull is None:
            # Nothing between the branch and the default branch: the file is already there (merged before).
            self._call(lambda: repo.get_git_ref(f"heads/{branch}").delete(), write=True)
            return Delivered(record.id, record.path, self._base_commit(refresh=True).sha, created=False)
        number, url = pull
        return Delivered(record.id, record.path, commit, created=True, branch=branch, pull_number=number, pull_url=url)

    def _add_file(self, repo: Repository, record: Record, branch: str) -> str:
        content = record.to_bytes().decode("utf-8")
        try:
            result = self._call(lambda: repo.create_file(record.path, commit_message([record]), content, branch=branch), write=True)
        except StoreError as exc:
            if not str(exc).startswith("GitHub answered 422"):
                raise
            log.info("adopting %s already on %s", record.path, branch)
            ref = self._call(lambda: repo.get_git_ref(f"heads/{branch}"), write=False)
            adopted: str = ref.object.sha
            return adopted
        sha: str = result["commit"].sha
        return sha

    def _open_pull(self, repo: Repository, branch: str, title: str, body: str) -> tuple[int, str] | None:
        try:
            pull = self._call(lambda: repo.create_pull(base=self._default_branch, head=branch, title=title, body=body), write=True)
            return pull.number, pull.html_url
        except StoreError as exc:
            text = str(exc)
            if "already exists" in text:
                existing = self._call(lambda: list(repo.get_pulls(state="all", head=f"{self.owner}:{branch}")), write=False)
                if existing:
                    log.info("adopting pull request #%d for %s", existing[0].number, branch)
                    return existing[0].number, existing[0].html_url
            if "No commits between" in text:
                return None
            raise

    # -- many records in one commit --------------------------------------------

    def _commit_on_base(self, repo: Repository, records: Sequence[Record]) -> tuple[Any, Any] | None:
        """One commit adding the records on the default branch's head (tree with inline contents, then commit).

        None when the tree comes out unchanged: every record is already there.
        """
        base = self._base_commit(refresh=True)
        elements = [InputGitTreeElement(r.path, "100644", "blob", content=r.to_bytes().decode("utf-8")) for r in records]
        base_tree = self._call(lambda: repo.get_git_tree(base.tree), write=False)
        tree = self._call(lambda: repo.create_git_tree(elements, base_tree), write=True)
        if tree.sha == base.tree:
            return None
        parent = self._call(lambda: repo.get_git_commit(base.sha), write=False)
        commit = self._call(lambda: repo.create_git_commit(commit_message(records), tree, [parent]), write=True)
        return tree, commit

    def _already_there(self, records: Sequence[Record]) -> list[Delivered]:
        return [Delivered(r.id, r.path, self._base.sha, created=False) for r in records]

    def _deliver_direct(self, records: list[Record]) -> list[Delivered]:
        repo = self._repository()
        made = self._commit_on_base(repo, records)
        if made is None:
            return self._already_there(records)
        tree, commit = made
        ref = self._call(lambda: repo.get_git_ref(f"heads/{self._default_branch}"), write=False)
        try:
            self._call(lambda: ref.edit(commit.sha, force=False), write=True)
        except StoreError as exc:
            self._base.read_at = float("-inf")
            if "fast forward" in str(exc).lower():
                raise StoreConflict("the default branch moved while committing; retrying") from exc
            raise
        self._base = _Base(sha=commit.sha, tree=tree.sha, read_at=self.clock())
        return [Delivered(r.id, r.path, commit.sha, created=True) for r in records]

    def _deliver_batch(self, records: list[Record], *, reason: str) -> list[Delivered]:
        repo = self._repository()
        digest = hashlib.sha256("\n".join(sorted(r.id for r in records)).encode()).hexdigest()[:16]
        branch = f"{BRANCH_PREFIX}batch-{digest}"
        made = self._commit_on_base(repo, records)
        if made is None:
            return self._already_there(records)
        _, commit = made
        try:
            self._call(lambda: repo.create_git_ref(f"refs/heads/{branch}", commit.sha), write=True)
        except StoreError as exc:
            if "already exists" not in str(exc):
                raise
            log.info("adopting existing batch branch %s", branch)
        pull = self._open_pull(repo, branch, batch_title(records), batch_body(records, reason=reason))
        if pull is None:
            return self._already_there(records)
        number, url = pull
        return [Delivered(r.id, r.path, commit.sha, created=True, branch=branch, pull_number=number, pull_url=url) for r in records]
