"""`receiver moderate`: approve merges a receiver PR waiting for review, reject closes it; both paced, both picky."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from dataclasses import replace

import pytest

from receiver.cli import main as receiver_cli
from receiver.datarepo.moderation import REJECTION_COMMENT, Moderator, PullFacts, build_moderator, moderate_pulls, refusal
from receiver.settings import Settings
from tests.github_fake import FakeClock, FakeGitHub, Fault
from tests.github_fake.state import TreeInput
from tests.support.captured import numbered_record
from tests.support.github_world import BASE, REPO, TOKEN

SETTINGS = replace(Settings(), store="github", github_repository=REPO, github_api_url=BASE, github_token=TOKEN)



class Sleeps:
    """The moderator's sleep: moves the fake's clock and remembers each wait."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock, self.waits = clock, list[float]()
        #: Run once during the next sleep: what happens on GitHub while the moderator waits.
        self.during: Callable[[], object] | None = None

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds)
        if self.during is not None:
            self.during, during = None, self.during
            during()


@pytest.fixture
def sleeps(clock: FakeClock) -> Sleeps:
    return Sleeps(clock)


@pytest.fixture
def moderator(clock: FakeClock, sleeps: Sleeps, fake: FakeGitHub) -> Moderator:
    return build_moderator(SETTINGS, clock=clock.now, sleep=sleeps)


def open_pull(
    fake: FakeGitHub,
    n: int = 1,
    labels: tuple[str, ...] = ("needs-review",),
    *,
    content: bytes | None = None,
    mode: str = "100644",
    also: Mapping[str, tuple[str, bytes]] | None = None,
    author: str = "pose-receiver",
) -> int:
    """A pull request as the receiver opens it, made directly in the fake's state: record n at its path on its branch, the PR, labels.

    `content` replaces the record's bytes, `mode` its file mode, and `also` adds other files (path: (mode, bytes)) to the same commit.
    """
    rec = numbered_record(n)
    state = fake.state
    repo, user = state.repository(REPO), state.user(author)
    base = state.branch_head(repo, "main")
    parent = state.objects.commit(base)
    assert parent is not None
    entries = [TreeInput(rec.path, mode, "blob", content=rec.to_bytes() if content is None else content)]
    entries += [TreeInput(path, file_mode, "blob", content=data) for path, (file_mode, data) in (also or {}).items()]
    head = state.create_commit(user, "Add labels", state.create_tree(parent.tree, entries), [base])
    state.create_ref(repo, f"refs/heads/{rec.branch}", head)
    pull = state.create_pull(repo, user, "Annotation", rec.branch, "main", None)
    if labels:
        state.add_labels(repo, pull.number, list(labels))
    return pull.number


def writes(fake: FakeGitHub) -> list[str]:
    return [f"{e.method} {e.path.split('/repos/owner/data')[-1]}" for e in fake.requests() if e.content_creating]


class TestApprove:
    def test_approve_merges_a_needs_review_pull(self, fake: FakeGitHub, moderator: Moderator) -> None:
        """The PR is merged, its file is on main, and its branch is gone."""
        number = open_pull(fake)
        outcome = moderator.moderate("approve", number)
        assert outcome.done and outcome.line().startswith(f"#{number}: merged as ")
        [pull] = fake.pulls(REPO, "closed")
        assert pull.merged
        assert fake.files(REPO)[numbered_record(1).path] == numbered_record(1).to_bytes()
        assert f"refs/heads/{pull.head_ref}" not in fake.refs(REPO)

    def test_approve_refuses_a_branch_pushed_to_after_it_was_read(self, fake: FakeGitHub, moderator: Moderator, sleeps: Sleeps) -> None:
        """A push between reading the second PR and merging it (during the pacing sleep): not merged, exit-1 line."""
        first, second = open_pull(fake), open_pull(fake, 2)
        state = fake.state
        assert moderator.moderate("approve", first).done
        sleeps.during = lambda: state.put_file(
            state.repository(REPO), state.user("pose-receiver"), "annotations/other.json", b"{}", "late push", numbered_record(2).branch, None
        )
        outcome = moderator.moderate("approve", second)
        assert not outcome.done and "Head branch was modified" in outcome.text
        assert [p.number for p in fake.pulls(REPO)] == [second]

    def test_approve_refuses_a_pull_without_the_label(self, fake: FakeGitHub, moderator: Moderator) -> None:
        """No needs-review label: nothing is written, the PR stays open."""
        number = open_pull(fake, labels=())
        outcome = moderator.moderate("approve", number)
        assert not outcome.done and "not labeled needs-review" in outcome.text
        assert writes(fake) == [] and len(fake.pulls(REPO)) == 1


class TestApproveJudgesLikeTheGate:
    def test_approve_refuses_a_receiver_branch_that_also_rewrites_the_automerge_workflow(self, fake: FakeGitHub, moderator: Moderator) -> None:
        """A valid record plus a rewritten .github/workflows/automerge.yml: refused for the workflow file, the PR left open."""
        number = open_pull(fake, also={".github/workflows/automerge.yml": ("100644", b"on: push\n")})
        outcome = moderator.moderate("approve", number)
        assert not outcome.done and ".github/workflows/automerge.yml is outside annotations/" in outcome.text
        assert [p.number for p in fake.pulls(REPO)] == [number]

    def test_approve_refuses_a_file_with_mode_100755(self, fake: FakeGitHub, moderator: Moderator) -> None:
        """A valid record committed executable is refused for its mode."""
        number = open_pull(fake, mode="100755")
        outcome = moderator.moderate("approve", number)
        assert not outcome.done and f"{numbered_record(1).path} is an executable file (mode 100755)" in outcome.text

    def test_approve_refuses_an_invalid_record(self, fake: FakeGitHub, moderator: Moderator) -> None:
        """A record whose point lies outside the frame fails this installation's validator and is refused."""
        document = numbered_record(1).document()
        document["submission"]["labels"][0]["pixel_x"] = 5000
        number = open_pull(fake, content=json.dumps(document, indent=2).encode())
        outcome = moderator.moderate("approve", number)
        assert not outcome.done and "not valid stored records" in outcome.text and "/submission/labels/0/pixel_x" in outcome.text

    def test_approve_refuses_a_pull_by_someone_the_gate_does_not_trust(self, fake: FakeGitHub, moderator: Moderator) -> None:
        """A collaborator's labelled PR on an annotations/ branch is refused for its author."""
        fake.add_token("collaborator-token", "collaborator")
        number = open_pull(fake, author="collaborator")
        outcome = moderator.moderate("approve", number)
        assert not outcome.done and "opened by 'collaborator', not the receiver (pose-receiver)" in outcome.text

    def test_approve_trusts_the_authors_RECEIVER_GATE_AUTHORS_names(self, fake: FakeGitHub, clock: FakeClock, sleeps: Sleeps) -> None:
        """RECEIVER_GATE_AUTHORS=labs-bot[bot] in the environment: the receiver's own login is no longer trusted."""
        moderator = build_moderator(SETTINGS, environ={"RECEIVER_GATE_AUTHORS": "labs-bot[bot]"}, clock=clock.now, sleep=sleeps)
        outcome = moderator.moderate("approve", open_pull(fake))
        assert not outcome.done and "not the receiver (labs-bot[bot])" in outcome.text

    def test_the_refusal_line_names_the_judged_commit_and_why(self, fake: FakeGitHub, moderator: Moderator) -> None:
        """One line: the PR, the gate would not merge its head SHA, and each failing check's reason."""
        number = open_pull(fake, also={"scripts/run.sh": ("100755", b"#!/bin/sh\n")})
        head = fake.pulls(REPO)[0].head_sha
        out = io.StringIO()
        assert moderate_pulls(moderator, "approve", [number], out) is False
        [line] = out.getvalue().splitlines()
        assert line.startswith(f"#{number}: refused: the gate would not merge {head[:12]}: ")
        assert "scripts/run.sh is outside annotations/" in line and "scripts/run.sh is an executable file (mode 100755)" in line

    def test_nothing_is_written_to_github_when_refused(self, fake: FakeGitHub, moderator: Moderator) -> None:
        """No merge, no branch deletion, no comment: main, the branch and the PR are as they were."""
        refs = dict(fake.refs(REPO))
        number = open_pull(fake, also={".github/workflows/automerge.yml": ("100644", b"on: push\n")})
        branch_refs = dict(fake.refs(REPO))
        assert not moderator.moderate("approve", number).done
        assert writes(fake) == []
        assert fake.refs(REPO) == branch_refs and fake.refs(REPO)["refs/heads/main"] == refs["refs/heads/main"]
        assert [p.number for p in fake.pulls(REPO)] == [number]

    def test_a_read_github_fails_is_reported_not_done(self, fake: FakeGitHub, moderator: Moderator) -> None:
        """A 502 while listing the PR's files: the line says not done with GitHub's answer, nothing is merged."""
        number = open_pull(fake)
        fake.add_fault(Fault("status", status=502, method="GET", path=r"/compare/"))
        outcome = moderator.moderate("approve", number)
        assert not outcome.done and outcome.text.startswith("not done: ")
        assert [p.number for p in fake.pulls(REPO)] == [number]


class TestReject:
    def test_reject_closes_with_a_comment_and_deletes_the_branch(self, fake: FakeGitHub, moderator: Moderator) -> None:
        """Closed unmerged, the fixed comment on it, its branch gone, main untouched."""
        main = fake.refs(REPO)["refs/heads/main"]
        number = open_pull(fake)
        outcome = moderator.moderate("reject", number)
        assert outcome.done and outcome.text.startswith("rejected")
        [pull] = fake.pulls(REPO, "closed")
        assert not pull.merged and [c.body for c in pull.comments] == [REJECTION_COMMENT]
        assert f"refs/heads/{numbered_record(1).branch}" not in fake.refs(REPO)
        assert fake.refs(REPO)["refs/heads/main"] == main

    def test_writes_are_paced_a_second_apart(self, fake: FakeGitHub, moderator: Moderator, sleeps: Sleeps) -> None:
        """Comment, close and branch deletion: the moderator asked to sleep 1 s before the second and the third."""
        moderator.moderate("reject", open_pull(fake))
        assert sleeps.waits == [1.0, 1.0]

    def test_retry_after_is_obeyed(self, fake: FakeGitHub, moderator: Moderator, sleeps: Sleeps) -> None:
        """GitHub's secondary limit answers retry-after on the third write: the moderator waits it out and finishes."""
        number = open_pull(fake)
        fake.set_limits(secondary_per_minute=2)
        outcome = moderator.moderate("reject", number)
        assert outcome.done
        assert [w for w in sleeps.waits if w > 1.0], sleeps.waits  # the wait GitHub asked for, beyond the pacing
        assert f"refs/heads/{numbered_record(1).branch}" not in fake.refs(REPO)


class TestRefusal:
    FACTS = PullFacts(1, "open", False, REPO, "annotations/00/ab", "0" * 40, frozenset({"needs-review"}))

    def test_a_receiver_pull_waiting_for_review_may_be_moderated(self) -> None:
        """Open, own repository, annotations/ branch, labeled: no refusal."""
        assert refusal(self.FACTS, REPO) is None

    def test_a_fork_is_refused(self) -> None:
        """Same branch name in a fork: refused."""
        assert "not in owner/data" in str(refusal(replace(self.FACTS, head_repository="mallory/data"), REPO))

    def test_a_branch_outside_annotations_is_refused(self) -> None:
        """A head branch that is not the receiver's: refused."""
        assert "not a receiver branch" in str(refusal(replace(self.FACTS, head_ref="main"), REPO))

    def test_a_closed_pull_is_refused(self) -> None:
        """Nothing to decide on a closed pull request."""
        assert refusal(replace(self.FACTS, state="closed"), REPO) == "it is closed"


class TestCommand:
    def test_each_pull_prints_one_line_and_any_refusal_exits_1(self, fake: FakeGitHub, moderator: Moderator) -> None:
        """One approved, one unlabeled: two lines, and False (exit 1)."""
        good, bad = open_pull(fake), open_pull(fake, 2, labels=())
        out = io.StringIO()
        assert moderate_pulls(moderator, "approve", [good, bad], out) is False
        lines = out.getvalue().splitlines()
        assert lines[0].startswith(f"#{good}: merged") and lines[1].startswith(f"#{bad}: refused")

    def test_cli_approves_and_exits_0(self, fake: FakeGitHub) -> None:
        """`receiver moderate approve N` with the store's settings merges the PR and exits 0."""
        number = open_pull(fake)
        environ = {"RECEIVER_STORE": "github", "RECEIVER_GITHUB_REPOSITORY": REPO, "RECEIVER_GITHUB_API_URL": BASE, "GITHUB_TOKEN": TOKEN}
        out = io.StringIO()
        assert receiver_cli(["moderate", "approve", str(number)], environ=environ, out=out) == 0
        assert out.getvalue().startswith(f"#{number}: merged") and fake.pulls(REPO, "closed")[0].merged

    def test_cli_without_a_repository_is_a_usage_error(self) -> None:
        """No RECEIVER_GITHUB_REPOSITORY: exit 2 and a sentence saying what is missing."""
        err = io.StringIO()
        assert receiver_cli(["moderate", "reject", "1"], environ={}, err=err) == 2
        assert "RECEIVER_GITHUB_REPOSITORY" in err.getvalue()
