"""Pull requests from forks: another user's repository is the head, the token's user the author."""

from __future__ import annotations

import pytest
from github import Github, GithubException

from tests.github_fake import FakeGitHub

from .conftest import REPO


def _fork_pull(fake: FakeGitHub, contributor_gh: Github) -> int:
    fake.fork(REPO, "contributor")
    fork = contributor_gh.get_repo("contributor/data")
    fork.create_git_ref("refs/heads/labels", fork.get_branch("main").commit.sha)
    fork.create_file("labels/9.json", "Add 9", b"{}\n", branch="labels")
    pull = contributor_gh.get_repo(REPO).create_pull(
        base="main", head="contributor:labels", title="From a fork", body=""
    )
    return pull.number


def test_fork_pull_has_a_different_head_repository(fake: FakeGitHub, contributor_gh: Github, gh: Github) -> None:
    """A PR from a fork shows head.repo.full_name of the fork, marked as a fork of the base."""
    number = _fork_pull(fake, contributor_gh)
    pull = gh.get_repo(REPO).get_pull(number)
    assert pull.head.repo.full_name == "contributor/data"
    assert pull.base.repo.full_name == REPO
    assert gh.get_repo("contributor/data").fork


def test_fork_pull_is_authored_by_the_token_user(fake: FakeGitHub, contributor_gh: Github, gh: Github) -> None:
    """user.login of the PR is the login mapped to the token that opened it."""
    number = _fork_pull(fake, contributor_gh)
    assert gh.get_repo(REPO).get_pull(number).user.login == "contributor"


def test_fork_pull_is_listed_by_its_owner_head(fake: FakeGitHub, contributor_gh: Github, gh: Github) -> None:
    """get_pulls(head="contributor:labels") finds it; head="owner:labels" does not."""
    number = _fork_pull(fake, contributor_gh)
    repo = gh.get_repo(REPO)
    assert [p.number for p in repo.get_pulls(head="contributor:labels")] == [number]
    assert list(repo.get_pulls(head="owner:labels")) == []


def test_fork_pull_merges_into_the_base(fake: FakeGitHub, contributor_gh: Github, gh: Github) -> None:
    """Merging a fork PR brings the fork's file onto the base's main."""
    number = _fork_pull(fake, contributor_gh)
    assert gh.get_repo(REPO).get_pull(number).merge().merged
    assert fake.files(REPO)["labels/9.json"] == b"{}\n"
    assert "labels/9.json" not in fake.files("contributor/data")


def test_unknown_head_owner_is_422(gh: Github, fake: FakeGitHub) -> None:
    """A head naming a user with no fork answers 422 Validation Failed on head."""
    with pytest.raises(GithubException) as raised:
        gh.get_repo(REPO).create_pull(base="main", head="stranger:labels", title="t", body="")
    assert raised.value.status == 422
    assert raised.value.data["errors"] == [{"resource": "PullRequest", "field": "head", "code": "invalid"}]
