"""Records stored by an earlier receiver, at the earlier layout's path, count as delivered: the local store never stores one twice."""

from __future__ import annotations

import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from receiver.contract.outcomes import Delivered, Refused
from receiver.contract.records import Record
from receiver.delivery.worker import DeliveryWorker
from receiver.journal import Journal
from receiver.stores.local import LocalGitStore
from tests.stores.conftest import MakeRecord
from tests.stores.gitread import git

CLOCK = datetime(2026, 1, 15, 12, 30, tzinfo=timezone.utc)


def store_as_before(repository: Path, files: dict[str, bytes]) -> str:
    """Commit files at the given paths on main, as a receiver of the earlier layout did; the new head."""
    if not repository.exists():
        subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(repository)], check=True)
    head = subprocess.run(["git", f"--git-dir={repository}", "rev-parse", "--verify", "--quiet", "main"], capture_output=True, text=True).stdout.strip()
    stream = [b"commit refs/heads/main\ncommitter old <old@localhost> 1765000000 +0000\ndata 4\nold\n"]
    if head:
        stream.append(b"from %s\n" % head.encode())
    stream += [b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(content), content) for path, content in files.items()]
    subprocess.run(["git", f"--git-dir={repository}", "fast-import", "--quiet"], input=b"".join(stream) + b"\n", check=True)
    return git(repository, "rev-parse", "main").strip()


def files_on(repository: Path) -> list[str]:
    return git(repository, "ls-tree", "-r", "--name-only", "main").split()


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    return tmp_path / "data.git"


def open_store(repository: Path, mode: str = "direct") -> LocalGitStore:
    return LocalGitStore(repository, mode=mode, clock=lambda: CLOCK)  # type: ignore[arg-type]


class TestNewRecords:
    def test_a_new_record_is_written_at_the_deeper_path(self, repository: Path, make_record: MakeRecord) -> None:
        """Three folders below the video's folder, named by the id's first, next two and fourth characters."""
        record = make_record(1)
        [result] = open_store(repository).deliver([record])
        assert isinstance(result, Delivered) and result.path == record.path
        assert files_on(repository) == [record.path]
        assert record.path.split("/")[3:6] == [record.id[0], record.id[1:3], record.id[3]]


class TestRecordsStoredBefore:
    def test_a_record_at_its_earlier_path_is_delivered_without_a_commit(self, repository: Path, make_record: MakeRecord) -> None:
        """Its exact bytes at the earlier path: delivered, not created, at that path, and main does not move."""
        record = make_record(1)
        head = store_as_before(repository, {record.legacy_path: record.to_bytes()})
        assert open_store(repository).deliver([record]) == [Delivered(record.id, record.legacy_path, head, False)]
        assert git(repository, "rev-parse", "main").strip() == head
        assert files_on(repository) == [record.legacy_path]

    def test_a_batch_of_old_and_new_commits_only_the_new_and_names_only_them(self, repository: Path, make_record: MakeRecord) -> None:
        """The commit adds the new record alone, and its message speaks of that one record."""
        old, new = make_record(1), make_record(2)
        store_as_before(repository, {old.legacy_path: old.to_bytes()})
        results = open_store(repository).deliver([old, new])
        assert [(r.path, r.created) for r in results if isinstance(r, Delivered)] == [(old.legacy_path, False), (new.path, True)]
        assert git(repository, "diff-tree", "-r", "--name-only", "--no-commit-id", "main").split() == [new.path]
        assert git(repository, "log", "-1", "--format=%s", "main").strip().startswith("Add annotation for frame")
        assert not [ref for ref in git(repository, "for-each-ref", "--format=%(refname)").split() if ref.startswith("refs/receiver/")]

    def test_another_file_at_the_earlier_path_is_refused_not_doubled(self, repository: Path, make_record: MakeRecord) -> None:
        """Other bytes at the earlier path: refused, as at the current path, and nothing is written."""
        record = make_record(1)
        head = store_as_before(repository, {record.legacy_path: b'{"something": "else"}\n'})
        [result] = open_store(repository).deliver([record])
        assert isinstance(result, Refused) and "different file" in result.reason
        assert git(repository, "rev-parse", "main").strip() == head

    def test_a_record_at_its_earlier_path_is_not_missing(self, repository: Path, make_record: MakeRecord) -> None:
        """The start-up check finds records delivered before the deeper layout where they are."""
        old, lost = make_record(1), make_record(2)
        store_as_before(repository, {old.legacy_path: old.to_bytes()})
        assert open_store(repository).missing([old, lost]) == [lost.id]

    def test_branch_mode_finds_a_record_at_its_earlier_path(self, repository: Path, make_record: MakeRecord) -> None:
        """Per-record branches: a record already on main at its earlier path makes no branch and no commit."""
        record = make_record(1)
        head = store_as_before(repository, {record.legacy_path: record.to_bytes()})
        [result] = open_store(repository, mode="branch").deliver([record])
        assert isinstance(result, Delivered) and (result.path, result.created, result.commit) == (record.legacy_path, False, head)
        assert git(repository, "for-each-ref", "--format=%(refname)").split() == ["refs/heads/main"]

    def test_a_repost_into_a_fresh_journal_is_found_as_delivered(self, tmp_path: Path, repository: Path, make_record: MakeRecord) -> None:
        """The journal was lost, the volunteer posts again: the worker marks it delivered at the earlier path, stored once."""
        record = make_record(1)
        head = store_as_before(repository, {record.legacy_path: record.to_bytes()})
        with Journal(tmp_path / "journal.sqlite3") as journal:
            journal.admit_async(Record.from_stored(record.to_bytes())).result(timeout=10)
            outcome = DeliveryWorker(journal, open_store(repository)).run_once()
            entry = journal.get(record.id)
        assert outcome.delivered == 1 and entry is not None
        assert (entry.state, entry.path, entry.commit) == ("delivered", record.legacy_path, head)
        assert [path for path in files_on(repository) if path.endswith(f"/{record.id}.json")] == [record.legacy_path]
