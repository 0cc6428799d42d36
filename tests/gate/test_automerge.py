"""scripts/merge_receiver_pr.py against the GitHub fake, with the variables a workflow_run job gets."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from github import Auth, Github, InputGitTreeElement

from receiver.automerge import run_automerge
from receiver.pacing import Budget
from receiver.records import Record
from receiver.stores.github import GitHubStore
from tests.captured import captured_body
from tests.github_fake import FakeClock, FakeGitHub, fake_github_mock

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
def fake() -> Iterator[FakeGitHub]:
    clock = FakeClock()
    github = FakeGitHub(clock=clock, sleep=clock.advance)
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


def gate(tmp_path: Path, number: int, head_sha: str) -> tuple[int, str, str]:
    """Run the gate as the workflow_run job would, after validation succeeded on `head_sha`."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "completed", "workflow_run": {"conclusion": "success", "head_sha": head_sha, "head_branch": "x", "pull_requests": [{"number": number}]}}))
    summary = tmp_path / "summary.md"
    out = io.StringIO()
    environ = {"GITHUB_API_URL": BASE, "GITHUB_REPOSITORY": REPO, "GITHUB_TOKEN": ACTIONS, "GITHUB_EVENT_PATH": str(event), "GITHUB_STEP_SUMMARY": str(summary)}
    code = run_automerge(environ, out)
    return code, out.getvalue(), summary.read_text() if summary.exists() else ""


def add_to_branch(token: str, branch: str, files: dict[str, str | None], base: str = "main", repo_name: str = REPO) -> str:
    """Commit files (None deletes) on a new or existing branch with the git data API; return the head SHA."""
    repo = client(token).get_repo(repo_name)
    try:
        ref = repo.get_git_ref(f"heads/{branch}")
    except Exception:  # noqa: BLE001 - any miss means: create it from base
        ref = repo.create_git_ref(f"refs/heads/{branch}", repo.get_git_ref(f"heads/{base}").object.sha)
    parent = repo.get_git_commit(ref.object.sha)
    elements = [
        InputGitTreeElement(path, "100644", "blob", content=content) if content is not None else InputGitTreeElement(path, "100644", "blob", sha=None)
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


def test_pr_also_touching_code_is_not_merged(fake: FakeGitHub, tmp_path: Path) -> None:
    rec = record()
    number, _ = open_receiver_pr(rec)
    sha = add_to_branch(RECEIVER, rec.branch, {"scripts/validate_annotations.py": "print('always valid')\n"})
    code, _, summary = gate(tmp_path, number, sha)
    assert code == 1 and rec.path not in fake.files(REPO, "main")
    assert "scripts/validate_annotations.py is outside annotations/" in summary


@pytest.mark.parametrize("target", ["schemas/submission.schema.json", "receiver/validation.py", ".github/workflows/validate.yml"])
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
    assert code == 1 and "fail validation" in summary
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
