"""A data repository on disk and helpers to read it with real git."""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.servers import FakeGitHubProcess, wait_until


def git(repository: Path, *args: str) -> str:
    return subprocess.run(["git", f"--git-dir={repository}", *args], capture_output=True, text=True, check=True).stdout


def files_in(repository: Path, rev: str = "main") -> list[str]:
    return git(repository, "ls-tree", "-r", "--name-only", rev).split()


def ids_in(repository: Path) -> Counter[str]:
    """How many files each record id has on main (each must have exactly one)."""
    return Counter(Path(p).stem for p in files_in(repository) if p.startswith("annotations/"))


def commits(repository: Path) -> int:
    return int(git(repository, "rev-list", "--count", "main"))


def wait_delivered(url: str, *, timeout: float = 120.0) -> None:
    def drained() -> bool:
        journal = httpx.get(f"{url}/health", timeout=5).json()["journal"]
        return journal["backlog"] == 0

    wait_until(drained, timeout=timeout, interval=0.1, what="the journal backlog to drain")


#: GitHub's pacing off, for runs that measure correctness rather than limits.
FAST = {
    "RECEIVER_GITHUB_WRITE_INTERVAL": "0",
    "RECEIVER_GITHUB_WRITES_PER_MINUTE": "100000",
    "RECEIVER_GITHUB_WRITES_PER_HOUR": "100000",
}
UNLIMITED = {"primary_per_hour": 1_000_000, "secondary_per_minute": 1_000_000, "secondary_per_hour": 1_000_000}


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHubProcess]:
    """`python -m tests.github_fake` with its limits lifted."""
    with FakeGitHubProcess(tmp_path) as fake:
        fake.control("POST", "limits", UNLIMITED)
        yield fake
