"""Fixtures for every test: the network is off (only loopback passes), the environment is clean."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

from receiver.contract.validation import Validator
from tests.github_fake import FakeClock, FakeGitHub
from tests.support.github_world import fake_world
from tests.support.pgcluster import Cluster, find_binaries

#: The adversarial suite's counts, summed over xdist's workers and reported once (a plugin: the controller never collects).
pytest_plugins = ["tests.adversarial.report"]

#: Fixtures that make a test slow wherever it is: a PostgreSQL cluster of its own.
SLOW_FIXTURES = frozenset({"postgres_cluster"})
#: Load and end-to-end runs, by path under tests/: receivers and fakes as processes, nginx, thousands of
#: requests, and the long property runs of the validator.
SLOW_PATHS = (
    "e2e/",
    "deploy/",
    "adversarial/test_faults.py",
    "adversarial/test_fuzz_http.py",
    "web/metrics/test_serve.py",
    "web/metrics/test_worker.py",
    "datarepo/test_moderation_race.py",
    "journal/test_walmode.py",
    "delivery/test_github_limits.py",
    "contract/test_validation_properties.py",
    "contract/test_records.py::test_no_folder_passes_a_thousand_entries_at_a_million_records",
)
_TESTS = Path(__file__).resolve().parent


def _is_slow(item: pytest.Item) -> bool:
    if item.get_closest_marker("browser") is not None or set(getattr(item, "fixturenames", ())) & SLOW_FIXTURES:
        return True
    # Engines chosen by parameter ([postgresql]) reach the cluster through request.getfixturevalue.
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "postgresql" in callspec.id:
        return True
    where = Path(str(item.path)).resolve()
    if not where.is_relative_to(_TESTS):
        return False
    name = where.relative_to(_TESTS).as_posix()
    return name.startswith(SLOW_PATHS) or f"{name}::{item.name}".startswith(SLOW_PATHS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser, PostgreSQL and load tests are `slow`, so `pytest -m "not slow"` is the quick loop; `.ci/run` runs them all."""
    for item in items:
        if _is_slow(item):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def network() -> Iterator[responses.RequestsMock]:
    """`requests` reaches nothing but loopback; register fakes on this mock."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(re.compile(r"https?://(127\.0\.0\.1|localhost)(:\d+)?/"))
        yield mock


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the test, never from the machine running it."""
    for key in list(os.environ):
        if key.startswith(("RECEIVER_", "GITHUB_")):
            monkeypatch.delenv(key)


@pytest.fixture(autouse=True)
def tools_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Command-line tools installed beside this Python (actionlint, zizmor in a virtual environment) are found by name."""
    here = str(Path(sys.executable).parent)
    if here not in os.environ.get("PATH", "").split(os.pathsep):
        monkeypatch.setenv("PATH", here + os.pathsep + os.environ.get("PATH", ""))


@pytest.fixture(scope="session")
def validator() -> Validator:
    return Validator()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL server for the session; skipped only where PostgreSQL is not installed (CI installs it)."""
    binaries = find_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed here (.ci/run installs it)")
    cluster = Cluster(binaries).create()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def clock() -> FakeClock:
    """The GitHub fake's clock, which only moves when a test or a paced sleep moves it."""
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeGitHub]:
    """The GitHub fake with the receiver's data repository and token (tests/support/github_world.py), reached through `responses`."""
    with fake_world(clock) as github:
        yield github
