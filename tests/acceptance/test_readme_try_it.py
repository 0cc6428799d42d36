"""The README's "Try it", as a newcomer runs it: in dash, on a copy of the project, against the README's own serve command.

The lines run are read from README.md, so the test fails when the README
drifts. Two substitutions only: the venv is the one running this test (the
serve command's `python3 -m venv` and `pip install` steps are what CI already
did), and port 8000 becomes a free port, since other runs share this machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.servers import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
SHELL = shutil.which("dash") or "/bin/sh"


def readme_section(title: str) -> list[str]:
    """The shell blocks of the README section headed `## title`, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section, re.DOTALL)


def fresh_copy(target: Path) -> Path:
    """The project's tracked files as they are in the work tree: what a clone of this change holds."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def serve_step(command: str) -> str:
    """The serve command's last step (`.venv/bin/receiver serve`), after its venv set-up."""
    return command.rsplit("&& ", 1)[-1]


def clean_environ(clone: Path, port: int) -> dict[str, str]:
    """The user's environment without receiver or GitHub settings, with the venv activated as the README says."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECEIVER_", "GITHUB_"))}
    env["PATH"] = f"{clone / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["RECEIVER_PORT"] = str(port)
    return env


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    copy = fresh_copy(tmp_path / "pose-receiver")
    (copy / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    return copy


def test_try_it_shows_the_commit_of_the_submission_under_dash(clone: Path) -> None:
    """Under dash, the README's set-up serves and its "Try it" posts, waits for the commit and shows it: no 'does not have any commits yet'."""
    setup = readme_section("Two commands")[0]
    (try_it,) = readme_section("Try it")
    port = free_port()
    env = clean_environ(clone, port)
    server = subprocess.Popen([SHELL, "-c", "exec " + serve_step(setup)], cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        wait_until(lambda: _healthy(server, port), timeout=60, what="the README's serve command to answer /health")
        script = try_it.replace("localhost:8000", f"localhost:{port}")
        ran = subprocess.run([SHELL, "-c", script], cwd=clone, env=env, capture_output=True, text=True, timeout=120)
    finally:
        server.terminate()
        printed, _ = server.communicate(timeout=30)
    print(ran.stdout, ran.stderr)
    assert ran.returncode == 0 and "Syntax error" not in ran.stderr
    assert re.search(r"^commit [0-9a-f]{40}$", ran.stdout, re.MULTILINE), ran.stdout
    record_id = re.search(r'"id":"([0-9a-f]+)"', ran.stdout)
    assert record_id and re.search(rf"{record_id.group(1)}\.json +\| ", ran.stdout), ran.stdout
    assert "does not have any commits yet" not in ran.stderr
    assert f"http://127.0.0.1:{port}/label" in printed and "./receiver-data/annotations.git" in printed


def _healthy(server: subprocess.Popen[str], port: int) -> bool:
    assert server.poll() is None, "the README's serve command exited"
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code in (200, 503)
    except httpx.TransportError:
        return False


def test_try_it_is_plain_posix_shell() -> None:
    """No bash-only syntax a newcomer's /bin/sh refuses: dash parses the block without running it."""
    (try_it,) = readme_section("Try it")
    checked = subprocess.run([SHELL, "-n", "-c", try_it], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert "<(" not in try_it
