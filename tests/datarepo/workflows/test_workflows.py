"""The workflow files: statically clean, and their `run:` steps executed here with the variables they give.

A workflow cannot drift from the scripts it calls: each `run:` step runs in a
checkout-like folder with the `env:` the step declares (expressions replaced
by the values a run of the scenario would have) plus the runner's standard
variables. `uses:` steps are GitHub's; install steps are skipped because
this environment already has the packages installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from receiver.contract.records import Record
from receiver.stores.github import GitHubStore
from receiver.stores.pacing import Budget
from tests.github_fake import FakeClock, FakeGitHub, FakeServer
from tests.support.captured import captured_body

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = ROOT / ".github" / "workflows"
INSTALL = re.compile(r"^python -m pip install (\.|--require-hashes .*)$")
GATE_REQUIREMENTS = ROOT / "scripts" / "gate-requirements.txt"


def workflow(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return loaded


def run_steps(job: Mapping[str, Any], cwd: Path, expressions: Mapping[str, str], runner_env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run each `run:` step in order as the runner would (bash -e), stopping at the first failure."""
    output: list[str] = []
    result = subprocess.CompletedProcess[str]([], 0, "", "")
    for step in job["steps"]:
        if "run" not in step or INSTALL.match(step["run"].strip()):
            continue
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RECEIVER_"))}, **runner_env, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        for key, value in (step.get("env") or {}).items():
            env[key] = re.sub(r"\$\{\{\s*(.*?)\s*\}\}", lambda m: expressions[m.group(1)], str(value))
        result = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=cwd, env=env, capture_output=True, text=True)
        output.append(result.stdout + result.stderr)
        if result.returncode != 0:
            break
    return subprocess.CompletedProcess(result.args, result.returncode, "".join(output), "")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def record(n: int) -> Record:
    body = captured_body()
    body["frame_index"] = n
    return Record.create(body, submitter="anonymous", received_at=datetime(2026, 11, 25, tzinfo=timezone.utc), receiver_version="0.1.0")


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A data repository like the workflow's checkout: the validator's code, one valid annotation, one commit."""
    repo = tmp_path / "checkout"
    for part in ("receiver", "scripts", "schemas"):
        shutil.copytree(ROOT / part, repo / part, ignore=shutil.ignore_patterns("__pycache__"))
    existing = record(1)
    (repo / existing.path).parent.mkdir(parents=True)
    (repo / existing.path).write_bytes(existing.to_bytes())
    git(repo, "init", "-q", "-b", "main")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "--allow-empty", "-m", "empty")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "base")
    return repo


def commit_file(repo: Path, path: str, content: bytes) -> str:
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_bytes(content)
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "change")
    return git(repo, "rev-parse", "HEAD")


def validate_job(repo: Path, event: str, base: str, head: str, summary: Path) -> subprocess.CompletedProcess[str]:
    expressions = {"github.event_name": event, "github.event.pull_request.base.sha": base if event == "pull_request" else "", "github.event.pull_request.head.sha": head if event == "pull_request" else ""}
    return run_steps(workflow("validate.yml")["jobs"]["validate"], repo, expressions, {"GITHUB_STEP_SUMMARY": str(summary)})


class TestStatic:
    def test_actionlint_is_clean(self) -> None:
        result = subprocess.run(["actionlint", *map(str, sorted(WORKFLOWS.glob("*.yml")))], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr

    def test_zizmor_is_clean(self) -> None:
        result = subprocess.run(["zizmor", "--offline", "--no-progress", str(WORKFLOWS)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr

    @pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
    def test_actions_are_pinned_by_commit_sha(self, name: str) -> None:
        uses = [step["uses"] for job in workflow(name)["jobs"].values() for step in job["steps"] if "uses" in step]
        assert uses and all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u) for u in uses), uses

    @pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
    def test_permissions_are_empty_at_top_and_granted_per_job(self, name: str) -> None:
        document = workflow(name)
        assert document["permissions"] == {}
        assert all("permissions" in job for job in document["jobs"].values())

    @pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
    def test_no_expression_in_a_run_line(self, name: str) -> None:
        runs = [step["run"] for job in workflow(name)["jobs"].values() for step in job["steps"] if "run" in step]
        assert not any("${{" in run for run in runs)

    def test_automerge_installs_only_the_hashed_gate_requirements(self) -> None:
        """The job holding a write token installs nothing but scripts/gate-requirements.txt, by hash."""
        runs = [step["run"].strip() for step in workflow("automerge.yml")["jobs"]["merge"]["steps"] if "run" in step]
        installs = [run for run in runs if "pip" in run]
        assert installs == ["python -m pip install --require-hashes --only-binary=:all: -r scripts/gate-requirements.txt"]

    def test_init_automerge_gives_the_merge_step_the_same_env(self) -> None:
        """The data-only repository's gate reads the same variables (gate authors, moderation) as this project's."""
        from receiver.datarepo.layout import Pin, render

        def merge_env(document: dict[str, Any]) -> dict[str, str]:
            return next(step["env"] for step in document["jobs"]["merge"]["steps"] if step.get("name") == "Judge and merge")

        ours = merge_env(workflow("automerge.yml"))
        assert ours["RECEIVER_MODERATION"] == "${{ vars.RECEIVER_MODERATION || 'auto' }}"
        assert merge_env(yaml.safe_load(render("automerge.yml", Pin("lab/pose-receiver", "0123456789abcdef0123456789abcdef01234567")))) == ours

    def test_gate_requirements_are_pinned_with_hashes(self) -> None:
        """Every requirement is an exact version with at least one sha256."""
        text = re.sub(r"(?m)^#.*\n", "", GATE_REQUIREMENTS.read_text()).replace("\\\n", " ")
        entries = [line.split() for line in text.splitlines() if line.strip()]
        assert entries and all(re.fullmatch(r"[\w.-]+(\[[\w,-]+\])?==[\w.]+", e[0]) for e in entries)
        assert all(e[1:] and all(re.fullmatch(r"--hash=sha256:[0-9a-f]{64}", h) for h in e[1:]) for e in entries)

    def test_gate_runs_with_only_its_requirements(self, tmp_path: Path) -> None:
        """With nothing importable but the pinned distributions and the checkout, the gate and its validator load."""
        from importlib import metadata

        for line in GATE_REQUIREMENTS.read_text().splitlines():
            if "==" not in line:
                continue
            dist = metadata.distribution(line.split("==")[0].split("[")[0])
            for top in {Path(str(f)).parts[0] for f in dist.files or ()} - {"..", "bin"}:
                source = Path(str(dist.locate_file(top)))
                if source.exists() and not (tmp_path / top).exists():
                    (tmp_path / top).symlink_to(source)
        probe = "import receiver.datarepo.automerge, receiver.contract.validation; receiver.contract.validation.Validator(); print('gate loads')"
        env = {"PATH": os.environ["PATH"], "PYTHONPATH": f"{tmp_path}:{ROOT}"}
        result = subprocess.run([sys.executable, "-S", "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert result.stdout.strip() == "gate loads", result.stderr

    def test_test_workflow_runs_the_readme_test_command(self) -> None:
        readme = (ROOT / "README.md").read_text()
        command = next(step["run"] for step in workflow("tests.yml")["jobs"]["test"]["steps"] if "run" in step)
        assert f"```sh\n{command}\n```" in readme
        assert command.endswith("python -m pytest")
        assert command in (ROOT / ".ci" / "run").read_text()


class TestValidateWorkflow:
    def test_pull_request_adding_a_valid_annotation_passes(self, checkout: Path, tmp_path: Path) -> None:
        base = git(checkout, "rev-parse", "HEAD")
        added = record(2)
        head = commit_file(checkout, added.path, added.to_bytes())
        result = validate_job(checkout, "pull_request", base, head, tmp_path / "summary.md")
        assert result.returncode == 0, result.stdout
        assert "1 path(s) to validate" in result.stdout and "1 file(s) checked, 0 failing" in result.stdout

    def test_pull_request_adding_an_invalid_annotation_fails_inline(self, checkout: Path, tmp_path: Path) -> None:
        base = git(checkout, "rev-parse", "HEAD")
        bad = record(3).document()
        bad["submission"]["fps"] = 0
        path = record(3).path
        head = commit_file(checkout, path, json.dumps(bad).encode())
        result = validate_job(checkout, "pull_request", base, head, tmp_path / "summary.md")
        assert result.returncode == 1
        assert f"::error file={path},title=Invalid annotation /submission/fps::" in result.stdout
        assert "/submission/fps" in (tmp_path / "summary.md").read_text()

    @pytest.mark.parametrize("changed", ["schemas/NOTE.md", "receiver/NOTE.md", "scripts/NOTE.md", "pyproject.toml", ".github/workflows/validate.yml"])
    def test_change_to_what_decides_the_verdict_revalidates_everything(self, checkout: Path, tmp_path: Path, changed: str) -> None:
        """A PR touching the validator, its scripts, packaging or workflows gets every annotation checked, not just its own."""
        base = git(checkout, "rev-parse", "HEAD")
        head = commit_file(checkout, changed, b"# changed\n")
        result = validate_job(checkout, "pull_request", base, head, tmp_path / "summary.md")
        assert "1 path(s) to validate" in result.stdout and "1 file(s) checked" in result.stdout

    def test_pull_request_whose_diff_cannot_be_computed_fails(self, checkout: Path, tmp_path: Path) -> None:
        """An unknown base commit fails the job instead of validating nothing."""
        head = git(checkout, "rev-parse", "HEAD")
        result = validate_job(checkout, "pull_request", "0" * 40, head, tmp_path / "summary.md")
        assert result.returncode != 0 and "path(s) to validate" not in result.stdout

    def test_direct_push_of_an_invalid_file_fails_with_file_and_pointer(self, checkout: Path, tmp_path: Path) -> None:
        bad = record(4).document()
        bad["submission"]["labels"][0]["pixel_x"] = 99999
        path = record(4).path
        commit_file(checkout, path, json.dumps(bad).encode())
        result = validate_job(checkout, "push", "", "", tmp_path / "summary.md")
        assert result.returncode == 1
        assert f"::error file=annotations/{path.split('annotations/', 1)[1]}" in result.stdout
        assert "/submission/labels/0/pixel_x" in result.stdout
        assert "2 file(s) checked, 1 failing" in result.stdout

    def test_push_of_valid_files_passes(self, checkout: Path, tmp_path: Path) -> None:
        result = validate_job(checkout, "push", "", "", tmp_path / "summary.md")
        assert result.returncode == 0 and "1 file(s) checked, 0 failing" in result.stdout


@pytest.fixture
def github_server() -> Iterator[tuple[FakeGitHub, str]]:
    clock = FakeClock()
    fake = FakeGitHub(clock=clock, sleep=clock.advance)
    fake.create_repository("owner/data")
    fake.add_token("receiver-token", "pose-receiver")
    fake.add_token("actions-token", "github-actions[bot]")
    with FakeServer(fake) as server:
        yield fake, server.url


def merge_job(fake: FakeGitHub, url: str, tmp_path: Path, rec: Record, moderation: str) -> subprocess.CompletedProcess[str]:
    """The receiver delivers `rec`; the merge job's run steps then run with the job's env, `vars.RECEIVER_MODERATION` being `moderation`."""
    from github import Auth, Github

    client = Github(base_url=url, auth=Auth.Token("receiver-token"), retry=None, seconds_between_requests=None, seconds_between_writes=None)
    [delivered] = GitHubStore("owner/data", github=client, budget=Budget(min_interval=0)).deliver([rec])
    head = client.get_repo("owner/data").get_pull(delivered.pull_number).head.sha  # type: ignore[arg-type]
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"workflow_run": {"event": "pull_request", "conclusion": "success", "head_branch": rec.branch, "head_sha": head, "pull_requests": [{"number": delivered.pull_number}]}}))
    job = workflow("automerge.yml")["jobs"]["merge"]
    runner = {"GITHUB_API_URL": url, "GITHUB_REPOSITORY": "owner/data", "GITHUB_EVENT_PATH": str(event), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    expressions = {
        "secrets.GITHUB_TOKEN": "actions-token",
        "vars.RECEIVER_GATE_AUTHORS || 'pose-receiver'": "pose-receiver",
        "vars.RECEIVER_MODERATION || 'auto'": moderation,
    }
    return run_steps(job, ROOT, expressions, runner)


def test_automerge_workflow_merges_a_receiver_pr(github_server: tuple[FakeGitHub, str], tmp_path: Path, network: Any) -> None:
    """The merge job's run steps, with the job's env and the runner's variables, merge over real HTTP."""
    fake, url = github_server
    network.add_passthru(url)
    rec = record(5)
    result = merge_job(fake, url, tmp_path, rec, moderation="auto")
    assert result.returncode == 0, result.stdout
    assert fake.files("owner/data", "main")[rec.path] == rec.to_bytes()
    assert "merged" in (tmp_path / "summary.md").read_text()


def test_automerge_workflow_merges_nothing_in_a_repository_in_moderation(github_server: tuple[FakeGitHub, str], tmp_path: Path, network: Any) -> None:
    """With the repository variable RECEIVER_MODERATION=review the job passes it to the gate, which refuses an unlabelled receiver PR."""
    fake, url = github_server
    network.add_passthru(url)
    rec = record(6)
    result = merge_job(fake, url, tmp_path, rec, moderation="review")
    assert result.returncode == 1, result.stdout
    assert rec.path not in fake.files("owner/data", "main")
    assert "the repository is in moderation" in (tmp_path / "summary.md").read_text()
