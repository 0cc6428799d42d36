"""The fake's value-level pieces: ref-name rules agree with git, the clock only moves when told."""

from __future__ import annotations

import subprocess

import pytest

from tests.github_fake import FakeClock
from tests.github_fake.refnames import path_problem, refname_problem

NAMES = [
    "refs/heads/main",
    "refs/heads/labels/2024-01-01/abc",
    "refs/heads/a..b",
    "refs/heads/a b",
    "refs/heads/x.lock",
    "refs/heads/x.lock/y",
    "refs/heads/.hidden",
    "refs/heads/a~1",
    "refs/heads/a^",
    "refs/heads/a:b",
    "refs/heads/a?",
    "refs/heads/a*",
    "refs/heads/a[b",
    "refs/heads/a\\b",
    "refs/heads/a@{b",
    "refs/heads/a@b",
    "refs/heads/end.",
    "refs/heads//double",
    "refs/heads/trailing/",
    "/refs/heads/lead",
    "refs/heads/tab\there",
    "refs/heads/ünïcode",
    "@",
]


@pytest.mark.parametrize("name", NAMES)
def test_refname_rules_match_git_check_ref_format(name: str) -> None:
    """refname_problem accepts exactly what `git check-ref-format` accepts."""
    git_accepts = subprocess.run(["/usr/bin/git", "check-ref-format", name], capture_output=True).returncode == 0
    assert (refname_problem(name) is None) == git_accepts


@pytest.mark.parametrize(
    ("path", "ok"), [("a/b.json", True), ("a/../b", False), ("", False), ("a/./b", False), ("x/.GIT/y", False)]
)
def test_path_rules(path: str, ok: bool) -> None:
    """Paths with empty, '.', '..' or .git components are refused."""
    assert (path_problem(path) is None) == ok


def test_clock_moves_only_when_advanced() -> None:
    """FakeClock.now() is fixed until advance()."""
    clock = FakeClock(100.0)
    assert clock.now() == clock.now() == 100.0
    assert clock.advance(3600) == clock.now() == 3700.0


def test_clock_refuses_to_go_back() -> None:
    """A negative advance is a test bug and raises."""
    with pytest.raises(ValueError, match="only moves forward"):
        FakeClock().advance(-1)
