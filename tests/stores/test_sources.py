"""Reading records from a folder or a git repository: valid ones in, the rest skipped with a reason."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from receiver.consensus import records_table
from receiver.contract.records import Record
from receiver.contract.validation import Validator
from receiver.stores.local import LocalGitStore
from receiver.stores.sources import Skipped, SourceError, collect, open_source, stream
from tests.export.records import KEYPOINTS, TRUTH, record, write_folder


class TestOpenSource:
    def test_a_bare_repository_is_read_with_git(self, tmp_path: Path) -> None:
        """A bare repository is a git source."""
        LocalGitStore(tmp_path / "data.git")
        assert open_source(tmp_path / "data.git").kind == "git"

    def test_a_plain_folder_is_walked(self, tmp_path: Path) -> None:
        """A folder without git is read file by file."""
        assert open_source(tmp_path).kind == "folder"

    def test_a_missing_path_says_what_to_pass(self, tmp_path: Path) -> None:
        """A path that does not exist is refused with what to pass instead."""
        with pytest.raises(SourceError, match="pass an annotations/ folder"):
            open_source(tmp_path / "nowhere")


class TestCollect:
    def test_folder_records_are_read_and_broken_files_skipped(self, tmp_path: Path, validator: Validator) -> None:
        """Valid records are returned; a file that is not JSON is skipped with the parser's sentence."""
        good = record(TRUTH)
        folder = write_folder(tmp_path, [good])
        (folder / "broken.json").write_text("{not json", encoding="utf-8")
        collection = collect(open_source(folder), validator)
        assert [r.id for r in collection.records] == [good.id]
        (skipped,) = collection.skipped
        assert skipped.path.endswith("broken.json") and "not valid JSON" in skipped.reason

    def test_an_edited_record_is_skipped_with_the_validators_reason(self, tmp_path: Path, validator: Validator) -> None:
        """A record whose content no longer matches its id is skipped, and the reason says so."""
        edited = record(TRUTH)
        folder = write_folder(tmp_path, [edited])
        path = tmp_path / edited.path
        path.write_text(path.read_text().replace('"alice"', '"mallory"'), encoding="utf-8")
        collection = collect(open_source(folder), validator)
        assert collection.records == []
        assert "/receipt/id" in collection.skipped[0].reason

    def test_git_records_come_from_the_default_branch(self, tmp_path: Path, validator: Validator) -> None:
        """Records delivered to a bare repository are read back without a checkout."""
        records = [record(TRUTH, submitter=name) for name in ("ada", "bo", "cy")]
        LocalGitStore(tmp_path / "data.git").deliver(records)
        collection = collect(open_source(tmp_path / "data.git"), validator)
        assert sorted(r.id for r in collection.records) == sorted(r.id for r in records)
        assert collection.records[0] in records

    def test_git_variables_of_the_host_do_not_redirect_the_read(
        self, tmp_path: Path, validator: Validator, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """GIT_OBJECT_DIRECTORY naming another repository's objects is ignored: the source named is the one read."""
        wanted, other = record(TRUTH, submitter="wanted"), record(TRUTH, submitter="other")
        LocalGitStore(tmp_path / "wanted.git").deliver([wanted])
        LocalGitStore(tmp_path / "other.git").deliver([other])
        monkeypatch.setenv("GIT_OBJECT_DIRECTORY", str(tmp_path / "other.git" / "objects"))
        collection = collect(open_source(tmp_path / "wanted.git"), validator)
        assert [r.id for r in collection.records] == [wanted.id]

    def test_an_empty_repository_has_no_records(self, tmp_path: Path, validator: Validator) -> None:
        """A repository whose default branch has no commit yet gives no records and no error."""
        LocalGitStore(tmp_path / "data.git")
        collection = collect(open_source(tmp_path / "data.git"), validator)
        assert collection.records == [] and collection.skipped == []

    def test_a_broken_committed_file_is_skipped(self, tmp_path: Path, validator: Validator) -> None:
        """A committed file that fails validation is skipped with its repository path."""
        repo = tmp_path / "data.git"
        LocalGitStore(repo).deliver([record(TRUTH)])
        _commit_file(repo, "annotations/zz/broken.json", b"[1, 2")
        collection = collect(open_source(repo), validator)
        assert len(collection.records) == 1
        assert [s.path for s in collection.skipped] == ["annotations/zz/broken.json"]


def _commit_file(repo: Path, path: str, content: bytes) -> None:
    """Add one file on main with git plumbing, as a hand-made commit would."""

    def git(*args: str, data: bytes | None = None) -> str:
        done = subprocess.run(["git", f"--git-dir={repo}", *args], input=data, capture_output=True, check=True)
        return done.stdout.decode().strip()

    blob = git("hash-object", "-w", "--stdin", data=content)
    index = repo / "tmp-index"
    env_index = {"GIT_INDEX_FILE": str(index)}
    subprocess.run(["git", f"--git-dir={repo}", "read-tree", "main"], env={**_env(), **env_index}, check=True)
    subprocess.run(
        ["git", f"--git-dir={repo}", "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}"],
        env={**_env(), **env_index},
        check=True,
    )
    tree = subprocess.run(
        ["git", f"--git-dir={repo}", "write-tree"], env={**_env(), **env_index}, capture_output=True, check=True
    ).stdout.decode().strip()
    parent = git("rev-parse", "main")
    commit = subprocess.run(
        ["git", f"--git-dir={repo}", "commit-tree", tree, "-p", parent, "-m", "Add a broken file"],
        env={**_env(), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"},
        capture_output=True,
        check=True,
    ).stdout.decode().strip()
    git("update-ref", "refs/heads/main", commit)


def _env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "")}


class TestStream:
    def test_a_folder_streams_into_the_click_table(self, tmp_path: Path, validator: Validator) -> None:
        """Streamed records become the click table that the collected ones give, skipped files left aside."""
        records = [record(TRUTH, submitter=f"v{i}") for i in range(3)]
        folder = write_folder(tmp_path, records)
        (folder / "broken.json").write_text("{not json", encoding="utf-8")
        skipped: list[Skipped] = []

        def valid(items: Iterable[Record | Skipped]) -> Iterator[Record]:
            for item in items:
                if isinstance(item, Skipped):
                    skipped.append(item)
                else:
                    yield item

        table = records_table(valid(stream(open_source(folder), validator)), KEYPOINTS)
        assert sorted(table.record_ids) == sorted(r.id for r in records)
        assert [s.path.endswith("broken.json") for s in skipped] == [True]
