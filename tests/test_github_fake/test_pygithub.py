"""PyGithub drives the fake through both ways in: ``responses`` in-process and real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from github import InputGitTreeElement
from github.Repository import Repository

from tests.github_fake import FakeGitHub, FakeServer, fake_github_mock

from .conftest import BASE_URL, REPO, pygithub


@pytest.fixture(params=["responses", "http"])
def repo(request: pytest.FixtureRequest, fake: FakeGitHub) -> Iterator[Repository]:
    """``owner/data`` as PyGithub sees it, in-process or over a socket."""
    if request.param == "responses":
        with fake_github_mock(fake, BASE_URL):
            yield pygithub(BASE_URL).get_repo(REPO)
    else:
        server: FakeServer = request.getfixturevalue("server")
        github = pygithub(server.url)
        yield github.get_repo(REPO)
        github.close()
    assert fake.unmodelled() == []


def _branch_with_file(repo: Repository, branch: str = "labels-1") -> str:
    main = repo.get_branch("main")
    repo.create_git_ref(f"refs/heads/{branch}", main.commit.sha)
    result = repo.create_file("labels/1.json", "Add labels 1", b'{"id": 1}\n', branch=branch)
    return result["commit"].sha


class TestRefsAndContents:
    def test_create_git_ref_points_the_new_branch_at_the_commit(self, repo: Repository, fake: FakeGitHub) -> None:
        """create_git_ref makes refs/heads/x point at the given commit."""
        head = repo.get_branch("main").commit.sha
        ref = repo.create_git_ref("refs/heads/x", head)
        assert (ref.ref, ref.object.sha) == ("refs/heads/x", head)
        assert fake.refs(REPO)["refs/heads/x"] == head

    def test_create_file_commits_on_the_branch_only(self, repo: Repository, fake: FakeGitHub) -> None:
        """create_file adds the file on its branch and leaves main alone."""
        commit = _branch_with_file(repo)
        assert fake.files(REPO, "labels-1")["labels/1.json"] == b'{"id": 1}\n'
        assert "labels/1.json" not in fake.files(REPO)
        assert fake.refs(REPO)["refs/heads/labels-1"] == commit

    def test_get_contents_returns_the_file_bytes_on_a_ref(self, repo: Repository) -> None:
        """get_contents(ref=branch) decodes to the bytes written."""
        _branch_with_file(repo)
        found = repo.get_contents("labels/1.json", ref="labels-1")
        assert not isinstance(found, list)
        assert found.decoded_content == b'{"id": 1}\n'


class TestPulls:
    def test_create_pull_is_authored_by_the_token_user(self, repo: Repository) -> None:
        """A PR opened with the owner's token has user.login owner and head in the same repo."""
        _branch_with_file(repo)
        pull = repo.create_pull(base="main", head="labels-1", title="Labels 1", body="from a volunteer")
        assert (pull.number, pull.user.login, pull.head.repo.full_name) == (1, "owner", REPO)

    def test_get_pulls_by_head_finds_the_pull(self, repo: Repository) -> None:
        """get_pulls(head="owner:branch") lists exactly that branch's open PR."""
        _branch_with_file(repo)
        _branch_with_file(repo, "labels-2")
        repo.create_pull(base="main", head="labels-1", title="one", body="")
        second = repo.create_pull(base="main", head="labels-2", title="two", body="")
        assert [p.number for p in repo.get_pulls(state="open", head="owner:labels-2", base="main")] == [second.number]

    @pytest.mark.parametrize("method", ["merge", "squash", "rebase"])
    def test_merge_puts_the_files_on_main(self, repo: Repository, fake: FakeGitHub, method: str) -> None:
        """Merging with each merge_method lands the PR's file on main and closes the PR."""
        _branch_with_file(repo)
        pull = repo.create_pull(base="main", head="labels-1", title="Labels 1", body="")
        result = pull.merge(merge_method=method, sha=pull.head.sha)
        assert result.merged
        assert fake.files(REPO)["labels/1.json"] == b'{"id": 1}\n'
        assert fake.refs(REPO)["refs/heads/main"] == result.sha
        assert repo.get_pull(pull.number).merged

    def test_closing_a_pull_leaves_main_alone(self, repo: Repository, fake: FakeGitHub) -> None:
        """edit(state="closed") closes the PR unmerged; main keeps its head."""
        _branch_with_file(repo)
        main = fake.refs(REPO)["refs/heads/main"]
        pull = repo.create_pull(base="main", head="labels-1", title="Labels 1", body="")
        pull.edit(state="closed")
        closed = repo.get_pull(pull.number)
        assert (closed.state, closed.merged, closed.closed_at is not None) == ("closed", False, True)
        assert fake.refs(REPO)["refs/heads/main"] == main

    def test_labels_and_comments_on_a_pull(self, repo: Repository) -> None:
        """Labels and comments added to a PR's issue read back in order."""
        _branch_with_file(repo)
        pull = repo.create_pull(base="main", head="labels-1", title="Labels 1", body="")
        pull.add_to_labels("needs-review", "labels")
        pull.create_issue_comment("Thanks!")
        assert [label.name for label in pull.get_labels()] == ["needs-review", "labels"]
        assert [(c.user.login, c.body) for c in pull.get_issue_comments()] == [("owner", "Thanks!")]


class TestTrees:
    def test_many_files_in_one_commit_via_tree_commit_and_ref_edit(self, repo: Repository, fake: FakeGitHub) -> None:
        """create_git_tree with inline content + create_git_commit + ref.edit commits 50 files at once."""
        head = repo.get_branch("main").commit
        base_tree = repo.get_git_tree(head.sha)
        elements = [
            InputGitTreeElement(f"labels/{i:03d}.json", "100644", "blob", content=f'{{"id": {i}}}\n') for i in range(50)
        ]
        tree = repo.create_git_tree(elements, base_tree=base_tree)
        commit = repo.create_git_commit("Add 50 labels", tree, [repo.get_git_commit(head.sha)])
        repo.get_git_ref("heads/main").edit(commit.sha)
        files = fake.files(REPO)
        assert len(files) == 51 and files["labels/049.json"] == b'{"id": 49}\n'
        assert [e.method for e in fake.requests() if e.content_creating] == ["POST", "POST", "PATCH"]
