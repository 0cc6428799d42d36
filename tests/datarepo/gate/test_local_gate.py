"""`receiver gate PR`: the workflow's judgement run by a maintainer, read-only unless --merge.

That it refuses and merges exactly what the workflow does is specified in
test_automerge.py, whose every case runs both ways; here is what only the
command does.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from receiver.cli import main
from tests.datarepo.gate.test_automerge import ACTIONS, BASE, MALLORY, RECEIVER, REPO, add_to_branch, open_receiver_pr, record, workflow_gate
from tests.github_fake import FakeClock, FakeGitHub, fake_github_mock


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    clock = FakeClock()
    github = FakeGitHub(clock=clock, sleep=clock.advance)
    github.create_repository(REPO)
    github.add_token(RECEIVER, "pose-receiver")
    github.add_token(ACTIONS, "github-actions[bot]")
    github.add_token(MALLORY, "mallory")
    with fake_github_mock(github, BASE):
        yield github


def receiver_gate(*argv: str, token: str = ACTIONS) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    environ = {"RECEIVER_GITHUB_REPOSITORY": REPO, "RECEIVER_GITHUB_API_URL": BASE, "GITHUB_TOKEN": token}
    code = main(["gate", *argv], environ=environ, out=out, err=err)
    print(out.getvalue() + err.getvalue())
    return code, out.getvalue(), err.getvalue()


def writes(fake: FakeGitHub) -> list[str]:
    return [f"{entry.method} {entry.path}" for entry in fake.requests() if entry.method not in ("GET", "HEAD")]


class TestReadOnly:
    def test_a_pr_that_passes_is_reported_and_left_open_without_merge(self, fake: FakeGitHub) -> None:
        """No --merge: every check is shown, the PR is called mergeable, and nothing is written."""
        rec = record()
        number, _ = open_receiver_pr(rec)
        before = len(writes(fake))
        code, out, _ = receiver_gate(str(number))
        assert code == 0 and f"Would merge #{number}" in out and "### Auto-merge of" in out and "would merge" in out
        assert len(writes(fake)) == before and rec.path not in fake.files(REPO, "main")

    def test_the_default_commit_is_the_prs_head(self, fake: FakeGitHub) -> None:
        """Without --sha the head now is judged: a head that gained a code file is refused."""
        rec = record()
        number, _ = open_receiver_pr(rec)
        add_to_branch(RECEIVER, rec.branch, {"scripts/x.py": "print()\n"})
        code, out, _ = receiver_gate(str(number))
        assert code == 1 and "scripts/x.py is outside annotations/" in out

    def test_it_prints_the_summary_the_workflow_writes(self, fake: FakeGitHub, tmp_path: Path) -> None:
        """A refused PR: the command's summary table is the workflow's, line for line."""
        rec = record()
        number, _ = open_receiver_pr(rec)
        sha = add_to_branch(RECEIVER, rec.branch, {"README.md": "changed\n"})
        code, out, _ = receiver_gate(str(number), "--sha", sha)
        workflow_code, _, summary = workflow_gate(tmp_path, number, sha)
        assert code == workflow_code == 1
        assert out[out.index("### Auto-merge") :] == summary


class TestBadInput:
    def test_a_pr_that_does_not_exist_says_github_could_not_show_it(self, fake: FakeGitHub) -> None:
        """A PR it cannot read: exit 1, and the sentence says GitHub's answer while reading which PR."""
        code, out, _ = receiver_gate("999")
        assert code == 1 and "GitHub answered 404 while reading pull request #999: Not Found" in out

    def test_a_repository_the_token_cannot_read_is_named(self, fake: FakeGitHub) -> None:
        code, _, err = receiver_gate("1", token="no-such-token")
        assert code == 2 and f"cannot read the repository {REPO}: GitHub answered 401" in err

    def test_a_misspelt_moderation_variable_stops_it_as_it_stops_the_workflow(self, fake: FakeGitHub) -> None:
        fake.state.set_variable(fake.state.repository(REPO), "RECEIVER_MODERATION", "reviw", create=True)
        number, _ = open_receiver_pr(record())
        code, _, err = receiver_gate(str(number), "--merge")
        assert code == 2 and "gh variable set RECEIVER_MODERATION --body review" in err

    def test_missing_settings_name_what_to_set(self) -> None:
        out, err = io.StringIO(), io.StringIO()
        assert main(["gate", "1"], environ={}, out=out, err=err) == 2
        assert "RECEIVER_GITHUB_REPOSITORY" in err.getvalue()
