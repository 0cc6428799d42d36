"""`receiver validate`: exit codes, the three formats, and bad files that never stop the run."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from receiver.contract.records import Record
from tests.acceptance.conftest import RunCLI
from tests.support.captured import captured_body, captured_posts


def store(root: Path, record: Record) -> Path:
    path = root / record.path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(record.to_bytes())
    return path


def record_of(name: str = "post_six_placed", **changes: object) -> Record:
    body = captured_body(name)
    body.update(changes)
    return Record.create(body, submitter="anonymous", received_at=datetime(2026, 1, 1, tzinfo=timezone.utc), receiver_version="0.1.0")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    for request in captured_posts():
        store(tmp_path, record_of(request.name))
    return tmp_path


def test_valid_tree_exits_zero(run_cli: RunCLI, repo: Path) -> None:
    """Stored records of every captured request pass."""
    result = run_cli("validate", str(repo))
    assert result.code == 0
    assert "5 file(s) checked, all valid" in result.out


def test_raw_submissions_are_recognised(run_cli: RunCLI, tmp_path: Path) -> None:
    for request in captured_posts():
        (tmp_path / f"{request.name}.json").write_bytes(request.body)
    assert run_cli("validate", str(tmp_path)).code == 0


def test_bare_submission_under_annotations_is_a_broken_record(run_cli: RunCLI, repo: Path) -> None:
    """A raw submission filed under annotations/ fails for its missing receipt, though valid as input elsewhere."""
    bare = repo / "annotations" / "upload.json"
    bare.write_bytes(captured_posts()[0].body)
    result = run_cli("validate", str(repo))
    assert result.code == 1
    assert f"{bare}: /receipt: is missing: a file under annotations/ is a stored record" in result.out


def test_bare_submission_outside_annotations_stays_valid_input(run_cli: RunCLI, repo: Path) -> None:
    """The same raw submission beside the annotations folder is checked as a submission and passes."""
    (repo / "upload.json").write_bytes(captured_posts()[0].body)
    assert run_cli("validate", str(repo)).code == 0


def test_invalid_file_exits_one_with_pointer(run_cli: RunCLI, repo: Path) -> None:
    bad = repo / "raw.json"
    body = captured_body()
    body["labels"][2]["pixel_x"] = 2000
    bad.write_text(json.dumps(body))
    result = run_cli("validate", str(repo))
    assert result.code == 1
    assert f"{bad}: /labels/2/pixel_x: 2000 is outside the frame (width 1280)" in result.out


def test_missing_path_is_a_usage_error(run_cli: RunCLI, tmp_path: Path) -> None:
    result = run_cli("validate", str(tmp_path / "nothing"))
    assert result.code == 2
    assert "no such file or folder" in result.err


def test_unknown_option_is_a_usage_error(run_cli: RunCLI, repo: Path) -> None:
    assert run_cli("validate", "--format", "xml", str(repo)).code == 2


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (b"", "empty"),
        (b"not json", "not valid JSON"),
        (b"\xff\xfe{}", "UTF-8"),
        (b"[" * 5000 + b"]" * 5000, "nests too deeply"),
        (b" " * 100_000, "limit"),
    ],
)
def test_bad_file_is_a_problem_line_and_the_run_goes_on(run_cli: RunCLI, repo: Path, content: bytes, phrase: str) -> None:
    """A broken file is reported in one line; the valid files after it are still checked."""
    (repo / "0-broken.json").write_bytes(content)
    result = run_cli("validate", str(repo))
    assert result.code == 1
    assert phrase in result.out
    assert "6 file(s) checked, 1 failing" in result.out
    assert "Traceback" not in result.out + result.err


def test_json_format_lists_every_file(run_cli: RunCLI, repo: Path) -> None:
    (repo / "bad.json").write_text('{"labels": []}')
    report = json.loads(run_cli("validate", "--format", "json", str(repo)).out)
    assert report["checked"] == 6 and report["failed"] == 1
    bad = next(f for f in report["files"] if not f["ok"])
    assert {"pointer": "/video_url", "message": "is missing; every submission needs 'video_url'"} in bad["problems"]


def test_github_format_prints_workflow_commands_and_summary(run_cli: RunCLI, repo: Path, tmp_path: Path) -> None:
    """Problems become ::error commands for the diff and a table in the job summary."""
    record = record_of()
    document = record.document()
    document["submission"]["fps"] = -1
    bad = repo / "annotations" / "bad.json"
    bad.write_text(json.dumps(document))
    summary = tmp_path / "summary.md"
    result = run_cli("validate", "--format", "github", str(repo), environ={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.code == 1
    assert f"::error file={bad},title=Invalid annotation /submission/fps::/submission/fps: -1 is too small" in result.out
    table = summary.read_text()
    assert "| File | Where | Problem |" in table and "`/submission/fps`" in table


def test_github_summary_says_pass(run_cli: RunCLI, repo: Path, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    assert run_cli("validate", "--format", "github", str(repo), environ={"GITHUB_STEP_SUMMARY": str(summary)}).code == 0
    assert "passed" in summary.read_text()


def test_record_at_the_wrong_path_fails(run_cli: RunCLI, tmp_path: Path) -> None:
    record = record_of()
    moved = tmp_path / "annotations" / f"{record.id}.json"
    moved.parent.mkdir(parents=True)
    moved.write_bytes(record.to_bytes())
    result = run_cli("validate", str(tmp_path))
    assert result.code == 1 and record.path in result.out


def test_records_of_both_layouts_pass(run_cli: RunCLI, tmp_path: Path) -> None:
    """A data repository with records stored before the deeper layout and after it validates clean."""
    old, new = record_of(frame_index=1), record_of(frame_index=2)
    before = tmp_path / old.legacy_path
    before.parent.mkdir(parents=True)
    before.write_bytes(old.to_bytes())
    store(tmp_path, new)
    result = run_cli("validate", str(tmp_path))
    assert result.code == 0 and "2 file(s) checked, all valid" in result.out


def test_workflow_script_is_the_same_command(repo: Path) -> None:
    """scripts/validate_annotations.py is a thin entry point with the same exit codes."""
    script = Path(__file__).parents[2] / "scripts" / "validate_annotations.py"
    ok = subprocess.run([sys.executable, str(script), str(repo)], capture_output=True, text=True)
    (repo / "bad.json").write_text("{}")
    bad = subprocess.run([sys.executable, str(script), "--format", "github", str(repo)], capture_output=True, text=True)
    assert (ok.returncode, bad.returncode) == (0, 1)
    assert "::error file=" in bad.stdout


def test_python_dash_m_receiver_runs(repo: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "receiver", "validate", str(repo)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.fixture
def large_repo(tmp_path: Path) -> Path:
    """600 stored records, enough for several chunks per process, with broken files spread among them."""
    for n in range(600):
        body = captured_body()
        body["frame_index"] = n % 100
        body["labels"][0]["pixel_x"] = n
        path = store(tmp_path, record_of(**body))
        if n % 97 == 0:
            path.write_bytes(b'{"receipt": ')
        elif n % 89 == 0:
            edited = json.loads(path.read_bytes())
            edited["submission"]["labels"][0]["pixel_x"] = 5000
            path.write_text(json.dumps(edited))
    return tmp_path


@pytest.mark.parametrize("output", ["text", "json", "github"])
def test_two_jobs_print_exactly_what_one_job_prints(run_cli: RunCLI, large_repo: Path, output: str) -> None:
    """--jobs 2 checks in worker processes, yet its output and exit code are --jobs 1's, byte for byte."""
    one = run_cli("validate", "--format", output, "--jobs", "1", str(large_repo))
    two = run_cli("validate", "--format", output, "--jobs", "2", str(large_repo))
    assert one.code == 1
    assert (two.code, two.out, two.err) == (one.code, one.out, one.err)


def test_jobs_must_be_a_positive_number(run_cli: RunCLI, repo: Path) -> None:
    assert run_cli("validate", "--jobs", "0", str(repo)).code == 2
