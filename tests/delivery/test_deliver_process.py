"""A deliver process whose store cannot be opened: it says why where /health reads it, and starts once it can."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from receiver.contract.records import Record
from receiver.delivery.lease import delivery_lease
from receiver.delivery.roles import run_deliverer
from receiver.journal import Journal
from receiver.settings import Settings, load_settings
from tests.e2e.conftest import ids_in
from tests.support.captured import captured_body
from tests.support.servers import wait_until


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({"RECEIVER_LOCAL_REPO": str(tmp_path / "data" / "annotations.git"), "RECEIVER_JOURNAL": str(tmp_path / "journal.sqlite3")})


@pytest.fixture
def journal(settings: Settings) -> Iterator[Journal]:
    opened = Journal(settings.journal_path).open()
    yield opened
    opened.close()


def _queue(journal: Journal) -> Record:
    record = Record.create(captured_body(), submitter="anonymous", received_at=datetime.now(timezone.utc), receiver_version="0.1.0")
    journal.admit_async(record).result(timeout=10)
    return record


def _not_a_repository(settings: Settings) -> None:
    settings.local_repo.mkdir(parents=True)
    (settings.local_repo / "notes.txt").write_text("someone else's folder")


class _Deliverer:
    """`receiver serve --role deliver` in a thread, stopped as SIGTERM would stop it."""

    def __init__(self, settings: Settings) -> None:
        self.stop = threading.Event()
        self.code: int | None = None
        self._thread = threading.Thread(target=self._run, args=(settings,), daemon=True)
        self._thread.start()

    def _run(self, settings: Settings) -> None:
        self.code = run_deliverer(settings, stop=self.stop)

    def join(self) -> int | None:
        self.stop.set()
        self._thread.join(30)
        assert not self._thread.is_alive()
        return self.code


def test_the_reason_is_published_and_delivery_starts_once_the_folder_is_moved_away(settings: Settings, journal: Journal, tmp_path: Path) -> None:
    _not_a_repository(settings)
    record = _queue(journal)
    deliverer = _Deliverer(settings)
    try:
        wait_until(lambda: journal.delivery_status() is not None, timeout=10, what="a published status")
        published = journal.delivery_status()
        assert published is not None
        status = published[0]
        (settings.local_repo / "notes.txt").rename(tmp_path / "notes.txt")
        wait_until(lambda: journal.counts()["delivered"] == 1, timeout=30, what="the record to be delivered")
    finally:
        code = deliverer.join()
    assert status["state"] == "retrying" and status["store"] == {"name": "local"}
    assert status["last_error"].startswith("the local store cannot be opened: its path holds a folder that is not empty and no git repository")
    assert str(tmp_path) not in status["last_error"]
    assert ids_in(settings.local_repo) == {record.id: 1}
    assert code == 0


def test_a_deliverer_without_the_lease_logs_the_reason_and_publishes_nothing(
    settings: Settings, journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    """Another process delivers: this one's trouble must not overwrite what /health shows of the one that works."""
    _not_a_repository(settings)
    other = delivery_lease(settings)
    assert other.try_acquire()
    try:
        with caplog.at_level(logging.ERROR, logger="receiver.roles"):
            deliverer = _Deliverer(settings)
            wait_until(lambda: "cannot be opened" in caplog.text, timeout=10, what="the reason in the log")
            code = deliverer.join()
    finally:
        other.release()
    assert journal.delivery_status() is None
    assert caplog.text.count("cannot be opened") == 1
    assert code == 0


def test_a_journal_that_cannot_take_the_reason_does_not_end_the_deliverer(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """Both away at once (a database gone too): the reason stays in the log and the process keeps trying."""
    from receiver.delivery.roles import _publish_unopened

    closed = Journal(settings.journal_path).open()
    closed.close()
    with caplog.at_level(logging.WARNING, logger="receiver.roles"):
        _publish_unopened(closed, "local", "the local store cannot be opened: reasons", 0.5, "host:1")
    assert "could not be published in the journal" in caplog.text
