"""The README's two commands, as a newcomer runs them: the serve command starts a receiver, the test command is what CI runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.servers import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    """The shell blocks under "Two commands", in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_the_two_commands_install_into_a_virtual_environment() -> None:
    """Both create ./.venv and install there, so a Python that refuses system-wide pip (PEP 668) runs them."""
    serve, test = readme_commands()[:2]
    assert serve == "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/receiver serve"
    assert test.startswith("python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && ")
    assert test in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_serve_command_starts_the_receiver_on_the_embedded_default(tmp_path: Path) -> None:
    """The installed `receiver` script (the serve command's last step) answers /health with a local store it creates."""
    script = Path(sys.executable).parent / "receiver"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "receiver"]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECEIVER_", "GITHUB_"))}
    process = subprocess.Popen([*command, "serve", "--port", str(port)], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:

        def healthy() -> bool:
            assert process.poll() is None, "receiver serve exited"
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).json()["store"]["name"] == "local"
            except httpx.TransportError:
                return False

        wait_until(healthy, timeout=30, what="receiver serve to answer /health")
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert (tmp_path / "receiver-data" / "annotations.git" / "HEAD").is_file()
