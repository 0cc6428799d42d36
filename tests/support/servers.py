"""Run `receiver serve` as a real process on a free loopback port, as a user would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

__all__ = ["free_port", "ReceiverProcess", "wait_until"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(condition: object, *, timeout: float = 60.0, interval: float = 0.05, what: str = "condition") -> None:
    """Poll `condition()` until it is true; fail with `what` after `timeout` seconds (a bound, not a measurement)."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


class ReceiverProcess:
    """`python -m receiver serve` in `workdir`, with RECEIVER_* settings from `environ`."""

    def __init__(self, workdir: Path, environ: Mapping[str, str] | None = None, *, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.environ = dict(environ or {})
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / f"receiver-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ReceiverProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RECEIVER_", "GITHUB_"))}
        env.update(self.environ)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "receiver", "serve", "--port", str(self.port)],
            cwd=self.workdir, env=env, stdout=log, stderr=log,
        )
        log.close()
        wait_until(self._ready, timeout=30, what=f"receiver on port {self.port} to answer /health")
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"receiver exited with {self.process.returncode}:\n{self.log()}")
        try:
            return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        """kill -9: no shutdown, no flushing, as a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> ReceiverProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class FakeGitHubProcess:
    """`python -m tests.github_fake` as its own process, steered through its /_fake/ endpoints."""

    def __init__(self, workdir: Path, *, repo: str = "owner/data", token: str = "receiver-token", login: str = "pose-receiver") -> None:
        self.workdir = workdir
        self.repo, self.token, self.login = repo, token, login
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> FakeGitHubProcess:
        root = Path(__file__).resolve().parents[2]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.github_fake", "--port", "0", "--repo", self.repo, "--token", f"{self.token}={self.login}"],
            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if "listening on" not in line:
            raise AssertionError(f"the fake GitHub did not start: {line!r}")
        self.url = line.strip().rsplit(" ", 1)[-1]
        return self

    def control(self, method: str, path: str, body: object | None = None) -> object:
        response = httpx.request(method, f"{self.url}/_fake/{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json() if response.content else None

    def state(self, branch: str | None = None) -> dict:  # type: ignore[type-arg]
        params = {"repo": self.repo, **({"branch": branch} if branch else {})}
        response = httpx.get(f"{self.url}/_fake/state", params=params, timeout=30)
        response.raise_for_status()
        result: dict = response.json()  # type: ignore[type-arg]
        return result

    def log(self) -> list[dict]:  # type: ignore[type-arg]
        entries: list[dict] = httpx.get(f"{self.url}/_fake/log", timeout=30).json()  # type: ignore[type-arg]
        return entries

    def receiver_settings(self, **extra: str) -> dict[str, str]:
        """The environment that points `receiver serve` at this fake."""
        return {
            "RECEIVER_STORE": "github",
            "RECEIVER_GITHUB_REPOSITORY": self.repo,
            "RECEIVER_GITHUB_API_URL": self.url,
            "GITHUB_TOKEN": self.token,
            "RECEIVER_RATE_LIMIT": "0",
            **extra,
        }

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> FakeGitHubProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
