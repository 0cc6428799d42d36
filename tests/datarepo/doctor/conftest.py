"""A data repository in the GitHub fake, set up as `receiver doctor` wants it, and the CLI run in-process."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from receiver.cli import main
from receiver.datarepo.layout import Pin, init_files
from tests.github_fake import FakeClock, FakeGitHub, fake_github_mock
from tests.support.github_world import BASE, REPO, TOKEN, fake_world

#: The receiver's code an init repository in these tests pins: the commit its tag v0.1.0 named.
PIN = Pin("lab/pose-receiver", "0123456789abcdef0123456789abcdef01234567", named="v0.1.0")


@dataclass
class Run:
    code: int
    out: str
    err: str


Doctor = Callable[..., Run]


def set_up(fake: FakeGitHub) -> None:
    """Every setting doctor checks, made as a maintainer would."""
    fake.set_role(REPO, "pose-receiver", "push")
    fake.protect_branch(REPO, "main", ["validate"])
    settings = fake.state.repository(REPO).settings
    settings.delete_branch_on_merge = True
    fake.state.set_variable(fake.state.repository(REPO), "RECEIVER_GATE_AUTHORS", "pose-receiver", create=True)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def bare(clock: FakeClock) -> Iterator[FakeGitHub]:
    """The fake with `owner/data` holding only a README, nothing set."""
    with fake_world(clock) as fake:
        yield fake


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeGitHub]:
    """The fake with a data repository made by `receiver init` and every setting made."""
    github = FakeGitHub(clock=clock, sleep=clock.advance)
    github.create_repository(REPO, {**init_files(PIN), "annotations/.gitkeep": b""})
    github.add_token(TOKEN, "pose-receiver")
    set_up(github)
    with fake_github_mock(github, BASE):
        yield github


@pytest.fixture
def doctor() -> Doctor:
    """`receiver doctor` with the receiver's settings for the fake; prints its output for failing tests."""

    def run(*argv: str, token: str = TOKEN, repository: str = REPO) -> Run:
        out, err = io.StringIO(), io.StringIO()
        environ = {"RECEIVER_GITHUB_REPOSITORY": repository, "RECEIVER_GITHUB_API_URL": BASE, "GITHUB_TOKEN": token}
        code = main(["doctor", *argv], environ=environ, out=out, err=err)
        print(f"$ receiver doctor {' '.join(argv)}\n{out.getvalue()}{err.getvalue()}exit {code}")
        return Run(code, out.getvalue(), err.getvalue())

    return run
