"""`receiver init`: a data-only repository whose workflows lint clean and whose gate merges a receiver PR."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from datetime import datetime, timezone
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from receiver.cli import main
from receiver.contract.outcomes import Delivered
from receiver.contract.records import Record
from receiver.datarepo.automerge import run_automerge
from receiver.datarepo.layout import WORKFLOWS, checkout_commit, receiver_repository, shipped_workflows
from tests.datarepo.doctor.conftest import set_up
from receiver.stores.github import GitHubStore
from receiver.stores.pacing import Budget
from tests.github_fake import FakeClock, FakeGitHub, fake_github_mock
from tests.support.captured import captured_body
from tests.support.github_world import BASE, REPO, TOKEN, pygithub

ROOT = Path(__file__).resolve().parents[3]
ACTIONS = "actions-token"
#: The receiver's code, as a commit id the tests pin without asking GitHub.
COMMIT = "0123456789abcdef0123456789abcdef01234567"
RECEIVER = "lab/pose-receiver"


def init(path: Path, *flags: str, environ: dict[str, str] | None = None) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["init", str(path), "--receiver-repo", RECEIVER, *flags], environ=environ or {}, out=out, err=err)
    print(out.getvalue() + err.getvalue())
    return code, out.getvalue() + err.getvalue()


def tree(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file() and ".git/" not in p.as_posix() + "/"}


def record(n: int) -> Record:
    body = captured_body()
    body["frame_index"] = n
    return Record.create(body, submitter="anonymous", received_at=datetime(2026, 11, 25, tzinfo=timezone.utc), receiver_version="0.1.0")


@pytest.fixture
def written(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    code, output = init(target, "--receiver-ref", COMMIT)
    assert code == 0, output
    return target


@pytest.fixture
def receiver_code() -> Iterator[FakeGitHub]:
    """The fake holding the receiver's code: main, a later branch `next`, and the tag v0.1.0 on main's first commit."""
    clock = FakeClock()
    fake = FakeGitHub(clock=clock, sleep=clock.advance)
    fake.create_repository(RECEIVER, {"README.md": b"pose-receiver\n"})
    repo = fake.state.repository(RECEIVER)
    first = repo.refs["refs/heads/main"]
    fake.state.create_ref(repo, "refs/tags/v0.1.0", first)
    fake.state.create_ref(repo, "refs/heads/next", first)
    fake.state.put_file(repo, fake.state.user("owner"), "NEXT.md", b"next\n", "next", "next", None, None, None)
    fake.add_token(TOKEN, "pose-receiver")
    with fake_github_mock(fake, BASE):
        yield fake


ON_FAKE = {"RECEIVER_GITHUB_API_URL": BASE, "GITHUB_TOKEN": TOKEN}


def checked_out(target: Path, name: str) -> str:
    """The `ref:` line of the workflow's checkout of the receiver, as written."""
    return next(line.strip() for line in (target / ".github" / "workflows" / name).read_text().splitlines() if line.strip().startswith("ref: "))


class TestOutput:
    def test_writes_workflows_schemas_readme_and_annotations_folder(self, written: Path) -> None:
        """Everything a data repository needs, and nothing of the receiver's code."""
        files = set(tree(written))
        assert {".github/workflows/validate.yml", ".github/workflows/automerge.yml", "README.md", "annotations/.gitkeep", "schemas/skeleton.json"} <= files
        assert not any(f.startswith(("receiver/", "scripts/")) for f in files)

    def test_actionlint_is_clean(self, written: Path) -> None:
        result = subprocess.run(["actionlint", *map(str, sorted((written / ".github" / "workflows").glob("*.yml")))], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr

    def test_zizmor_is_clean(self, written: Path) -> None:
        result = subprocess.run(["zizmor", "--offline", "--no-progress", str(written / ".github" / "workflows")], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr

    def test_workflows_check_out_the_pinned_receiver(self, written: Path) -> None:
        """Both jobs check out lab/pose-receiver at the commit given into .receiver."""
        for name in WORKFLOWS:
            document = yaml.safe_load((written / ".github" / "workflows" / name).read_text())
            [job] = document["jobs"].values()
            pinned = [s["with"] for s in job["steps"] if s.get("with", {}).get("repository")]
            assert pinned == [{"repository": "lab/pose-receiver", "ref": COMMIT, "path": ".receiver", "persist-credentials": False}]

    def test_readme_lists_the_settings_doctor_checks(self, written: Path) -> None:
        readme = (written / "README.md").read_text()
        assert all(word in readme for word in ("validate", "Automatically delete head branches", "RECEIVER_GATE_AUTHORS", "receiver doctor"))

    def test_readme_says_how_to_put_the_repository_in_moderation(self, written: Path) -> None:
        """init cannot set an Actions variable, so its README gives the command."""
        assert "gh variable set RECEIVER_MODERATION --body review" in (written / "README.md").read_text()


class TestPin:
    def test_a_commit_id_is_pinned_as_given_without_asking_github(self, receiver_code: FakeGitHub, tmp_path: Path) -> None:
        """40 hex digits: written as is, and the fake sees no request."""
        code, output = init(tmp_path / "d", "--receiver-ref", COMMIT, environ=ON_FAKE)
        assert code == 0, output
        assert checked_out(tmp_path / "d", "validate.yml") == f"ref: {COMMIT} # {COMMIT}"
        assert receiver_code.requests() == []

    def test_a_tag_is_pinned_as_the_commit_it_names(self, receiver_code: FakeGitHub, tmp_path: Path) -> None:
        """--receiver-ref v0.1.0: the workflows check out the tag's commit, the tag kept in a comment."""
        tagged = receiver_code.state.repository(RECEIVER).refs["refs/tags/v0.1.0"]
        code, output = init(tmp_path / "d", "--receiver-ref", "v0.1.0", environ=ON_FAKE)
        assert code == 0, output
        assert all(checked_out(tmp_path / "d", name) == f"ref: {tagged} # v0.1.0" for name in WORKFLOWS)
        assert f"at commit {tagged} (v0.1.0 now)" in output

    def test_the_default_is_the_checkouts_head_commit_pinned_without_asking_github(self, receiver_code: FakeGitHub, tmp_path: Path) -> None:
        """No --receiver-ref, run from a git checkout: its HEAD commit is pinned as is, and the output says it must be pushed."""
        head = _git(ROOT, "rev-parse", "HEAD")
        code, output = init(tmp_path / "d", environ=ON_FAKE)
        assert code == 0, output
        assert all(checked_out(tmp_path / "d", name) == f"ref: {head} # {head}" for name in WORKFLOWS)
        assert "HEAD of the checkout this receiver runs from" in output and receiver_code.requests() == []

    def test_an_installation_without_a_checkout_has_no_checkout_commit(self, tmp_path: Path) -> None:
        """A wheel's folder, or a folder inside some other repository: no commit, so init falls back to the version's tag."""
        (tmp_path / "pyproject.toml").write_text("[project]\n")
        assert checkout_commit(tmp_path) is None
        (tmp_path / ".git").mkdir()
        assert checkout_commit(tmp_path) is None

    def test_the_version_tag_a_receiver_without_a_checkout_pins_is_refused_when_missing(self, receiver_code: FakeGitHub, tmp_path: Path) -> None:
        """The fallback tag, like any ref, must name a commit of the receiver's repository; the sentence names both."""
        code, output = init(tmp_path / "d", "--receiver-ref", "v0.0.404", environ=ON_FAKE)
        assert code == 2 and "v0.0.404 is neither a tag nor a branch of lab/pose-receiver" in output


class TestDefaults:
    def test_a_fresh_clone_of_an_empty_repository_is_written_without_force(self, tmp_path: Path) -> None:
        """The README's step: `receiver init .` in a clone that holds only .git."""
        subprocess.run(["git", "init", "-q", str(tmp_path / "clone")], check=True)
        code, output = init(tmp_path / "clone", "--receiver-ref", COMMIT)
        assert code == 0, output
        assert (tmp_path / "clone" / ".github" / "workflows" / "validate.yml").is_file()

    def test_the_receiver_repository_comes_from_the_package_metadata(self) -> None:
        """pyproject's Repository URL names the code the workflows check out."""
        assert receiver_repository() == "pose-receiver/pose-receiver"

    def test_init_with_only_the_folder_pins_the_projects_repository_at_a_commit(self, tmp_path: Path) -> None:
        """`receiver init DIR`, no flags: both workflows check out pose-receiver/pose-receiver at a 40-hex commit."""
        out, err = io.StringIO(), io.StringIO()
        assert main(["init", str(tmp_path / "d")], environ={}, out=out, err=err) == 0, err.getvalue()
        for name in WORKFLOWS:
            document = yaml.safe_load((tmp_path / "d" / ".github" / "workflows" / name).read_text())
            [job] = document["jobs"].values()
            [pinned] = [s["with"] for s in job["steps"] if s.get("with", {}).get("repository")]
            assert pinned["repository"] == "pose-receiver/pose-receiver" and re.fullmatch(r"[0-9a-f]{40}", pinned["ref"])

    def test_doctor_passes_on_a_data_repository_made_from_init_with_no_flags(self, tmp_path: Path) -> None:
        """The README's steps: init with only the folder, push it, make the settings, then doctor: every check passes."""
        assert main(["init", str(tmp_path / "d")], environ={}, out=io.StringIO(), err=io.StringIO()) == 0
        clock = FakeClock()
        fake = FakeGitHub(clock=clock, sleep=clock.advance)
        fake.create_repository(REPO, tree(tmp_path / "d"))
        fake.add_token(TOKEN, "pose-receiver")
        set_up(fake)
        out, err = io.StringIO(), io.StringIO()
        with fake_github_mock(fake, BASE):
            code = main(["doctor"], environ={"RECEIVER_GITHUB_REPOSITORY": REPO, "RECEIVER_GITHUB_API_URL": BASE, "GITHUB_TOKEN": TOKEN}, out=out, err=err)
        assert code == 0, out.getvalue() + err.getvalue()
        assert "pose-receiver/pose-receiver" in out.getvalue()


    def test_a_branch_is_pinned_as_its_head_commit_now(self, receiver_code: FakeGitHub, tmp_path: Path) -> None:
        """--receiver-ref next: the commit the branch points at when init runs, not the branch."""
        head = receiver_code.state.repository(RECEIVER).refs["refs/heads/next"]
        code, output = init(tmp_path / "d", "--receiver-ref", "next", environ=ON_FAKE)
        assert code == 0, output
        assert checked_out(tmp_path / "d", "validate.yml") == f"ref: {head} # next"

    def test_a_ref_that_names_nothing_is_refused_with_what_to_pass(self, receiver_code: FakeGitHub, tmp_path: Path) -> None:
        """No such tag or branch: exit 2, the sentence names it and what to pass, nothing written."""
        code, output = init(tmp_path / "d", "--receiver-ref", "v9.9.9", environ=ON_FAKE)
        assert code == 2
        assert output == (
            "receiver init: --receiver-ref v9.9.9 is neither a tag nor a branch of lab/pose-receiver; pass a tag that exists "
            "(releases are tagged vX.Y.Z), a branch, or a full 40-character commit id\n"
        )
        assert not (tmp_path / "d").exists()

    def test_a_receiver_repository_github_cannot_show_is_refused(self, receiver_code: FakeGitHub, tmp_path: Path) -> None:
        """A misspelt --receiver-repo: GitHub's 404, and what to check; nothing written."""
        out, err = io.StringIO(), io.StringIO()
        code = main(["init", str(tmp_path / "d"), "--receiver-repo", "lab/pose-reciever", "--receiver-ref", "v0.1.0"], environ=ON_FAKE, out=out, err=err)
        assert code == 1
        assert err.getvalue().startswith("receiver init: GitHub answered 404 (Not Found) when asked which commit v0.1.0 of lab/pose-reciever names; check --receiver-repo")
        assert not (tmp_path / "d").exists()


class TestBadInput:
    def test_non_empty_folder_is_refused_without_force(self, tmp_path: Path) -> None:
        """A folder with files is left alone."""
        (tmp_path / "notes.txt").write_text("mine\n")
        code, output = init(tmp_path, "--receiver-ref", COMMIT)
        assert code == 1 and "is not empty; pass --force" in output
        assert tree(tmp_path) == {"notes.txt": b"mine\n"}

    def test_force_leaves_annotations_untouched(self, written: Path) -> None:
        """--force rewrites the workflows but no file under annotations/."""
        (written / "annotations" / ".gitkeep").write_bytes(b"kept\n")
        (written / "annotations" / "x.json").write_bytes(b"{}")
        (written / ".github" / "workflows" / "validate.yml").write_text("edited\n")
        code, output = init(written, "--force", "--receiver-ref", COMMIT)
        assert code == 0, output
        assert (written / "annotations" / ".gitkeep").read_bytes() == b"kept\n" and (written / "annotations" / "x.json").read_bytes() == b"{}"
        assert (written / ".github" / "workflows" / "validate.yml").read_text() != "edited\n"

    def test_unsafe_ref_is_refused(self, tmp_path: Path) -> None:
        """A ref that could break out of the workflow's YAML is refused."""
        code, output = init(tmp_path / "d", "--receiver-ref", "main\n  evil: 1")
        assert code == 1 and "--receiver-ref must be" in output and not (tmp_path / "d").exists()


def test_shipped_workflows_are_the_projects(tmp_path: Path) -> None:
    """The wheel ships .github/workflows' files (force-include) and the checkout reads them from there."""
    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert all(include[f".github/workflows/{name}"] == f"receiver/_workflows/{name}" for name in WORKFLOWS)
    assert shipped_workflows() == {name: (ROOT / ".github" / "workflows" / name).read_bytes() for name in WORKFLOWS}


def _run_steps(job: dict[str, Any], cwd: Path, expressions: dict[str, str], runner: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The job's run steps as the runner would (bash -e); installs are skipped, the packages are here already."""
    output, code = [], 0
    for step in job["steps"]:
        if "run" not in step or "pip install" in step["run"]:
            continue
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RECEIVER_"))}, **runner, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        for key, value in (step.get("env") or {}).items():
            env[key] = re.sub(r"\$\{\{\s*(.*?)\s*\}\}", lambda m: expressions[m.group(1)], str(value))
        result = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=cwd, env=env, capture_output=True, text=True)
        output.append(result.stdout + result.stderr)
        code = result.returncode
        if code:
            break
    return subprocess.CompletedProcess([], code, "".join(output), "")


def _git(cwd: Path, *args: str) -> str:
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    return subprocess.run(["git", *ident, *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def _pinned_checkout(into: Path) -> None:
    """What the workflows' second checkout gives: this project's code in .receiver."""
    for part in ("receiver", "scripts", "schemas"):
        shutil.copytree(ROOT / part, into / ".receiver" / part, ignore=shutil.ignore_patterns("__pycache__"))


def test_validate_workflow_passes_a_receiver_pr(written: Path, tmp_path: Path) -> None:
    """The init validate job's steps, run in a checkout of the init output, pass a PR adding a record."""
    _git(written, "init", "-q", "-b", "main")
    _git(written, "add", ".")
    _git(written, "commit", "-q", "-m", "init")
    base = _git(written, "rev-parse", "HEAD")
    added = record(2)
    (written / added.path).parent.mkdir(parents=True, exist_ok=True)
    (written / added.path).write_bytes(added.to_bytes())
    _git(written, "add", ".")
    _git(written, "commit", "-q", "-m", "add")
    head = _git(written, "rev-parse", "HEAD")
    _pinned_checkout(written)
    job = yaml.safe_load((written / ".github" / "workflows" / "validate.yml").read_text())["jobs"]["validate"]
    expressions = {"github.event_name": "pull_request", "github.event.pull_request.base.sha": base, "github.event.pull_request.head.sha": head}
    result = _run_steps(job, written, expressions, {"GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")})
    assert result.returncode == 0, result.stdout
    assert "1 path(s) to validate" in result.stdout and "1 file(s) checked, 0 failing" in result.stdout


def test_gate_merges_a_receiver_pr_on_an_init_repository(written: Path, tmp_path: Path) -> None:
    """A repository whose first commit is init's output: a delivered record's PR is judged and merged into main."""
    clock = FakeClock()
    fake = FakeGitHub(clock=clock, sleep=clock.advance)
    fake.create_repository(REPO, tree(written))
    fake.add_token(TOKEN, "pose-receiver")
    fake.add_token(ACTIONS, "github-actions[bot]")
    rec = record(5)
    with fake_github_mock(fake, BASE):
        [delivered] = GitHubStore(REPO, github=pygithub(), budget=Budget(min_interval=0)).deliver([rec])
        assert isinstance(delivered, Delivered) and delivered.pull_number is not None
        head = pygithub().get_repo(REPO).get_pull(delivered.pull_number).head.sha
        event = tmp_path / "event.json"
        event.write_text(json.dumps({"workflow_run": {"event": "pull_request", "conclusion": "success", "head_branch": rec.branch, "head_sha": head, "pull_requests": [{"number": delivered.pull_number}]}}))
        environ = {"GITHUB_API_URL": BASE, "GITHUB_REPOSITORY": REPO, "GITHUB_TOKEN": ACTIONS, "GITHUB_EVENT_PATH": str(event), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
        out = io.StringIO()
        code = run_automerge(environ, out)
    assert code == 0, out.getvalue()
    assert fake.files(REPO, "main")[rec.path] == rec.to_bytes()
