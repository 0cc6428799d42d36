"""Reading a bare repository back the way a reviewer would, with plain git."""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["git", "git_bytes", "refs"]


def git_bytes(repository: Path, *args: str) -> bytes:
    """Run git against the repository and return its raw output; fail the test on a non-zero exit."""
    command = ["git", f"--git-dir={repository}", *args]
    return subprocess.run(command, capture_output=True, check=True).stdout


def git(repository: Path, *args: str) -> str:
    return git_bytes(repository, *args).decode("utf-8")


def refs(repository: Path) -> list[str]:
    """Every ref name in the repository."""
    return git(repository, "for-each-ref", "--format=%(refname)").split()
