"""scripts/merge_receiver_pr.py against the GitHub fake, with the variables a workflow_run job gets.

Every case runs twice: as the workflow runs the gate, and as a maintainer runs
`receiver gate PR --sha SHA --merge` with the same identity, the repository's
variables set to what the workflow was given. Both must refuse and merge the
same pull requests, with the same summary.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
from github import Auth, Github, GithubException, InputGitTreeElement

from receiver.cli import main
from receiver.contract.records import Record
from receiver.datarepo.automerge import run_automerge
from receiver.datarepo.moderation import Moderator, build_moderator, moderate_pulls
from receiver.settings import Settings
from receiver.stores import StoreRateLimited, StoreUnavailable
from receiver.stores.github import GitHubStore
from receiver.stores.pacing import Budget
from tests.github_fake import FakeClock, FakeGitHub, Fault, fake_github_mock
from tests.support.captured import captured_body

BASE = "http://github.test/api/v3"
REPO = "owner/data"
RECEIVER, ACTIONS, MALLORY = "receiver-token", "actions-token", "mallory-token"


def record(n: int = 1, **changes: object) -> Record:
    body = captured_body()
    body["frame_index"] = n
    body.update(changes)
    return Record.create(body, submitter="anonymous", received_at=datetime(2026, 11, 25, tzinfo=timezone.utc), receiver_version="0.1.0")


def client(token: str) -> Github:
    return Github(base_url=BASE, auth=Auth.Token(token), retry=None, seconds_between_requests=None, seconds_between_writes=None)


@pytest.fixture
def during_delays() -> list[Callable[[], object]]:
    """Actions run, one per delay fault, while the fake holds a delayed request (another writer racing the gate)."""
    return []


@pytest.fixture
def fake(during_delays: list[Callable[[], object]]) -> Iterator[FakeGitHub]:
    clock = FakeClock()

    def sleep(seconds: float) -> None:
        clock.advance(seconds)
        if during_delays:
            during_delays.pop(0)()

    github = FakeGitHub(clock=clock, sleep=sleep)
    github.create_repository(REPO)
    github.add_token(RECEIVER, "pose-receiver")
    github.add_token(ACTIONS, "github-actions[bot]")
    github.add_token(MALLORY, "mallory")
    with fake_github_mock(github, BASE):
        yield github


def open_receiver_pr(rec: Record) -> tuple[int, str]:
    store = GitHubStore(REPO, github=client(RECEIVER), budget=Budget(min_interval=0))
    [delivered] = store.deliver([rec])
    assert delivered.pull_number is not None
    pull = client(RECEIVER).get_repo(REPO).get_pull(delivered.pull_number)
    return pull.number, pull.head.sha


RUNNERS = ("workflow", "receiver gate")
_runner: dict[str, object] = {}


@pytest.fixture(autouse=True, params=RUNNERS)
def gate_runner(request: pytest.FixtureRequest, fake: FakeGitHub) -> Iterator[str]:
    """Which way `gate` runs the gate in this case: the workflow's script, or the maintainer's command."""
    _runner.update(name=request.param, fake=fake)
    yield request.param
    _runner.clear()


def gate(tmp_path: Path, number: int, head_sha: str, moderation: str | None = None) -> tuple[int, str, str]:
    """Run the gate after validation succeeded on `head_sha` (`moderation`: the repository's RECEIVER_MODERATION), one way or the other."""
    if _runner.get("name") == "receiver gate":
        return local_gate(_runner["fake"], number, head_sha, moderation)  # type: ignore[arg-type]
    return workflow_gate(tmp_path, number, head_sha, moderation)


def local_gate(fake: FakeGitHub, number: int, head_sha: str, moderation: str | None) -> tuple[int, str, str]:
    """`receiver gate PR --sha SHA --merge` as the workflow's identity, with RECEIVER_MODERATION set as a repository variable."""
    if moderation is not None:
        repository = fake.state.repository(REPO)
        fake.state.set_variable(repository, "RECEIVER_MODERATION", moderation, create="RECEIVER_MODERATION" not in repository.settings.variables)
    out, err = io.StringIO(), io.StringIO()
    environ = {"RECEIVER_GITHUB_REPOSITORY": REPO, "RECEIVER_GITHUB_API_URL": BASE, "GITHUB_TOKEN": ACTIONS}
    code = main(["gate", str(number), "--sha", head_sha, "--merge"], environ=environ, out=out, err=err)
    printed = out.getvalue()
    summary = printed[printed.index("### Auto-merge") :] if "### Auto-merge" in printed else ""
    return code, printed + err.getvalue(), summary


def workflow_gate(tmp_path: Path, number: int, head_sha: str, moderation: str | None = None) -> tuple[int, str, str]:
    """Run the gate as the workflow_run job would, after validation succeeded on `head_sha`."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "completed", "workflow_run": {"conclusion": "success", "head_sha": head_sha, "head_branch": "x", "pull_requests": [{"number": number}]}}))
    summary = tmp_path / "summary.md"
    out = io.StringIO()
    environ = {"GITHUB_API_URL": BASE, "GITHUB_REPOSITORY": REPO, "GITHUB_TOKEN": ACTIONS, "GITHUB_EVENT_PATH": str(event), "GITHUB_STEP_SUMMARY": str(summary)}
    if moderation is not None:
        environ["RECEIVER_MODERATION"] = moderation
    code = run_automerge(environ, out)
    return code, out.getvalue(), summary.read_text() if summary.exists() else ""


def add_to_branch(token: str, branch: str, files: dict[str, str | None], base: str = "main", repo_name: str = REPO, mode: str = "100644") -> str:
    """Commit files (None deletes) with `mode` on a new or existing branch with the git data API; return the head SHA."""
    repo = client(token).get_repo(repo_name)
    try:
        ref = repo.get_git_ref(f"heads/{branch}")
    except Exception:  # noqa: BLE001 - any miss means: create it from base
        ref = repo.create_git_ref(f"refs/heads/{branch}", repo.get_git_ref(f"heads/{base}").object.sha)
    parent = repo.get_git_commit(ref.object.sha)
    elements = [
        InputGitTreeElement(path, mode, "blob", content=content) if content is not None else InputGitTreeElement(path, mode, "blob", sha=None)
        for path, content in files.items()
    ]
    tree = repo.create_git_tree(elements, parent.tree)
    commit = repo.create_git_commit("change", tree, [parent])
    ref.edit(commit.sha)
    return commit.sha


def test_receiver_pr_with_valid_annotation_is_merged(fake: FakeGitHub, tmp_path: Path) -> None:
    rec = record()
    number, sha = open_receiver_pr(rec)
    code, out, summary = gate(tmp_path, number, sha)
    assert code == 0, out
    assert fake.files(REPO, "main")[rec.path] == rec.to_bytes()
    assert "merged" in summary and "❌" not in summary


def test_pr_adding_a_record_at_the_earlier_layouts_path_is_merged(fake: FakeGitHub, tmp_path: Path) -> None:
    """A record at the path it had before the deeper layout (two-character folder) is as valid, and is merged."""
    rec = record()
    sha = add_to_branch(RECEIVER, rec.branch, {rec.legacy_path: rec.to_bytes().decode()})
    number = open_pull(RECEIVER, rec.branch)
    code, out, _ = gate(tmp_path, number, sha)
    assert code == 0, out
    assert fake.files(REPO, "main")[rec.legacy_path] == rec.to_bytes() and rec.path not in fake.files(REPO, "main")


def test_pr_adding_a_record_in_neither_layout_is_not_merged(fake: FakeGitHub, tmp_path: Path) -> None:
    """A record one folder off both its paths is refused, naming where it belongs."""
    rec = record()
    elsewhere = rec.path.replace(f"/{rec.id[3]}/{rec.id}.json", f"/{rec.id}.json")
    sha = add_to_branch(RECEIVER, rec.branch, {elsewhere: rec.to_bytes().decode()})
    number = open_pull(RECEIVER, rec.branch)
    code, out, _ = gate(tmp_path, number, sha)
    assert code == 1 and f"belongs at {rec.path}" in out
    assert elsewhere not in fake.files(REPO, "main")


def test_the_merge_commit_carries_the_gates_words_not_the_pr_title_or_body(fake: FakeGitHub, tmp_path: Path) -> None:
    """PR text protects volunteer words with code spans, which mean nothing in a commit message: neither becomes one."""
    rec = record()
    number, sha = open_receiver_pr(rec)
    assert gate(tmp_path, number, sha)[0] == 0
    head = client(ACTIONS).get_repo(REPO).get_branch("main").commit.commit.message
    assert head == f"Merge annotations of pull request #{number}\n\nValidated and merged by the data repository's gate."


def test_pr_also_touching_code_is_not_merged(fake: FakeGitHub, tmp_path: Path) -> None:
    rec = record()
    number, _ = open_receiver_pr(rec)
    sha = add_to_branch(RECEIVER, rec.branch, {"scripts/validate_annotations.py": "print('always valid')\n"})
    code, _, summary = gate(tmp_path, number, sha)
    assert code == 1 and rec.path not in fake.files(REPO, "main")
    assert "scripts/validate_annotations.py is outside annotations/" in summary


@pytest.mark.parametrize("target", ["schemas/submission.schema.json", "receiver/contract/validation.py", ".github/workflows/validate.yml"])
def test_pr_touching_validator_schema_or_workflow_is_not_merged(fake: FakeGitHub, tmp_path: Path, target: str) -> None:
    rec = record()
    number, _ = open_receiver_pr(rec)
    sha = add_to_branch(RECEIVER, rec.branch, {target: "{}\n"})
    code, _, summary = gate(tmp_path, number, sha)
    assert code == 1 and f"{target} is outside annotations/" in summary


def test_pr_modifying_an_existing_annotation_is_not_merged(fake: FakeGitHub, tmp_path: Path) -> None:
    old = record(1)
    number, sha = open_receiver_pr(old)
    assert gate(tmp_path, number, sha)[0] == 0
    edited = old.to_bytes().decode().replace('"pixel_x": 1198', '"pixel_x": 1')
    sha = add_to_branch(RECEIVER, "annotations/edit", {old.path: edited})
    pull = client(RECEIVER).get_repo(REPO).create_pull(base="main", head="annotations/edit", title="Annotation: edit", body="")
    code, _, summary = gate(tmp_path, pull.number, sha)
    assert code == 1 and "is modified, not added" in summary


def test_pr_deleting_an_annotation_is_not_merged(fake: FakeGitHub, tmp_path: Path) -> None:
    old = record(1)
    number, sha = open_receiver_pr(old)
    gate(tmp_path, number, sha)
    sha = add_to_branch(RECEIVER, "annotations/delete", {old.path: None})
    pull = client(RECEIVER).get_repo(REPO).create_pull(base="main", head="annotations/delete", title="Annotation: delete", body="")
    code, _, summary = gate(tmp_path, pull.number, sha)
    assert code == 1 and "is removed, not added" in summary
    assert old.path in fake.files(REPO, "main")


def test_pr_from_a_fork_is_not_merged(fake: FakeGitHub, tmp_path: Path) -> None:
    rec = record()
    fork = fake.fork(REPO, "mallory").full_name
    sha = add_to_branch(MALLORY, rec.branch, {rec.path: rec.to_bytes().decode()}, repo_name=fork)
    pull = client(MALLORY).get_repo(REPO).create_pull(base="main", head=f"mallory:{rec.branch}", title="Annotation: x", body="")
    code, _, summary = gate(tmp_path, pull.number, sha)
    assert code == 1 and "a fork" in summary


def test_pr_from_another_prefix_is_not_merged(fake: FakeGitHub, tmp_path: Path) -> None:
    rec = record()
    sha = add_to_branch(RECEIVER, "patch-1", {rec.path: rec.to_bytes().decode()})
    pull = client(RECEIVER).get_repo(REPO).create_pull(base="main", head="patch-1", title="Annotation: x", body="")
    code, _, summary = gate(tmp_path, pull.number, sha)
    assert code == 1 and "lacks the receiver prefix" in summary


def test_a_draft_pr_is_not_merged(fake: FakeGitHub, tmp_path: Path) -> None:
    """The receiver's own valid record on its own branch, opened as a draft: refused, whatever else passes."""
    rec = record()
    sha = add_to_branch(RECEIVER, rec.branch, {rec.path: rec.to_bytes().decode()})
    pull = client(RECEIVER).get_repo(REPO).create_pull(base="main", head=rec.branch, title="Annotation: x", body="", draft=True)
    code, _, summary = gate(tmp_path, pull.number, sha)
    assert code == 1 and "a draft" in summary
    assert [line for line in summary.splitlines() if "❌" in line] == ["| draft | ❌ | a draft: it is not ready to merge |"]
    assert rec.path not in fake.files(REPO, "main")


def test_github_refuses_to_merge_a_draft(fake: FakeGitHub) -> None:
    """The fake answers a merge of a draft as GitHub does: 405, still a draft."""
    rec = record()
    add_to_branch(RECEIVER, rec.branch, {rec.path: rec.to_bytes().decode()})
    pull = client(RECEIVER).get_repo(REPO).create_pull(base="main", head=rec.branch, title="Annotation: x", body="", draft=True)
    assert pull.draft is True
    with pytest.raises(GithubException) as refused:
        pull.merge()
    assert refused.value.status == 405 and refused.value.data["message"] == "Pull Request is still a draft"


def test_pr_from_another_author_is_not_merged(fake: FakeGitHub, tmp_path: Path) -> None:
    rec = record()
    sha = add_to_branch(MALLORY, rec.branch, {rec.path: rec.to_bytes().decode()})
    pull = client(MALLORY).get_repo(REPO).create_pull(base="main", head=rec.branch, title="Annotation: x", body="")
    code, _, summary = gate(tmp_path, pull.number, sha)
    assert code == 1 and "not the receiver" in summary


def test_pr_with_invalid_annotation_is_not_merged_and_annotated(fake: FakeGitHub, tmp_path: Path) -> None:
    rec = record()
    document = rec.document()
    document["submission"]["labels"][0]["pixel_x"] = 5000
    sha = add_to_branch(RECEIVER, rec.branch, {rec.path: json.dumps(document, indent=2)})
    pull = client(RECEIVER).get_repo(REPO).create_pull(base="main", head=rec.branch, title="Annotation: x", body="")
    code, out, summary = gate(tmp_path, pull.number, sha)
    assert code == 1 and "not valid stored records" in summary
    assert f"::error file={rec.path},title=Invalid annotation /submission/labels/0/pixel_x::" in out


def test_pr_whose_head_moved_after_validation_is_not_merged(fake: FakeGitHub, tmp_path: Path) -> None:
    rec = record()
    number, validated = open_receiver_pr(rec)
    other = record(2)
    add_to_branch(RECEIVER, rec.branch, {other.path: other.to_bytes().decode()})
    code, _, summary = gate(tmp_path, number, validated)
    assert code == 1 and "after" in summary and "was validated" in summary
    assert rec.path not in fake.files(REPO, "main")


def test_event_without_successful_validation_merges_nothing(fake: FakeGitHub, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"workflow_run": {"conclusion": "failure", "head_sha": "a" * 40, "pull_requests": [{"number": 1}]}}))
    out = io.StringIO()
    code = run_automerge({"GITHUB_API_URL": BASE, "GITHUB_REPOSITORY": REPO, "GITHUB_TOKEN": ACTIONS, "GITHUB_EVENT_PATH": str(event)}, out)
    assert code == 0 and "Nothing to merge" in out.getvalue()


def test_missing_variables_are_named(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run_automerge({}, out) == 2
    assert "GITHUB_REPOSITORY, GITHUB_TOKEN, GITHUB_EVENT_PATH not set" in out.getvalue()


def open_pull(token: str, branch: str, base: str = "main") -> int:
    return client(token).get_repo(REPO).create_pull(base=base, head=branch, title="Annotation: x", body="").number


def force_branch(branch: str, sha: str) -> None:
    client(RECEIVER).get_repo(REPO).get_git_ref(f"heads/{branch}").edit(sha, force=True)


class TestTheJudgedCommit:
    def test_head_moved_away_and_back_during_the_reads_merges_only_the_validated_files(
        self, fake: FakeGitHub, tmp_path: Path, during_delays: list[Callable[[], object]]
    ) -> None:
        """A receiver/ change pushed while the files are listed, then taken back, never enters the judged list or main."""
        rec = record()
        number, validated = open_receiver_pr(rec)
        fake.add_fault(Fault("delay", delay=1, method="GET", path=r"/compare/"))
        fake.add_fault(Fault("delay", delay=1, method="GET", path=r"/git/trees/"))
        during_delays.append(lambda: add_to_branch(MALLORY, rec.branch, {"receiver/contract/validation.py": "VALID = True\n"}))
        during_delays.append(lambda: force_branch(rec.branch, validated))
        code, out, summary = gate(tmp_path, number, validated)
        assert not during_delays, "both racing pushes happened"
        assert code == 0, out
        assert "receiver/" not in summary and "merged" in summary
        main = fake.files(REPO, "main")
        assert main[rec.path] == rec.to_bytes() and "receiver/contract/validation.py" not in main

    def test_head_moved_before_the_reread_is_refused(self, fake: FakeGitHub, tmp_path: Path, during_delays: list[Callable[[], object]]) -> None:
        """A push between judging and merging is caught when the PR is read again, and nothing is merged."""
        rec = record()
        number, validated = open_receiver_pr(rec)
        fake.add_fault(Fault("delay", delay=1, count=2, method="GET", path=rf"/pulls/{number}$"))
        other = record(2)
        during_delays.append(lambda: None)
        during_delays.append(lambda: add_to_branch(RECEIVER, rec.branch, {other.path: other.to_bytes().decode()}))
        code, _, summary = gate(tmp_path, number, validated)
        assert code == 1 and f"after {validated[:12]} was validated" in summary
        assert rec.path not in fake.files(REPO, "main")

    def test_listing_shorter_than_changed_files_is_refused(self, fake: FakeGitHub, tmp_path: Path) -> None:
        """A PR with more files than one comparison lists is refused as unjudgeable."""
        fake.set_listing_caps(compare_files=1)
        one, two = record(1), record(2)
        sha = add_to_branch(RECEIVER, "annotations/batch-1", {one.path: one.to_bytes().decode(), two.path: two.to_bytes().decode()})
        code, _, summary = gate(tmp_path, open_pull(RECEIVER, "annotations/batch-1"), sha)
        assert code == 1 and "lists 1 file(s) but the pull request changes 2" in summary
        assert one.path not in fake.files(REPO, "main")


class TestRecords:
    def test_record_without_receipt_is_refused(self, fake: FakeGitHub, tmp_path: Path) -> None:
        """A file at a record's path holding only the submission part is refused for its missing receipt."""
        rec = record()
        sha = add_to_branch(RECEIVER, rec.branch, {rec.path: json.dumps({"submission": rec.submission})})
        code, _, summary = gate(tmp_path, open_pull(RECEIVER, rec.branch), sha)
        assert code == 1 and "/receipt" in summary and "not valid stored records" in summary

    def test_bare_submission_at_any_annotations_path_is_refused(self, fake: FakeGitHub, tmp_path: Path) -> None:
        """A raw submission (valid input to the receiver) committed under annotations/ is no stored record."""
        path = "annotations/volunteer-upload.json"
        sha = add_to_branch(RECEIVER, "annotations/upload", {path: json.dumps(captured_body())})
        code, _, summary = gate(tmp_path, open_pull(RECEIVER, "annotations/upload"), sha)
        assert code == 1 and f"{path}: /receipt" in summary
        assert path not in fake.files(REPO, "main")

    def test_record_under_a_nested_annotations_folder_is_refused(self, fake: FakeGitHub, tmp_path: Path) -> None:
        """A valid record filed below its proper path is refused, naming where it belongs."""
        rec = record()
        path = f"annotations/zz/{rec.path}"
        sha = add_to_branch(RECEIVER, rec.branch, {path: rec.to_bytes().decode()})
        code, _, summary = gate(tmp_path, open_pull(RECEIVER, rec.branch), sha)
        assert code == 1 and f"belongs at {rec.path}" in summary

    def test_executable_record_is_refused(self, fake: FakeGitHub, tmp_path: Path) -> None:
        """A valid record committed with mode 100755 is refused for its mode."""
        rec = record()
        sha = add_to_branch(RECEIVER, rec.branch, {rec.path: rec.to_bytes().decode()}, mode="100755")
        code, _, summary = gate(tmp_path, open_pull(RECEIVER, rec.branch), sha)
        assert code == 1 and f"{rec.path} is an executable file (mode 100755)" in summary
        assert rec.path not in fake.files(REPO, "main")

    def test_symlink_is_refused(self, fake: FakeGitHub, tmp_path: Path) -> None:
        """A symbolic link at a record's path is refused for its mode, its target never read."""
        rec = record()
        sha = add_to_branch(RECEIVER, rec.branch, {rec.path: "../../../../.github/workflows/automerge.yml"}, mode="120000")
        code, _, summary = gate(tmp_path, open_pull(RECEIVER, rec.branch), sha)
        assert code == 1 and f"{rec.path} is a symbolic link (mode 120000)" in summary


class TestThePullRequest:
    def test_pr_into_a_non_default_branch_is_not_merged(self, fake: FakeGitHub, tmp_path: Path) -> None:
        """A receiver PR targeting another branch is refused, and that branch keeps its content."""
        rec = record()
        repo = client(RECEIVER).get_repo(REPO)
        repo.create_git_ref("refs/heads/release", repo.get_branch("main").commit.sha)
        sha = add_to_branch(RECEIVER, rec.branch, {rec.path: rec.to_bytes().decode()})
        code, _, summary = gate(tmp_path, open_pull(RECEIVER, rec.branch, base="release"), sha)
        assert code == 1 and "targets 'release', not the default branch 'main'" in summary
        assert rec.path not in fake.files(REPO, "release")

    def test_pr_labelled_needs_review_is_not_merged(self, fake: FakeGitHub, tmp_path: Path) -> None:
        """In moderation mode the receiver's own valid PR waits for a maintainer."""
        rec = record()
        number, sha = open_receiver_pr(rec)
        client(RECEIVER).get_repo(REPO).get_pull(number).add_to_labels("needs-review")
        code, _, summary = gate(tmp_path, number, sha)
        assert code == 1 and "labelled 'needs-review'" in summary and "moderation" in summary
        assert rec.path not in fake.files(REPO, "main")

    def test_unknown_validated_commit_is_refused_with_githubs_answer(self, fake: FakeGitHub, tmp_path: Path) -> None:
        """A validated SHA GitHub does not know is refused with the status it answered."""
        rec = record()
        number, _ = open_receiver_pr(rec)
        code, _, summary = gate(tmp_path, number, "f" * 40)
        assert code == 1 and "GitHub answered 404" in summary


class TestReviewMode:
    def test_review_mode_pr_is_labelled_never_merged_by_the_gate_and_merged_by_approve(self, fake: FakeGitHub, tmp_path: Path) -> None:
        """RECEIVER_MODERATION=review: the store labels its PR, the gate refuses it, `moderate approve` merges it."""
        rec = record(21)
        store = GitHubStore(REPO, github=client(RECEIVER), budget=Budget(min_interval=0), moderation="review")
        [delivered] = store.deliver([rec])
        assert delivered.pull_number is not None
        pull = client(RECEIVER).get_repo(REPO).get_pull(delivered.pull_number)
        assert [label.name for label in pull.labels] == ["needs-review"]
        code, _, summary = gate(tmp_path, pull.number, pull.head.sha)
        assert code != 0 and "needs-review" in summary
        assert rec.path not in fake.files(REPO)
        out = io.StringIO()
        assert moderate_pulls(approver(), "approve", [pull.number], out)
        assert fake.files(REPO)[rec.path] == rec.to_bytes()
        merge = client(ACTIONS).get_repo(REPO).get_branch("main").commit.commit.message
        assert merge.startswith(f"Merge annotations of pull request #{pull.number}\n\nValidated and merged by a maintainer's approval")

    def test_pr_whose_label_write_failed_is_never_merged_in_a_repository_in_moderation(self, fake: FakeGitHub, tmp_path: Path) -> None:
        """The labels POST answers 502: the PR sits open unlabelled, and the gate with RECEIVER_MODERATION=review still refuses it."""
        rec = record(22)
        store = GitHubStore(REPO, github=client(RECEIVER), budget=Budget(min_interval=0), moderation="review")
        fake.add_fault(Fault("status", status=502, method="POST", path=r"/issues/\d+/labels$"))
        with pytest.raises(StoreUnavailable):
            store.deliver([rec])
        [pull] = fake.pulls(REPO)
        assert pull.labels == []
        code, out, summary = gate(tmp_path, pull.number, pull.head_sha, moderation="review")
        assert code == 1, out
        assert "the repository is in moderation (RECEIVER_MODERATION=review)" in summary
        assert rec.path not in fake.files(REPO) and fake.pulls(REPO) == [pull]

    def test_pr_whose_label_write_was_rate_limited_is_merged_only_by_approve(self, fake: FakeGitHub, tmp_path: Path) -> None:
        """A secondary rate limit on the labels POST delays the label; the gate refuses before and after it lands, approve merges."""
        rec = record(23)
        store = GitHubStore(REPO, github=client(RECEIVER), budget=Budget(min_interval=0), moderation="review", clock=fake.clock.now)
        limited = Fault("status", status=403, message="You have exceeded a secondary rate limit.", headers={"retry-after": "600"}, method="POST", path=r"/issues/\d+/labels$")
        fake.add_fault(limited)
        with pytest.raises(StoreRateLimited):
            store.deliver([rec])
        [pull] = fake.pulls(REPO)
        assert gate(tmp_path, pull.number, pull.head_sha, moderation="review")[0] == 1
        fake.advance(600)
        store.deliver([rec])  # the receiver's next attempt writes the label
        assert [label.name for label in client(RECEIVER).get_repo(REPO).get_pull(pull.number).labels] == ["needs-review"]
        assert gate(tmp_path, pull.number, pull.head_sha, moderation="review")[0] == 1
        assert rec.path not in fake.files(REPO)
        out = io.StringIO()
        assert moderate_pulls(approver(), "approve", [pull.number], out), out.getvalue()
        assert fake.files(REPO)[rec.path] == rec.to_bytes()

    def test_misspelt_moderation_stops_the_gate(self, fake: FakeGitHub, tmp_path: Path) -> None:
        """RECEIVER_MODERATION=reviw is neither auto nor review: exit 2 with what to set, nothing merged."""
        rec = record(24)
        number, sha = open_receiver_pr(rec)
        code, out, _ = gate(tmp_path, number, sha, moderation="reviw")
        assert code == 2 and "gh variable set RECEIVER_MODERATION --body review" in out
        assert rec.path not in fake.files(REPO)


def approver() -> Moderator:
    """`receiver moderate` as the receiver's identity, with the store's settings and no real sleeps."""
    settings = replace(Settings(), store="github", github_repository=REPO, github_api_url=BASE, github_token=RECEIVER)
    return build_moderator(settings, environ={}, sleep=lambda _s: None)
