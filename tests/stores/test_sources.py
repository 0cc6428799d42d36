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

    def test_records_of_both_layouts_are_read_from_git_and_folders(self, tmp_path: Path, validator: Validator) -> None:
        """A record an earlier receiver stored at the two-character path is read beside one at the deeper path."""
        old, new = record(TRUTH, submitter="old"), record(TRUTH, submitter="new")
        repository = tmp_path / "data.git"
        subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(repository)], check=True)
        content = old.to_bytes()
        stream = b"commit refs/heads/main\ncommitter old <old@localhost> 1765000000 +0000\ndata 4\nold\n"
        stream += b"M 100644 inline %s\ndata %d\n%s\n\n" % (old.legacy_path.encode(), len(content), content)
        subprocess.run(["git", f"--git-dir={repository}", "fast-import", "--quiet"], input=stream, check=True)
        LocalGitStore(repository).deliver([new])
        from_git = collect(open_source(repository), validator)
        assert sorted(r.id for r in from_git.records) == sorted([old.id, new.id]) and from_git.skipped == []
        folder = write_folder(tmp_path / "checkout", [new])
        (folder.parent / old.legacy_path).parent.mkdir(parents=True)
        (folder.parent / old.legacy_path).write_bytes(content)
        from_folder = collect(open_source(folder), validator)
        assert sorted(r.id for r in from_folder.records) == sorted([old.id, new.id]) and from_folder.skipped == []

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


class TestMirror:
    """A GitHub-mode store read through git: a bare copy of the remote's default branch, kept in a cache folder."""

    def test_the_first_read_clones_the_default_branch(self, tmp_path: Path) -> None:
        """The copy holds what the remote's branch holds and reads as a git source."""
        from receiver.stores.sources import mirror

        LocalGitStore(tmp_path / "remote.git").deliver([record(TRUTH, submitter="ada")])
        copy = mirror(str(tmp_path / "remote.git"), tmp_path / "cache" / "data.git", branch="main")
        assert [r.submitter for r in collect(open_source(copy), Validator()).records] == ["ada"]

    def test_a_later_read_fetches_what_arrived_since(self, tmp_path: Path) -> None:
        """Records delivered to the remote after the first read are in the copy on the next one."""
        from receiver.stores.sources import mirror

        remote = LocalGitStore(tmp_path / "remote.git")
        remote.deliver([record(TRUTH, submitter="ada")])
        mirror(str(tmp_path / "remote.git"), tmp_path / "cache.git", branch="main")
        remote.deliver([record(TRUTH, submitter="bo", frame_index=11)])
        copy = mirror(str(tmp_path / "remote.git"), tmp_path / "cache.git", branch="main")
        assert sorted(r.submitter for r in collect(open_source(copy), Validator()).records) == ["ada", "bo"]

    def test_an_unreachable_remote_is_a_sentence_without_the_token(self, tmp_path: Path) -> None:
        """A remote git cannot read: SourceError naming it and what to check; the token appears nowhere."""
        from receiver.stores.sources import mirror

        with pytest.raises(SourceError) as caught:
            mirror(str(tmp_path / "nowhere.git"), tmp_path / "cache.git", branch="main", token="s3cret-token")
        message = str(caught.value)
        assert "could not fetch the data repository" in message and "nowhere.git" in message
        assert "s3cret" not in message

    @pytest.mark.parametrize(
        ("api_url", "url"),
        [
            ("https://api.github.com", "https://github.com/owner/data.git"),
            ("https://ghe.example.org/api/v3/", "https://ghe.example.org/owner/data.git"),
        ],
    )
    def test_the_clone_url_follows_the_api_url(self, api_url: str, url: str) -> None:
        """github.com's API gives github.com's git URL; an Enterprise API under /api/v3 gives its host's."""
        from receiver.stores.sources import clone_url

        assert clone_url(api_url, "owner/data") == url
