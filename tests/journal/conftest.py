"""The journal's engines as one fixture: every contract test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from receiver.journal import Journal
from tests.support.pgcluster import Cluster

#: Opens a new Journal on the test's store (the same file or database each time).
Opener = Callable[[], Journal]


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def opener(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Opener]:
    """A way to open the test's journal, as many times as a test needs (a second process, a restart)."""
    opened: list[Journal] = []
    if engine == "sqlite":
        path = tmp_path / "journal.sqlite3"

        def make() -> Journal:
            journal = Journal(path).open()
            opened.append(journal)
            return journal

    else:
        from receiver.journal.postgres import PostgresConnector

        cluster: Cluster = request.getfixturevalue("postgres_cluster")
        url = cluster.database()

        def make() -> Journal:
            journal = Journal(PostgresConnector(url)).open()
            opened.append(journal)
            return journal

    yield make
    for journal in opened:
        journal.close()


@pytest.fixture
def journal(opener: Opener) -> Journal:
    return opener()
