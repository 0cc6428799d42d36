"""`python -m tests.github_fake`, as the README runs it: without the test extra, with a clock that follows real time."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import wait_delivered
from tests.support.captured import numbered_submission
from tests.support.servers import FakeGitHubProcess, ReceiverProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
# `responses` made unimportable, as in a venv with only `pip install -e .`; then the module runs as `-m` would.
WITHOUT_RESPONSES = (
    "import runpy, sys; sys.modules['responses'] = None; "
    "sys.argv = ['tests.github_fake', '--port', '0']; runpy.run_module('tests.github_fake', run_name='__main__')"
)


def test_the_fake_starts_without_the_test_extra() -> None:
    """No `responses` installed: the server still starts and answers (only in-process tests import it)."""
    process = subprocess.Popen([sys.executable, "-c", WITHOUT_RESPONSES], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "listening on" in line, process.stderr.read() if process.stderr else line
        url = line.strip().rsplit(" ", 1)[-1]
        clock = httpx.get(f"{url}/_fake/clock", timeout=10).json()
        assert clock["frozen"] is False
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_the_clock_can_be_frozen_and_stepped_over_http(tmp_path: Path) -> None:
    """POST /_fake/clock {freeze, advance}: a test that steps time gets a clock that stands still between steps."""
    with FakeGitHubProcess(tmp_path) as github:
        frozen = github.control("POST", "clock", {"freeze": True})
        stepped = github.control("POST", "clock", {"advance": 60})
        assert frozen["frozen"] is True and stepped["now"] == frozen["now"] + 60  # type: ignore[index]


@pytest.mark.slow
def test_two_hundred_pr_mode_submissions_are_delivered_with_no_manual_clock_change(tmp_path: Path) -> None:
    """The fake run by hand with its default limits: its secondary limit holds the receiver, and the window ends by itself.

    The first 30 go one at a time, each delivered as a pull request of its
    own before the next is sent, so the 81st write of the minute meets the
    fake's limit (80 a minute) whatever the receiver would coalesce; the other
    170 go at once. Nobody touches /_fake/clock.
    """
    json_headers = {"Content-Type": "application/json"}
    with FakeGitHubProcess(tmp_path) as github:
        # The receiver's own pacing is lifted per minute, so the fake's limit is what holds it.
        settings = github.receiver_settings(RECEIVER_GITHUB_WRITE_INTERVAL="0", RECEIVER_GITHUB_WRITES_PER_MINUTE="1000")
        with ReceiverProcess(tmp_path, settings) as server, httpx.Client(base_url=server.url, timeout=30) as client:
            ids = []
            for n in range(1, 201):
                response = client.post("/api/labels", json=numbered_submission(n), headers=json_headers)
                assert response.status_code == 202, response.text
                ids.append(response.json()["id"])
                if n <= 30:
                    wait_delivered(server.url, timeout=300)
            wait_delivered(server.url, timeout=900)
            states = {client.get(f"/api/submissions/{record_id}").json()["status"] for record_id in ids}
        limited = [entry for entry in github.log() if entry["status"] in (403, 429)]
        clock = github.control("GET", "clock")
    assert states == {"delivered"}
    assert limited, "the fake's secondary limit was never reached, so this proves nothing about its clock"
    assert clock["frozen"] is False  # type: ignore[index]


def readme_fake_blocks() -> list[str]:
    """The shell blocks of the README's section on the fake: starting it, then a data repository in it and doctor."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## The GitHub fake, for trying GitHub delivery on your machine\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section, re.DOTALL)


def test_the_readmes_fake_set_up_ends_with_doctor_passing(tmp_path: Path) -> None:
    """The README's lines under dash (port made free, the venv's python named): doctor passes every check on the repository they make."""
    start, set_up = readme_fake_blocks()[:2]
    port = str(free_port())
    command = shlex.split(start.replace("8765", port))
    assert command[:3] == [".venv/bin/python", "-m", "tests.github_fake"]
    fake = subprocess.Popen([sys.executable, *command[1:]], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert fake.stdout is not None and "listening on" in fake.stdout.readline()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RECEIVER_", "GITHUB_"))}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        shell = shutil.which("dash") or "/bin/sh"
        ran = subprocess.run([shell, "-e", "-c", set_up.replace("8765", port)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    finally:
        fake.terminate()
        fake.communicate(timeout=30)
    print(ran.stdout, ran.stderr)
    assert ran.returncode == 0 and "10 of 10 checks pass" in ran.stdout
