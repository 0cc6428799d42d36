"""LocalGitStore against real git in tmp_path: what lands in the bare repository, and what it reports."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from receiver.contract.records import Record, video_key
from receiver.contract.validation import Validator
from receiver.stores import Delivered, Refused, Store, StoreConflict, StoreUnavailable
from receiver.stores.git import Git
from receiver.stores.local import LocalGitStore, Mode
from tests.stores.conftest import COMMITTED, MakeRecord
from tests.stores.gitread import git, git_bytes, refs


def clock() -> datetime:
    return COMMITTED


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    return tmp_path / "data" / "annotations.git"


@pytest.fixture
def open_store(repository: Path, validator: Validator) -> Callable[..., LocalGitStore]:
    """A store on the test's repository with a fixed clock; keywords override."""

    def open_(mode: Mode = "direct", *, git: Git | None = None) -> LocalGitStore:
        return LocalGitStore(repository, mode=mode, clock=clock, validator=validator, git=git)

    return open_


def files_on(repository: Path, rev: str = "main") -> list[str]:
    return git(repository, "ls-tree", "-r", "--name-only", rev).split()


def commit_count(repository: Path, rev: str = "main") -> int:
    return int(git(repository, "rev-list", "--count", rev))


def fsck(repository: Path) -> str:
    """`git fsck --strict` problems (a lost race leaves dangling objects, which are no problem)."""
    return git(repository, "fsck", "--strict", "--no-dangling", "--no-progress")


class MovingGit(Git):
    """Runs `interfere` once, just before the store's `at`-th ref update: another writer got there first.

    A ref update is an `update-ref --stdin` (branch mode) or a fast-import conversation (direct mode, which moves the branch itself).
    """

    def __init__(self, interfere: Callable[[], object], *, at: int = 1) -> None:
        super().__init__()
        self.interfere = interfere
        self.updates_left = at

    def _updating(self) -> None:
        self.updates_left -= 1
        if self.updates_left == 0:
            self.interfere()

    def run(self, repository: Path, args: Sequence[str], **options: Any) -> subprocess.CompletedProcess[bytes]:
        if list(args[:2]) == ["update-ref", "--stdin"]:
            self._updating()
        return super().run(repository, args, **options)

    def start(self, repository: Path, args: Sequence[str], **options: Any) -> subprocess.Popen[bytes]:
        if args[:1] == ["fast-import"]:
            self._updating()
        return super().start(repository, args, **options)


class TestProtocol:
    def test_is_a_store(self, open_store: Callable[..., LocalGitStore]) -> None:
        """LocalGitStore satisfies the Store protocol under the name 'local'."""
        store: Store = open_store()
        assert store.name == "local"

    def test_describe_names_mode_and_branch_but_no_path(
        self, open_store: Callable[..., LocalGitStore], repository: Path
    ) -> None:
        """describe() gives kind, mode and branch, and never the repository's path."""
        facts = open_store("branch").describe()
        assert facts == {"store": "local", "mode": "branch", "branch": "main"}
        assert str(repository.parent) not in repr(facts)


class TestRepository:
    def test_missing_bare_repository_is_created_with_parents(
        self, open_store: Callable[..., LocalGitStore], repository: Path
    ) -> None:
        """A missing repository path becomes a bare repository whose HEAD is the default branch."""
        open_store()
        assert git(repository, "rev-parse", "--is-bare-repository").strip() == "true"
        assert git(repository, "symbolic-ref", "HEAD").strip() == "refs/heads/main"

    def test_first_commit_has_no_parent(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """The first delivery into an empty repository makes a root commit."""
        open_store().deliver([make_record(1)])
        assert git(repository, "rev-list", "--parents", "main").split() == [git(repository, "rev-parse", "main").strip()]

    def test_existing_repository_is_reused(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """A second store on the same path builds on the first's history."""
        open_store().deliver([make_record(1)])
        open_store().deliver([make_record(2)])
        assert commit_count(repository) == 2

    def test_inherited_git_variables_are_ignored(
        self,
        open_store: Callable[..., LocalGitStore],
        repository: Path,
        make_record: MakeRecord,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """GIT_DIR and GIT_INDEX_FILE in the receiver's environment do not redirect the store."""
        elsewhere = tmp_path / "elsewhere.git"
        subprocess.run(["git", "init", "--quiet", "--bare", str(elsewhere)], check=True)
        monkeypatch.setenv("GIT_DIR", str(elsewhere))
        monkeypatch.setenv("GIT_INDEX_FILE", str(tmp_path / "index"))
        open_store().deliver([make_record(1)])
        monkeypatch.delenv("GIT_DIR")
        monkeypatch.delenv("GIT_INDEX_FILE")
        assert commit_count(repository) == 1
        assert refs(elsewhere) == []


class TestDirect:
    def test_files_hold_exactly_the_record_bytes(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """Each record's file on main is its to_bytes() at its path."""
        batch = [make_record(n) for n in range(5)]
        open_store().deliver(batch)
        assert sorted(files_on(repository)) == sorted(record.path for record in batch)
        for record in batch:
            assert git_bytes(repository, "show", f"main:{record.path}") == record.to_bytes()

    def test_repository_passes_strict_fsck(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """After two batches, `git fsck --strict` reports nothing."""
        store = open_store()
        store.deliver([make_record(n) for n in range(10)])
        store.deliver([make_record(n) for n in range(10, 20)])
        assert fsck(repository) == ""

    def test_one_commit_per_batch_says_how_many(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """A batch is one commit whose subject counts the records it adds."""
        open_store().deliver([make_record(n) for n in range(3)])
        assert commit_count(repository) == 1
        assert git(repository, "log", "-1", "--format=%s", "main").strip() == "Add 3 annotations"

    def test_one_record_commit_names_its_frame_and_video(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """A one-record commit's message gives the frame, the video's key and the record id (never the volunteer's URL)."""
        record = make_record(7)
        open_store().deliver([record])
        message = git(repository, "log", "-1", "--format=%B", "main")
        assert message.startswith("Add annotation for frame 7 of video ")
        assert video_key(record.submission["video_url"]) in message and record.submission["video_url"] not in message
        assert record.id in message

    def test_results_report_the_new_commit(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """Every new record is reported created, with the commit now at main, in the batch's order."""
        batch = [make_record(n) for n in range(3)]
        results = open_store().deliver(batch)
        head = git(repository, "rev-parse", "main").strip()
        assert results == [Delivered(r.id, r.path, head, True) for r in batch]

    def test_commit_identity_and_date_come_from_the_store(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """Author, committer and their dates are the store's author and clock."""
        open_store().deliver([make_record(1)])
        line = git(repository, "log", "-1", "--format=%an <%ae> %at|%cn <%ce> %ct", "main").strip()
        stamp = int(COMMITTED.timestamp())
        assert line == f"pose-receiver <receiver@localhost> {stamp}|pose-receiver <receiver@localhost> {stamp}"

    def test_redelivery_makes_no_commit(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """Delivering the same records again leaves main where it was."""
        store = open_store()
        batch = [make_record(n) for n in range(4)]
        store.deliver(batch)
        head = git(repository, "rev-parse", "main")
        store.deliver(batch)
        assert git(repository, "rev-parse", "main") == head

    def test_redelivery_reports_not_created(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """Records already stored come back created=False with the current head."""
        store = open_store()
        batch = [make_record(n) for n in range(4)]
        store.deliver(batch)
        head = git(repository, "rev-parse", "main").strip()
        assert store.deliver(batch) == [Delivered(r.id, r.path, head, False) for r in batch]

    def test_mixed_batch_adds_only_the_new(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """A batch of old and new records commits just the new ones."""
        store = open_store()
        store.deliver([make_record(1), make_record(2)])
        results = store.deliver([make_record(1), make_record(3), make_record(2), make_record(4)])
        assert [r.created for r in results] == [False, True, False, True]
        assert git(repository, "diff-tree", "-r", "--name-only", "--no-commit-id", "main").split() == sorted(
            [make_record(3).path, make_record(4).path]
        )

    def test_duplicates_in_a_batch_write_one_file(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """The same record twice in one batch is one file and one outcome."""
        results = open_store().deliver([make_record(1), make_record(1)])
        assert files_on(repository) == [make_record(1).path]
        assert [(r.record_id, r.created) for r in results if isinstance(r, Delivered)] == [(make_record(1).id, True)]

    def test_empty_batch_does_nothing(self, open_store: Callable[..., LocalGitStore], repository: Path) -> None:
        """An empty batch returns no results and creates no branch."""
        assert open_store().deliver([]) == []
        assert refs(repository) == []

    def test_no_pending_refs_remain(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """The scratch ref fast-import needs is gone after a delivery."""
        open_store().deliver([make_record(1)])
        assert refs(repository) == ["refs/heads/main"]

    def test_many_batches_keep_few_packs_and_fsck_clean(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """Packs from many batches are folded together, and the result stays fsck-clean."""
        store = open_store()
        # Twenty records are over a hundred objects: enough for fast-import to write a pack.
        for start in range(0, 600, 20):
            store.deliver([make_record(n) for n in range(start, start + 20)])
        packs = list((repository / "objects" / "pack").glob("*.pack"))
        assert len(packs) < 30
        assert commit_count(repository) == 30
        assert len(files_on(repository)) == 600
        assert fsck(repository) == ""


class TestConflict:
    def test_ref_moved_by_another_writer_raises_conflict(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """When main moves between reading the head and updating it, deliver raises StoreConflict."""
        store = open_store(git=MovingGit(lambda: open_store().deliver([make_record(99)])))
        with pytest.raises(StoreConflict):
            store.deliver([make_record(1)])

    def test_conflict_keeps_the_other_writers_commit(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """The losing writer leaves main at the winner's commit, with no scratch refs."""
        store = open_store(git=MovingGit(lambda: open_store().deliver([make_record(99)])))
        with pytest.raises(StoreConflict):
            store.deliver([make_record(1)])
        assert files_on(repository) == [make_record(99).path]
        assert refs(repository) == ["refs/heads/main"]

    def test_retry_after_conflict_succeeds(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """Retrying the same batch after a conflict commits it on top of the other writer's commit."""
        store = open_store(git=MovingGit(lambda: open_store().deliver([make_record(99)])))
        with pytest.raises(StoreConflict):
            store.deliver([make_record(1)])
        [result] = store.deliver([make_record(1)])
        assert result.created
        assert sorted(files_on(repository)) == sorted([make_record(1).path, make_record(99).path])
        assert commit_count(repository) == 2
        assert fsck(repository) == ""

    def test_a_branch_moved_between_batches_is_built_on_not_fought(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """Another writer's commit between two batches is seen: the next batch goes on top of it, with no conflict."""
        store = open_store()
        store.deliver([make_record(1)])
        open_store().deliver([make_record(99)])
        [result] = store.deliver([make_record(2)])
        assert result.created
        assert sorted(files_on(repository)) == sorted(make_record(n).path for n in (1, 2, 99))
        assert commit_count(repository) == 3

    def test_conflict_message_names_the_branch_not_the_path(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """The conflict's message says which branch moved and to retry, without any path."""
        store = open_store(git=MovingGit(lambda: open_store().deliver([make_record(99)])))
        with pytest.raises(StoreConflict) as caught:
            store.deliver([make_record(1)])
        assert str(caught.value) == "the main branch moved while writing; retry"


class TestBranchMode:
    def test_each_record_is_merged_into_main(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """Every record's file reaches main with its exact bytes, one commit per record."""
        batch = [make_record(n) for n in range(3)]
        open_store("branch").deliver(batch)
        assert commit_count(repository) == 3
        for record in batch:
            assert git_bytes(repository, "show", f"main:{record.path}") == record.to_bytes()

    def test_results_name_each_records_branch(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """Each result is created, carries its record's branch name and a commit main contains."""
        batch = [make_record(n) for n in range(3)]
        results = open_store("branch").deliver(batch)
        assert [(r.branch, r.created) for r in results] == [(rec.branch, True) for rec in batch]
        for result in results:
            assert result.commit is not None
            git(repository, "merge-base", "--is-ancestor", result.commit, "main")

    def test_each_branch_commit_adds_one_file(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """Each record's commit changes exactly its own file."""
        batch = [make_record(n) for n in range(3)]
        results = open_store("branch").deliver(batch)
        for record, result in zip(batch, results):
            assert result.commit is not None
            changed = git(repository, "diff-tree", "--root", "-r", "--name-only", "--no-commit-id", result.commit)
            assert changed.split() == [record.path]

    def test_merged_branches_are_deleted(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """After merging, only main is left: record branches do not pile up."""
        open_store("branch").deliver([make_record(n) for n in range(3)])
        assert refs(repository) == ["refs/heads/main"]

    def test_redelivery_changes_nothing(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """Delivering merged records again makes no commit and no branch, and reports created=False."""
        store = open_store("branch")
        batch = [make_record(n) for n in range(3)]
        store.deliver(batch)
        head = git(repository, "rev-parse", "main").strip()
        results = store.deliver(batch)
        assert [(r.created, r.commit, r.branch) for r in results] == [(False, head, rec.branch) for rec in batch]
        assert refs(repository) == ["refs/heads/main"]

    def test_existing_branch_is_adopted_with_a_merge_commit(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """A record's branch left from before is merged as it is, with two parents once main has moved."""
        direct = open_store()
        direct.deliver([make_record(1)])
        record = make_record(2)
        git(repository, "update-ref", f"refs/heads/{record.branch}", "main")
        LocalGitStore(repository, branch=record.branch, clock=clock).deliver([record])
        branch_tip = git(repository, "rev-parse", record.branch).strip()
        direct.deliver([make_record(3)])
        main_before = git(repository, "rev-parse", "main").strip()
        [result] = open_store("branch").deliver([record])
        assert result.created is False
        assert git(repository, "rev-list", "--parents", "-n", "1", "main").split()[1:] == [main_before, branch_tip]
        assert sorted(files_on(repository)) == sorted(make_record(n).path for n in (1, 2, 3))

    def test_branch_mode_passes_strict_fsck(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """After branch-mode deliveries, `git fsck --strict` reports nothing."""
        store = open_store("branch")
        store.deliver([make_record(n) for n in range(3)])
        store.deliver([make_record(n) for n in range(2, 5)])
        assert fsck(repository) == ""


def tampered(record: Record) -> Record:
    """The record with its submission edited after receipt: its id no longer matches its content."""
    submission = dict(record.submission, frame_index=record.submission["frame_index"] + 1)
    return dataclasses.replace(record, submission=submission)


class TestBranchModeInvalid:
    def test_invalid_record_is_reported_without_a_commit(
        self, open_store: Callable[..., LocalGitStore], make_record: MakeRecord
    ) -> None:
        """A record failing the check comes back with commit None and its branch, beside valid ones."""
        bad = tampered(make_record(1))
        results = open_store("branch").deliver([bad, make_record(2)])
        assert (results[0].commit, results[0].branch, results[0].created) == (None, bad.branch, True)
        assert results[1].commit is not None

    def test_invalid_record_is_not_merged(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """Main holds the valid record's file only."""
        open_store("branch").deliver([tampered(make_record(1)), make_record(2)])
        assert files_on(repository) == [make_record(2).path]

    def test_invalid_record_keeps_its_branch_for_review(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """The failing record's branch stays, holding its file, like a pull request left open."""
        bad = tampered(make_record(1))
        open_store("branch").deliver([bad])
        assert git_bytes(repository, "show", f"{bad.branch}:{bad.path}") == bad.to_bytes()

    def test_invalid_record_redelivered_is_not_duplicated(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """Delivering the failing record again adopts its branch: same tip, created=False, still unmerged."""
        store = open_store("branch")
        bad = tampered(make_record(1))
        store.deliver([bad])
        tip = git(repository, "rev-parse", bad.branch)
        [again] = store.deliver([bad])
        assert (again.commit, again.created) == (None, False)
        assert git(repository, "rev-parse", bad.branch) == tip


class TestFailures:
    def test_repository_path_is_a_file(self, tmp_path: Path) -> None:
        """A file where the repository should be raises StoreUnavailable naming no path."""
        path = tmp_path / "secret-location" / "data.git"
        path.parent.mkdir()
        path.write_text("not a repository")
        with pytest.raises(StoreUnavailable) as caught:
            LocalGitStore(path)
        assert "secret-location" not in str(caught.value)
        assert "/" not in str(caught.value)

    def test_a_folder_of_something_else_is_named_for_what_it_is_and_left_alone(self, tmp_path: Path) -> None:
        """Not empty and not a repository: the error says so and what to do, naming no path, and touches nothing."""
        path = tmp_path / "secret-location" / "data.git"
        path.mkdir(parents=True)
        (path / "notes.txt").write_text("someone else's folder")
        with pytest.raises(StoreUnavailable) as caught:
            LocalGitStore(path)
        assert str(caught.value) == (
            "its path holds a folder that is not empty and no git repository; move that away"
            " (a new repository is made in its place) or set RECEIVER_LOCAL_REPO to a bare repository"
        )
        assert [p.name for p in path.iterdir()] == ["notes.txt"]

    def test_broken_repository_fails_delivery(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """A repository whose object store vanished raises StoreUnavailable on deliver, naming no path."""
        store = open_store()
        shutil.rmtree(repository / "objects")
        (repository / "objects").write_text("gone")
        with pytest.raises(StoreUnavailable) as caught:
            store.deliver([make_record(1)])
        assert str(repository.parent) not in str(caught.value)
        assert "/" not in str(caught.value)

    def test_git_missing(self, repository: Path, tmp_path: Path) -> None:
        """No git executable raises StoreUnavailable that says so, naming no path."""
        with pytest.raises(StoreUnavailable) as caught:
            LocalGitStore(repository, git=Git(str(tmp_path / "no-such-git")))
        assert str(caught.value) == "git is not installed or not on the receiver's PATH"

    def test_unsafe_path_is_refused(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """A hand-made record whose id would break out of its folder is refused before any write."""
        evil = dataclasses.replace(make_record(1), id="../../x\nM 100644 inline y")
        [outcome] = open_store().deliver([evil])
        assert isinstance(outcome, Refused) and "path" in outcome.reason
        assert refs(repository) == []


class TestBranchModeConflict:
    def test_main_moved_before_merge_raises_conflict(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """If main moves between branching and merging, deliver raises StoreConflict and keeps the branch."""
        record = make_record(1)
        # The first ref update creates the record's branch; the second is the merge.
        store = open_store("branch", git=MovingGit(lambda: open_store().deliver([make_record(99)]), at=2))
        with pytest.raises(StoreConflict):
            store.deliver([record])
        assert record.path not in files_on(repository)
        assert f"refs/heads/{record.branch}" in refs(repository)

    def test_retry_after_conflict_merges_the_kept_branch(
        self, open_store: Callable[..., LocalGitStore], repository: Path, make_record: MakeRecord
    ) -> None:
        """Retrying adopts the kept branch and merges it with a two-parent commit, deleting the branch."""
        record = make_record(1)
        store = open_store("branch", git=MovingGit(lambda: open_store().deliver([make_record(99)]), at=2))
        with pytest.raises(StoreConflict):
            store.deliver([record])
        [result] = store.deliver([record])
        assert (result.created, result.commit) == (False, git(repository, "rev-parse", "main").strip())
        assert len(git(repository, "rev-list", "--parents", "-n", "1", "main").split()) == 3
        assert sorted(files_on(repository)) == sorted([record.path, make_record(99).path])
        assert refs(repository) == ["refs/heads/main"]
        assert fsck(repository) == ""


class TestStartingTogether:
    def test_stores_opened_at_once_on_a_missing_path_share_one_repository(self, tmp_path: Path) -> None:
        """Receiver processes starting together never see half a repository: all open, one repository results."""
        import threading

        path = tmp_path / "data" / "annotations.git"
        barrier = threading.Barrier(6)
        errors: list[BaseException] = []

        def open_one() -> None:
            barrier.wait()
            try:
                LocalGitStore(path)
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=open_one) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert git(path, "rev-parse", "--is-bare-repository").strip() == "true"
        assert [p.name for p in path.parent.iterdir()] == ["annotations.git"]
