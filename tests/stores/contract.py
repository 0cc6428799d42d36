"""Worlds the store contract runs in: a local bare repository, or GitHub through the fake.

Each world builds its store, says whether a record is held ("its exact bytes
on the default branch, or on its own branch with an open pull request"),
and can break the next delivery at a named point or in a named way, so
`test_contract.py` states every rule once for both stores.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from receiver.contract.records import Record
from receiver.delivery.worker import DeliveryWorker, Outcome
from receiver.journal import Journal
from receiver.stores import Store, StoreUnavailable
from receiver.stores.adoption import blob_id
from receiver.stores.git import Git
from receiver.stores.github import GitHubStore
from receiver.stores.local import LocalGitStore
from tests.github_fake import FakeClock, FakeGitHub, Fault
from tests.stores.gitread import refs
from tests.support.github_world import REPO, RULE_VIOLATION

__all__ = ["Crash", "World", "LocalWorld", "GitHubWorld", "run_worker", "CRASH_POINTS", "TROUBLES"]

#: Where a delivery can stop: after the branch, after the file, after the pull request, after the merge (branch deleted).
CRASH_POINTS = ("branch", "file", "pull", "merge")
#: Kinds of trouble every store can meet: the store refuses the write, the store is unreachable.
TROUBLES = ("refused", "unavailable")


class World(Protocol):
    clock: FakeClock

    def store(self) -> Store: ...

    def holds(self, record: Record) -> bool:
        """The record's exact bytes are on the default branch, or on its own branch with an open pull request."""
        ...

    def copies(self, record: Record) -> int:
        """How many files, branches and open pull requests carry the record (one of each at most is right)."""
        ...

    def crash_after(self, point: str) -> None:
        """The next delivery stops right after `point` as if the process died (the write happened)."""
        ...

    def trouble(self, kind: str) -> None:
        """Every write of the record's file meets `kind` until `clear()`."""
        ...

    def clear(self) -> None: ...

    def put_on_default(self, path: str, content: bytes) -> None:
        """Someone else's file at `path` on the default branch."""
        ...


class Crash(Exception):
    """The process 'died' right after a write."""


class _BreakingGit(Git):
    """Git that fails on demand: after the n-th ref update (a crash), or on every fast-import (an unusable disk)."""

    def __init__(self) -> None:
        super().__init__()
        self.crash_at: int | None = None
        self.broken = False

    def run(self, repository: Path, args: Sequence[str], **options: Any) -> subprocess.CompletedProcess[bytes]:
        if self.broken and args[:1] == ["fast-import"]:
            raise StoreUnavailable("the local git repository could not be read or written; see the receiver's log")
        done = super().run(repository, args, **options)
        if list(args[:2]) == ["update-ref", "--stdin"] and self.crash_at is not None:
            self.crash_at -= 1
            if self.crash_at == 0:
                self.crash_at = None
                raise Crash("crashed after a ref update")
        return done

    def start(self, repository: Path, args: Sequence[str], **options: Any) -> subprocess.Popen[bytes]:
        # Direct mode talks to fast-import through `start`: an unusable disk breaks it there too.
        if self.broken and args[:1] == ["fast-import"]:
            raise StoreUnavailable("the local git repository could not be read or written; see the receiver's log")
        return super().start(repository, args, **options)


@dataclass
class LocalWorld:
    """The local store in branch mode: a branch per record, checked, merged and deleted in one ref update."""

    repository: Path
    clock: FakeClock = field(default_factory=FakeClock)
    git: _BreakingGit = field(default_factory=_BreakingGit)

    def store(self) -> Store:
        return LocalGitStore(self.repository, mode="branch", git=self.git, clock=lambda: datetime.fromtimestamp(self.clock.now(), timezone.utc))

    def _blob(self, rev: str, path: str) -> str | None:
        done = subprocess.run(["git", f"--git-dir={self.repository}", "rev-parse", "--verify", "--quiet", f"{rev}:{path}"], capture_output=True)
        return done.stdout.decode().strip() or None

    def holds(self, record: Record) -> bool:
        return self._blob("main", record.path) == blob_id(record.to_bytes())

    def copies(self, record: Record) -> int:
        on_main = 1 if self._blob("main", record.path) else 0
        branches = [r for r in refs(self.repository) if r == f"refs/heads/{record.branch}"]
        return on_main + len(branches)

    def crash_after(self, point: str) -> None:
        # Locally the branch is created with its file in one commit, and the
        # merge is what a pull request's merge is on GitHub.
        self.git.crash_at = 2 if point in ("merge", "pull") else 1

    def trouble(self, kind: str) -> None:
        if kind == "unavailable":
            self.git.broken = True
        else:
            raise ValueError(kind)

    def clear(self) -> None:
        self.git.broken, self.git.crash_at = False, None

    def put_on_default(self, path: str, content: bytes) -> None:
        store = LocalGitStore(self.repository, mode="direct")
        blob = git_hash(self.repository, content)
        head = store._lookup("refs/heads/main", [])[0]
        commit, pending = store._commit(parent=head, merge=None, files=[(path, blob)], message="someone else's file\n")
        store._move([("refs/heads/main", commit, head)], pending=pending)


def git_hash(repository: Path, content: bytes) -> str:
    done = subprocess.run(["git", f"--git-dir={repository}", "hash-object", "-w", "--stdin"], input=content, capture_output=True, check=True)
    return done.stdout.decode().strip()


@dataclass
class GitHubWorld:
    """The GitHub store in pull-request mode, against the fake through PyGithub."""

    fake: FakeGitHub
    clock: FakeClock

    def store(self) -> Store:
        from tests.support.github_world import pygithub

        return GitHubStore(REPO, clock=self.clock.now, sleep=self.clock.advance, github=pygithub())

    def holds(self, record: Record) -> bool:
        content = record.to_bytes()
        if self.fake.files(REPO).get(record.path) == content:
            return True
        open_heads = {p.head_ref for p in self.fake.pulls(REPO, "open")}
        return record.branch in open_heads and self.fake.files(REPO, record.branch).get(record.path) == content

    def copies(self, record: Record) -> int:
        on_main = 1 if record.path in self.fake.files(REPO) else 0
        branch = 1 if f"refs/heads/{record.branch}" in self.fake.refs(REPO) else 0
        pulls = len([p for p in self.fake.pulls(REPO, "all") if p.head_ref == record.branch])
        return on_main + branch + pulls

    def crash_after(self, point: str) -> None:
        if point == "merge":
            return  # arranged by the test: merge in the fake, delete the branch
        method, path = {"branch": ("POST", r"/git/refs$"), "file": ("PUT", r"/contents/"), "pull": ("POST", r"/pulls$")}[point]
        self.fake.add_fault(Fault("drop", method=method, path=path, after=True, count=1))

    def trouble(self, kind: str) -> None:
        if kind == "refused":
            self.fake.add_fault(Fault(**RULE_VIOLATION))  # type: ignore[arg-type]
        else:
            self.fake.add_fault(Fault("status", status=500, method="PUT", path=r"/contents/", count=None))

    def clear(self) -> None:
        self.fake.faults.clear()

    def put_on_default(self, path: str, content: bytes) -> None:
        from tests.support.github_world import pygithub

        pygithub().get_repo(REPO).create_file(path, "someone else's file", content.decode("utf-8"), branch="main")

    def merge_and_delete(self, record: Record) -> None:
        """A maintainer merges the record's pull request and GitHub deletes its branch."""
        from tests.support.github_world import pygithub

        repo = pygithub().get_repo(REPO)
        [pull] = [p for p in repo.get_pulls(state="open") if p.head.ref == record.branch]
        pull.merge()
        repo.get_git_ref(f"heads/{record.branch}").delete()


def run_worker(worker: DeliveryWorker, clock: FakeClock, *, steps: int = 40) -> list[Outcome]:
    """Step the worker on the fake clock until the journal has nothing due (or `steps` run out)."""
    seen = []
    for _ in range(steps):
        outcome = worker.run_once()
        seen.append(outcome)
        if not worker.journal.pending(1_000, now=clock.now()) and worker.journal.next_due() is None:
            break
        clock.advance(max(outcome.wait, 0.001))
    return seen


@dataclass
class Harness:
    world: World
    journal: Journal

    def worker(self, store: Store, *, max_refusals: int = 3) -> DeliveryWorker:
        clock = self.world.clock
        return DeliveryWorker(
            self.journal,
            store,
            max_refusals=max_refusals,
            clock=clock.now,
            jitter=lambda: 0.0,
            wall_clock=lambda: datetime.fromtimestamp(clock.now(), timezone.utc),
        )

    def admit(self, *records: Record) -> None:
        for record in records:
            self.journal.admit_async(record).result(timeout=10)


def journal_at(path: Path) -> Iterator[Journal]:
    journal = Journal(path).open()
    try:
        yield journal
    finally:
        journal.close()
