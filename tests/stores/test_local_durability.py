"""The local store's "delivered" survives power loss: git syncs objects and refs, and lost deliveries are redone at start."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from receiver.delivery.worker import DeliveryWorker
from receiver.journal import Journal
from receiver.stores.git import Git
from receiver.stores.local import LocalGitStore
from tests.stores.gitread import git
from tests.support.captured import numbered_record as record


def test_git_is_told_to_sync_objects_and_refs(tmp_path: Path) -> None:
    """Every git command the store runs sees core.fsync=committed (objects and refs) with a real fsync."""
    store = LocalGitStore(tmp_path / "data.git")
    run = store._run
    assert run(["config", "--get", "core.fsync"]).stdout.strip() == b"committed"
    assert run(["config", "--get", "core.fsyncMethod"]).stdout.strip() == b"fsync"
    # ... and nothing is written to the repository's own configuration.
    assert b"fsync" not in (tmp_path / "data.git" / "config").read_bytes()
    assert isinstance(store._git, Git)



def test_git_keeps_freed_memory_and_the_hosts_own_allocator_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """git runs with glibc's trim threshold raised (fast-import's page faults), after any tunables the host set."""
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2")
    store = LocalGitStore(tmp_path / "data.git")
    seen = store._run(["-c", 'alias.tunables=!printf %s "$GLIBC_TUNABLES"', "tunables"]).stdout.decode()
    assert seen == "glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=67108864"

def test_delivered_records_missing_from_the_store_are_delivered_again_at_start(tmp_path: Path) -> None:
    """A commit the disk lost (the branch rolled back) is found by the next worker and committed again."""
    repository = tmp_path / "data.git"
    store = LocalGitStore(repository)
    records = [record(n) for n in range(3)]
    with Journal(tmp_path / "journal.sqlite3") as journal:
        for rec in records:
            journal.admit_async(rec).result(timeout=10)
        DeliveryWorker(journal, store).run_once()
        first = git(repository, "rev-parse", "main").strip()
        git(repository, "update-ref", "-d", "refs/heads/main", first)  # the power cut took the ref with it
        restarted = DeliveryWorker(journal, LocalGitStore(repository), wall_clock=lambda: datetime.now(timezone.utc))
        outcome = restarted.run_once()
        assert outcome.delivered == 3
        assert journal.counts()["delivered"] == 3
    listed = git(repository, "ls-tree", "-r", "--name-only", "main").split()
    assert sorted(listed) == sorted(r.path for r in records)
