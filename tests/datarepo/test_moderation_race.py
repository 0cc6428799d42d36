"""Moderation holds through a rough delivery: the auto-merge job never merges, only `receiver moderate approve` does.

Two hundred submissions go from the journal through the delivery worker and
the GitHub store (pull-request mode, RECEIVER_MODERATION=review) into the
GitHub fake, reached through PyGithub and `responses`, on the fake's clock:
a small write budget that runs out (the store waits, then coalesces the
backlog into batch pull requests), GitHub's secondary limit answering 403
with retry-after, 5xx answers injected between writes (some after GitHub did
the write), and a crash right after a pull request was opened and before it
was labelled, followed by a restart on the same journal and the same
repository, which adopts what is there by blob id.

After every write to the data repository, `scripts/merge_receiver_pr.py`
runs as the `workflow_run` job of automerge.yml would, with the data
repository's RECEIVER_MODERATION=review in its environment, on every open
pull request whose head or labels changed since it last ran; it must refuse
each one for moderation, and nothing may reach the default branch. Then a
maintainer's approval merges every labelled pull request, except two a
collaborator pushed to (a workflow file, an executable file): those are
refused and nothing is written for them.

The scenario runs once for the module; each test judges one part of what it
left. The last test restarts the receiver right after it opened a coalesced
batch pull request: the restarted store finishes that batch (labels it)
instead of delivering its records again one pull request each. It will not
show the gate's other checks one by one: tests/datarepo/gate/ does.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import runpy
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from receiver.contract.records import Record
from receiver.datarepo.moderation import Moderator, build_moderator, moderate_pulls
from receiver.delivery.worker import DeliveryWorker
from receiver.journal import Journal
from receiver.settings import Settings
from receiver.stores.github import GitHubStore
from receiver.stores.pacing import Budget
from receiver.stores.pull_requests import REVIEW_LABEL
from tests.github_fake import FakeClock, FakeGitHub, Fault
from tests.github_fake.clock import DEFAULT_START
from tests.github_fake.state import PullRequest, TreeInput
from tests.support.captured import numbered_record
from tests.support.github_world import BASE, REPO, TOKEN, fake_world, pygithub

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "merge_receiver_pr.py"
ACTIONS_TOKEN = "actions-token"
RECEIVER, ACTIONS, COLLABORATOR = "pose-receiver", "github-actions[bot]", "collaborator"
SUBMISSIONS = 200
#: The receiver's own write budget: small, so the hour runs out and the backlog is coalesced.
BUDGET = Budget(per_minute=20, per_hour=150, min_interval=1.0)
#: GitHub's secondary limit, set below the receiver's minute budget so GitHub itself answers 403 with retry-after.
GITHUB_PER_MINUTE = 15
#: Every this many receiver writes, one 5xx fault waits for the next matching write.
FAULT_EVERY = 9
#: 5xx answers the fake gives the receiver's writes, in turn; `after=True`: GitHub did the write, the receiver never heard.
FAULTS = (
    Fault("status", status=502, method="POST", path=r"/issues/\d+/labels$"),
    Fault("status", status=503, method="POST", path=r"/pulls$"),
    Fault("status", status=502, method="POST", path=r"/pulls$", after=True),
    Fault("status", status=500, method="PUT", path=r"/contents/", after=True),
    Fault("status", status=502, method="POST", path=r"/git/refs$"),
    Fault("status", status=502, method="POST", path=r"/issues/\d+/labels$", after=True),
    Fault("status", status=504, method="POST", path=r"/git/(trees|commits)$"),
)
#: The restart comes once this many pull requests were opened, right after the next one is (before its label).
CRASH_AFTER_PULLS = 25
#: Files a collaborator pushes onto two labelled receiver branches: (path, mode, bytes).
TAMPERING = ((".github/workflows/automerge.yml", "100644", b"on: push\n"), ("annotations/run.sh", "100755", b"#!/bin/sh\n"))


class Crash(Exception):
    """The receiver's process dies here: nothing after this point of the delivery runs."""


@dataclass
class MergeJob:
    """The data repository's automerge.yml `merge` job: scripts/merge_receiver_pr.py with the workflow's variables.

    `run` is called at every fake sleep and after every step of the worker;
    it runs the script once for each open pull request whose (head, labels)
    it has not yet judged, the events after which validation (and so the
    gate) runs again. A state already judged is not judged again: nothing
    else it reads can change while the default branch stays where it was,
    and `run` asserts that it does.
    """

    fake: FakeGitHub
    folder: Path
    main: str
    judged: set[tuple[int, str, tuple[str, ...]]] = field(default_factory=set)
    runs: int = 0
    exits: Counter[int] = field(default_factory=Counter)
    #: Each run that did not refuse for moderation, and each moment something was merged or main moved: none expected.
    violations: list[str] = field(default_factory=list)
    #: How many writes (not the job's own) happened since the previous `run`, at most.
    most_writes_between_runs: int = 0
    _writes_seen: int = 0

    def run(self) -> None:
        writes = sum(1 for entry in self.fake.requests() if entry.content_creating and entry.login != ACTIONS)
        self.most_writes_between_runs = max(self.most_writes_between_runs, writes - self._writes_seen)
        self._writes_seen = writes
        for pull in self.fake.pulls(REPO):
            key = (pull.number, pull.head_sha, tuple(sorted(pull.labels)))
            if key not in self.judged:
                self.judged.add(key)
                self._judge(pull.number, pull.head_sha, pull.head_ref)
        merged = [p.number for p in self.fake.pulls(REPO, "closed") if p.merged]
        if merged or self.fake.refs(REPO)["refs/heads/main"] != self.main:
            self.violations.append(f"before approval: merged {merged}, main at {self.fake.refs(REPO)['refs/heads/main'][:12]}")

    def _judge(self, number: int, head_sha: str, head_ref: str) -> None:
        event = {
            "action": "completed",
            "workflow_run": {"event": "pull_request", "conclusion": "success", "head_sha": head_sha, "head_branch": head_ref, "pull_requests": [{"number": number}]},
        }
        (self.folder / "event.json").write_text(json.dumps(event))
        summary = self.folder / "summary.md"
        summary.write_text("")
        out = io.StringIO()
        path = list(sys.path)  # the script puts its checkout first on sys.path; keep ours as it was
        try:
            with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exited:
                runpy.run_path(str(SCRIPT), run_name="__main__")
        finally:
            sys.path[:] = path
        self.runs += 1
        self.exits[int(exited.value.code or 0)] += 1
        text = summary.read_text()
        if exited.value.code != 1 or "the repository is in moderation (RECEIVER_MODERATION=review)" not in text:
            self.violations.append(f"#{number} at {head_sha[:12]}: exit {exited.value.code}: {out.getvalue()}")


@dataclass
class Receiver:
    """One process of the receiver: its journal, GitHub store and delivery worker, on the fake's clock."""

    journal: Journal
    store: GitHubStore
    worker: DeliveryWorker


@dataclass
class Rough:
    """What goes wrong on the way, and what it is counted as."""

    fake: FakeGitHub
    clock: FakeClock
    job: MergeJob
    crashed: bool = False
    budget_waits: int = 0
    faults_added: int = 0
    _faulted_at: int = 0

    def sleep(self, seconds: float) -> None:
        """The store's sleep: the job runs, a fault is armed now and then, the process may die, then time passes."""
        self.job.run()
        self._arm_faults()
        if not self.crashed and self._pull_just_opened():
            self.crashed = True
            raise Crash("killed after opening a pull request, before labelling it")
        self.clock.advance(seconds)

    def _receiver_writes(self) -> list[tuple[str, str, int]]:
        return [(e.method, e.path, e.status) for e in self.fake.requests() if e.content_creating and e.login == RECEIVER]

    def _arm_faults(self) -> None:
        writes = len(self._receiver_writes())
        if writes - self._faulted_at >= FAULT_EVERY:
            self._faulted_at = writes
            self.fake.add_fault(replace(FAULTS[self.faults_added % len(FAULTS)]))
            self.faults_added += 1

    def _pull_just_opened(self) -> bool:
        writes = self._receiver_writes()
        opened = [w for w in writes if w[0] == "POST" and w[1].endswith("/pulls") and w[2] == 201]
        return len(opened) > CRASH_AFTER_PULLS and writes[-1] == opened[-1]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeGitHub]:
    with fake_world(clock, tokens={ACTIONS_TOKEN: ACTIONS, "collaborator-token": COLLABORATOR}) as github:
        github.set_limits(secondary_per_minute=GITHUB_PER_MINUTE)
        yield github


#: The merge step's environment as automerge.yml sets it in a data repository whose RECEIVER_MODERATION is review.
def workflow_environ(folder: Path) -> dict[str, str]:
    return {
        "GITHUB_API_URL": BASE,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_TOKEN": ACTIONS_TOKEN,
        "GITHUB_EVENT_PATH": str(folder / "event.json"),
        "GITHUB_STEP_SUMMARY": str(folder / "summary.md"),
        "RECEIVER_GATE_AUTHORS": RECEIVER,
        "RECEIVER_MODERATION": "review",
    }


def start_receiver(journal_path: Path, clock: FakeClock, rough: Rough) -> Receiver:
    """A receiver process in moderation: RECEIVER_MODERATION=review, pull-request mode, the small budget."""
    journal = Journal(journal_path, clock=clock.now).open()
    store = GitHubStore(REPO, github=pygithub(), budget=BUDGET, moderation="review", clock=clock.now, sleep=rough.sleep)
    worker = DeliveryWorker(
        journal, store, batch_size=10, clock=clock.now, jitter=lambda: 0.0, wall_clock=lambda: datetime.fromtimestamp(clock.now(), UTC)
    )
    return Receiver(journal, store, worker)


def tamper(fake: FakeGitHub, branch: str, path: str, mode: str, content: bytes) -> None:
    """A collaborator's commit on a receiver branch adding `path` with `mode`, made in the fake's state (as a push would)."""
    state = fake.state
    repo = state.repository(REPO)
    head = state.branch_head(repo, branch)
    parent = state.objects.commit(head)
    assert parent is not None
    tree = state.create_tree(parent.tree, [TreeInput(path, mode, "blob", content=content)])
    commit = state.create_commit(state.user(COLLABORATOR), "Tidy up", tree, [head])
    state.update_ref(repo, f"heads/{branch}", commit, False)


def approver(clock: FakeClock) -> Moderator:
    """`receiver moderate` with the receiver's settings, sleeping on the fake's clock."""
    settings = replace(Settings(), store="github", github_repository=REPO, github_api_url=BASE, github_token=TOKEN)
    return build_moderator(settings, environ={}, clock=clock.now, sleep=clock.advance)


def writes(fake: FakeGitHub) -> int:
    return sum(1 for entry in fake.requests() if entry.content_creating)


@dataclass
class Run:
    """What the scenario left behind, for the tests below to judge."""

    job: MergeJob
    records: list[Record]
    counts: dict[str, int]
    restarts: int
    budget_waits: int
    tampered: list[int]
    #: Open pull requests once delivery finished, before any approval.
    waiting: list[PullRequest]
    #: Annotation files those pull requests add, by path.
    in_pulls: Counter[str]
    approved: list[int]
    approve_output: str
    refused_output: str
    #: Writes and refs just before the tampered pull requests were approved, and just after.
    before_refusals: tuple[int, dict[str, str]]
    after_refusals: tuple[int, dict[str, str]]
    fake: FakeGitHub


def deliver(fake: FakeGitHub, clock: FakeClock, job: MergeJob, folder: Path) -> tuple[Rough, list[Record], dict[str, int], int, list[int]]:
    """The worker drains 200 queued submissions through the rough weather; the merge job runs after every write."""
    records = [numbered_record(n) for n in range(SUBMISSIONS)]
    rough = Rough(fake, clock, job)
    receiver = start_receiver(folder / "journal.sqlite3", clock, rough)
    for admitted in [receiver.journal.admit_async(r) for r in records]:
        admitted.result()
    restarts, tampered = 0, list[int]()
    while receiver.journal.counts()["queued"]:
        try:
            outcome = receiver.worker.run_once()
        except Crash:
            receiver.journal.close()  # what the process's death does to its files
            receiver = start_receiver(folder / "journal.sqlite3", clock, rough)
            restarts += 1
            continue
        job.run()
        if (receiver.worker.status.last_error or "").startswith("pacing GitHub requests"):
            rough.budget_waits += 1
        if len(tampered) < len(TAMPERING):
            # Once receiver PRs are labelled, a collaborator pushes to two of their branches while delivery goes on.
            singles = [p for p in fake.pulls(REPO) if REVIEW_LABEL in p.labels and "batch-" not in p.head_ref and p.number not in tampered]
            for pull, (path, mode, content) in zip(singles, TAMPERING[len(tampered) :]):
                tamper(fake, pull.head_ref, path, mode, content)
                tampered.append(pull.number)
            job.run()
        clock.advance(outcome.wait)
    counts = receiver.journal.counts()
    receiver.journal.close()
    job.run()
    return rough, records, counts, restarts, tampered


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """Deliver the 200, then approve every labelled receiver PR but the two tampered ones, then approve those."""
    clock, folder = FakeClock(), tmp_path_factory.mktemp("moderation-race")
    with pytest.MonkeyPatch.context() as monkeypatch, fake_world(clock, tokens={ACTIONS_TOKEN: ACTIONS, "collaborator-token": COLLABORATOR}) as fake:
        for name in [name for name in os.environ if name.startswith(("RECEIVER_", "GITHUB_"))]:
            monkeypatch.delenv(name)
        for name, value in workflow_environ(folder).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(sys, "path", list(sys.path))
        fake.set_limits(secondary_per_minute=GITHUB_PER_MINUTE)
        job = MergeJob(fake, folder, main=fake.refs(REPO)["refs/heads/main"])
        rough, records, counts, restarts, tampered = deliver(fake, clock, job, folder)
        waiting = fake.pulls(REPO)
        on_main = fake.files(REPO, "main")
        in_pulls = Counter(
            path for p in waiting for path in fake.files(REPO, p.head_ref) if path.startswith("annotations/") and path.endswith(".json") and path not in on_main
        )
        moderator, approved_out, refused_out = approver(clock), io.StringIO(), io.StringIO()
        approved = [p.number for p in waiting if p.number not in tampered and REVIEW_LABEL in p.labels]
        moderate_pulls(moderator, "approve", approved, approved_out)
        before = (writes(fake), fake.refs(REPO))
        moderate_pulls(moderator, "approve", tampered, refused_out)
        after = (writes(fake), fake.refs(REPO))
        log = fake.requests()
        # A fault is spent on the request it matched even when GitHub's limit answered first (403): count the 5xx answers.
        faults = Counter(f"{e.status} {e.method}" for e in log if e.fault is not None and e.status >= 500)
        print(
            f"\n{SUBMISSIONS} submissions; {sum(1 for e in log if e.login == RECEIVER and e.content_creating)} writes by the receiver "
            f"(delivery and approvals); {len(waiting)} pull requests ({sum('batch-' in p.head_ref for p in waiting)} coalesced batches); "
            f"merge job: {job.runs} runs, exits {dict(job.exits)}; 5xx faults fired: {sum(faults.values())} {dict(faults)}; "
            f"secondary-limit 403s: {sum(1 for e in log if e.login == RECEIVER and e.status == 403)}; budget waits: {rough.budget_waits}; "
            f"restarts: {restarts}; approved: {len(approved)}; fake time: {clock.now() - DEFAULT_START:.0f} s"
        )
        yield Run(
            job, records, counts, restarts, rough.budget_waits, tampered, waiting, in_pulls, approved,
            approved_out.getvalue(), refused_out.getvalue(), before, after, fake,
        )


class TestDelivery:
    def test_every_submission_is_delivered_through_the_rough_weather(self, run: Run) -> None:
        """All 200 delivered, none failed, after one restart, budget waits, GitHub's 403s and at least ten 5xx answers."""
        log = run.fake.requests()
        assert run.counts["queued"] == 0 and run.counts["failed"] == 0
        assert run.restarts == 1 and run.budget_waits > 0
        assert any(e.login == RECEIVER and e.status == 403 for e in log)
        assert sum(1 for e in log if e.fault is not None and e.status >= 500) >= 10
        assert any("batch-" in p.head_ref for p in run.waiting), "the exhausted budget coalesced a backlog"

    def test_every_submission_waits_in_a_pull_request(self, run: Run) -> None:
        """Before approval each of the 200 files is added by an open pull request, none is on main."""
        assert set(run.in_pulls) == {r.path for r in run.records}


class TestTheMergeJob:
    def test_it_ran_after_every_write(self, run: Run) -> None:
        """No two writes to the data repository went by without the merge job running in between, on every new PR state."""
        assert run.job.most_writes_between_runs <= 1
        assert run.job.runs >= len(run.waiting) + len(run.tampered)

    def test_it_never_merged_and_always_refused_for_moderation(self, run: Run) -> None:
        """Every run exits 1 naming RECEIVER_MODERATION=review; nothing was merged and main never moved before approval."""
        assert run.job.violations == []
        assert run.job.exits == Counter({1: run.job.runs})


class TestApprove:
    def test_approve_merges_every_labelled_receiver_pull_request(self, run: Run) -> None:
        """Each approval merged as the receiver's identity, and the 198 untampered submissions are on main."""
        assert run.approve_output.count(": merged as ") == len(run.approved), run.approve_output
        merged = run.fake.pulls(REPO, "closed")
        assert sorted(p.number for p in merged if p.merged and p.merged_by == RECEIVER) == sorted(run.approved)
        main = run.fake.files(REPO, "main")
        assert len([path for path in run.in_pulls if path not in main]) == len(TAMPERING)

    def test_approve_refuses_a_workflow_file_and_an_executable_and_writes_nothing(self, run: Run) -> None:
        """The two PRs a collaborator pushed to are refused, by name of file and mode; no write, no ref changed, both still open."""
        workflow, executable = run.refused_output.splitlines()
        assert workflow.startswith(f"#{run.tampered[0]}: refused") and ".github/workflows/automerge.yml is outside annotations/" in workflow
        assert executable.startswith(f"#{run.tampered[1]}: refused") and "annotations/run.sh is an executable file (mode 100755)" in executable
        assert run.after_refusals == run.before_refusals
        assert sorted(p.number for p in run.fake.pulls(REPO) if REVIEW_LABEL in p.labels) == sorted(run.tampered)


def test_a_restart_after_a_coalesced_pull_request_was_opened_adopts_it(fake: FakeGitHub, clock: FakeClock) -> None:
    """Killed between opening a batch PR and labelling it, the restarted receiver labels that PR and opens no second one for its records."""
    records = [numbered_record(n) for n in range(10)]
    fake.set_limits(secondary_per_minute=80)  # only the receiver's own budget paces here

    def killed_after_opening(seconds: float) -> None:
        if any(e.method == "POST" and e.path.endswith("/pulls") and e.status == 201 for e in fake.requests()):
            raise Crash("killed after opening a pull request, before labelling it")
        clock.advance(seconds)

    # The hour's budget (20 writes) cannot open one PR each (3 writes each): the ten are coalesced into one batch PR.
    first = GitHubStore(REPO, github=pygithub(), budget=replace(BUDGET, per_hour=20), moderation="review", clock=clock.now, sleep=killed_after_opening)
    with pytest.raises(Crash):
        first.deliver(records)
    [batch] = fake.pulls(REPO)
    assert "batch-" in batch.head_ref and batch.labels == []
    # A new process counts its own writes from zero: the same ten now fit the budget one PR each.
    again = GitHubStore(REPO, github=pygithub(), budget=BUDGET, moderation="review", clock=clock.now, sleep=clock.advance)
    again.deliver(records)
    pulls = fake.pulls(REPO)
    in_pulls = Counter(path for p in pulls for path in fake.files(REPO, p.head_ref) if path.startswith("annotations/"))
    assert [p.number for p in pulls if REVIEW_LABEL not in p.labels] == []
    assert set(in_pulls) == {r.path for r in records} and max(in_pulls.values()) == 1
