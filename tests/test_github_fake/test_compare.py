"""Comparing commits, the file-listing caps, and tree modes, as PyGithub sees them."""

from __future__ import annotations

import pytest
from github import Github, GithubException, InputGitTreeElement
from github.Repository import Repository

from tests.github_fake import FakeGitHub

from .conftest import REPO


def _commit(repo: Repository, branch: str, files: dict[str, tuple[str, str | None]], *, new: bool = False) -> str:
    """Commit `{path: (mode, content or None to delete)}` on `branch` (made from main when `new`); its id."""
    if new:
        repo.create_git_ref(f"refs/heads/{branch}", repo.get_branch("main").commit.sha)
    ref = repo.get_git_ref(f"heads/{branch}")
    parent = repo.get_git_commit(ref.object.sha)
    elements = [
        InputGitTreeElement(path, mode, "blob", content=content) if content is not None else InputGitTreeElement(path, mode, "blob", sha=None)
        for path, (mode, content) in files.items()
    ]
    tree = repo.create_git_tree(elements, parent.tree)
    commit = repo.create_git_commit("change", tree, [parent])
    ref.edit(commit.sha, force=True)
    return commit.sha


class TestCompare:
    def test_files_are_those_the_head_adds_since_the_merge_base(self, gh: Github) -> None:
        """compare(main, sha) lists the head's files with their status, not what main gained since."""
        repo = gh.get_repo(REPO)
        head = _commit(repo, "topic", {"a.txt": ("100644", "a\n"), "README.md": ("100644", None)}, new=True)
        _commit(repo, "main", {"later.txt": ("100644", "on main\n")})
        found = repo.compare("main", head)
        assert sorted((f.filename, f.status) for f in found.files) == [("README.md", "removed"), ("a.txt", "added")]
        assert (found.ahead_by, found.behind_by, found.total_commits, found.status) == (1, 1, 1, "diverged")
        assert [c.sha for c in found.commits] == [head]

    def test_merge_base_commit_is_where_the_head_left_the_base(self, gh: Github) -> None:
        """merge_base_commit is main's commit the topic branch started from."""
        repo = gh.get_repo(REPO)
        start = repo.get_branch("main").commit.sha
        head = _commit(repo, "topic", {"a.txt": ("100644", "a\n")}, new=True)
        _commit(repo, "main", {"later.txt": ("100644", "x\n")})
        assert repo.compare("main", head).merge_base_commit.sha == start

    def test_comparison_files_stop_at_the_cap_without_saying_so(self, gh: Github, fake: FakeGitHub) -> None:
        """Past the compare cap the files are cut while the pull's changed_files counts them all."""
        fake.set_listing_caps(compare_files=2)
        repo = gh.get_repo(REPO)
        head = _commit(repo, "topic", {f"f{i}.txt": ("100644", f"{i}\n") for i in range(3)}, new=True)
        pull = repo.create_pull(base="main", head="topic", title="t", body="")
        assert len(repo.compare("main", head).files) == 2
        assert pull.changed_files == 3

    def test_pull_files_stop_at_their_own_cap(self, gh: Github, fake: FakeGitHub) -> None:
        """The pull request file listing is cut at its cap (GitHub's 3000), the count is not."""
        fake.set_listing_caps(pull_files=1)
        repo = gh.get_repo(REPO)
        _commit(repo, "topic", {"a.txt": ("100644", "a\n"), "b.txt": ("100644", "b\n")}, new=True)
        pull = repo.create_pull(base="main", head="topic", title="t", body="")
        assert len(list(pull.get_files())) == 1 and pull.changed_files == 2

    def test_unknown_side_is_not_found(self, gh: Github) -> None:
        """A side that names no branch or commit answers 404."""
        repo = gh.get_repo(REPO)
        with pytest.raises(GithubException) as raised:
            _ = repo.compare("main", "nothing-here").files
        assert raised.value.status == 404


class TestTreeModes:
    def test_executable_and_symlink_entries_keep_their_modes(self, gh: Github) -> None:
        """Entries created 100755 and 120000 read back with those modes from the recursive tree."""
        repo = gh.get_repo(REPO)
        head = _commit(repo, "topic", {"run.sh": ("100755", "#!/bin/sh\n"), "link.json": ("120000", "../etc/passwd")}, new=True)
        modes = {entry.path: entry.mode for entry in repo.get_git_tree(head, recursive=True).tree}
        assert modes["run.sh"] == "100755" and modes["link.json"] == "120000" and modes["README.md"] == "100644"
