"""The fake's objects are real git objects: a real repository accepts them with the same ids."""

from __future__ import annotations

import subprocess
import zlib
from pathlib import Path

import pytest
from github import Github, InputGitTreeElement

from tests.github_fake import FakeGitHub
from tests.github_fake.gitobjects import Blob, object_id, serialize

from .conftest import REPO

GIT = "/usr/bin/git"

pytestmark = pytest.mark.skipif(not Path(GIT).exists(), reason="needs git")


def git(repo: Path, *args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run([GIT, "-C", str(repo), *args], input=stdin, capture_output=True, check=True).stdout


def export(fake: FakeGitHub, target: Path) -> Path:
    """Write every object as a zlib loose object and every ref of REPO into a bare repository."""
    subprocess.run([GIT, "init", "--bare", "-q", str(target)], check=True)
    for sha, obj in fake.state.objects.items():
        path = target / "objects" / sha[:2] / sha[2:]
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(zlib.compress(serialize(obj)))
    for ref, sha in fake.refs(REPO).items():
        git(target, "update-ref", ref, sha)
    return target


def _deliver(gh: Github) -> None:
    """A branch with a file, a merged PR, and a many-file commit with a nested tree and a deletion."""
    repo = gh.get_repo(REPO)
    head = repo.get_branch("main").commit.sha
    repo.create_git_ref("refs/heads/labels-1", head)
    repo.create_file("labels/1.json", "Add labels 1", b'{"id": 1}\n', branch="labels-1")
    pull = repo.create_pull(base="main", head="labels-1", title="Labels 1", body="")
    merged = pull.merge(merge_method="merge").sha
    elements = [
        InputGitTreeElement(f"labels/{d}/{i}.json", "100644", "blob", content=f"{d}{i}\n")
        for d in ("a", "a-b", "a.b", "b")
        for i in range(3)
    ]
    elements.append(InputGitTreeElement("run.sh", "100755", "blob", content="#!/bin/sh\n"))
    elements.append(InputGitTreeElement("README.md", "100644", "blob", sha=None))
    tree = repo.create_git_tree(elements, base_tree=repo.get_git_tree(merged))
    commit = repo.create_git_commit("Add many labels", tree, [repo.get_git_commit(merged)])
    repo.get_git_ref("heads/main").edit(commit.sha)


def test_blob_id_equals_git_hash_object(tmp_path: Path) -> None:
    """A blob's id is what `git hash-object` prints for the same bytes."""
    data = b"pose labels \x00 binary\n"
    printed = subprocess.run([GIT, "hash-object", "--stdin"], input=data, capture_output=True, check=True).stdout
    assert object_id(Blob(data)) == printed.decode().strip()


def test_exported_objects_pass_git_fsck_strict(fake: FakeGitHub, gh: Github, tmp_path: Path) -> None:
    """Every object the fake made, written as loose objects, passes `git fsck --strict`."""
    _deliver(gh)
    bare = export(fake, tmp_path / "bare.git")
    result = subprocess.run([GIT, "-C", str(bare), "fsck", "--strict", "--no-dangling"], capture_output=True)
    assert result.returncode == 0, result.stderr.decode() + result.stdout.decode()


def test_git_recomputes_every_id(fake: FakeGitHub, gh: Github, tmp_path: Path) -> None:
    """Re-hashing each object's content with git gives back the fake's id (blobs, trees, commits)."""
    _deliver(gh)
    bare = export(fake, tmp_path / "bare.git")
    for sha, _obj in fake.state.objects.items():
        kind = git(bare, "cat-file", "-t", sha).decode().strip()
        body = git(bare, "cat-file", kind, sha)
        again = git(bare, "hash-object", "-t", kind, "--stdin", stdin=body).decode().strip()
        assert again == sha


def test_git_mktree_agrees_with_the_fake_tree_order(fake: FakeGitHub, gh: Github, tmp_path: Path) -> None:
    """`git mktree` from the fake's listing of a tree (a-b, a.b, then the directory a) has the same id."""
    _deliver(gh)
    bare = export(fake, tmp_path / "bare.git")
    tree = git(bare, "rev-parse", "main:labels").decode().strip()
    listing = git(bare, "ls-tree", tree)
    assert git(bare, "mktree", stdin=listing).decode().strip() == tree
    assert [line.split("\t")[1] for line in listing.decode().splitlines()] == ["1.json", "a-b", "a.b", "a", "b"]


def test_files_on_main_match_git_show(fake: FakeGitHub, gh: Github, tmp_path: Path) -> None:
    """What git reads from the exported main equals the fake's files, mode 100755 included."""
    _deliver(gh)
    bare = export(fake, tmp_path / "bare.git")
    names = git(bare, "ls-tree", "-r", "--name-only", "main").decode().split()
    assert sorted(names) == sorted(fake.files(REPO))
    assert b"100755 blob" in git(bare, "ls-tree", "main", "run.sh")
    assert git(bare, "show", "main:labels/a.b/2.json") == b"a.b2\n"
    parents = git(bare, "rev-list", "--parents", "-n", "1", "main~1").split()
    assert len(parents) == 3  # the merge commit has two parents
