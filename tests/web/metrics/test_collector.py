"""Gauges read from the journal at scrape time, the same whichever process is scraped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from receiver.journal import Journal
from receiver.stores import Delivered
from receiver.web.metrics import Metrics
from tests.support.captured import numbered_record
from tests.web.metrics.conftest import value

#: When numbered records were received.
RECEIVED = datetime(2026, 11, 25, tzinfo=timezone.utc)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite3") as opened:
        yield opened


def metrics_over(journal: Journal | None, now: datetime = RECEIVED) -> Metrics:
    return Metrics(access="public", token="", journal=lambda: journal, now=lambda: now)


def test_backlog_counts_queued_records(journal: Journal) -> None:
    """Two admitted, undelivered records: receiver_journal_backlog 2."""
    for n in (1, 2):
        journal.admit_async(numbered_record(n)).result()
    assert value(metrics_over(journal).render().decode(), "receiver_journal_backlog") == 2


def test_oldest_queued_age_is_seconds_since_its_receipt(journal: Journal) -> None:
    """A record received two minutes before the scrape: oldest_queued_age_seconds 120."""
    journal.admit_async(numbered_record(1)).result()
    text = metrics_over(journal, RECEIVED + timedelta(minutes=2)).render().decode()
    assert value(text, "receiver_journal_oldest_queued_age_seconds") == 120


def test_oldest_queued_age_is_zero_when_nothing_waits(journal: Journal) -> None:
    """An empty queue reads 0 seconds, not a missing series."""
    assert value(metrics_over(journal, RECEIVED + timedelta(hours=1)).render().decode(), "receiver_journal_oldest_queued_age_seconds") == 0


def test_open_pull_requests_are_counted(journal: Journal) -> None:
    """Two records delivered as two open pull requests: receiver_pull_requests_open 2."""
    records = [numbered_record(n) for n in (1, 2)]
    for record in records:
        journal.admit_async(record).result()
    journal.mark_delivered([Delivered(r.id, r.path, "c" * 40, True, branch=f"b{i}", pull_number=i, pull_url=f"u{i}") for i, r in enumerate(records, 7)])
    assert value(metrics_over(journal).render().decode(), "receiver_pull_requests_open") == 2


def test_github_writes_come_from_the_published_status(journal: Journal) -> None:
    """The delivering process's published store facts become writes sent and writes left this hour."""
    journal.set_delivery_status({"state": "ok", "store": {"name": "github", "writes_sent": 12, "writes_left_this_hour": 488}})
    text = metrics_over(journal).render().decode()
    assert (value(text, "receiver_github_writes_sent_total"), value(text, "receiver_github_writes_left_this_hour")) == (12, 488)


def test_a_local_store_shows_no_github_figures(journal: Journal) -> None:
    """With the local store published, no receiver_github_* series appears."""
    journal.set_delivery_status({"state": "ok", "store": {"name": "local", "mode": "direct"}})
    assert "receiver_github_" not in metrics_over(journal).render().decode()


def test_nothing_is_read_before_the_journal_opens() -> None:
    """Before the lifespan opens the journal the scrape has counters but no journal gauges."""
    text = metrics_over(None).render().decode()
    assert "receiver_journal_backlog" not in text and "receiver_submissions_accepted_total 0.0" in text


def test_a_closed_journal_leaves_the_counters_to_answer(tmp_path: Path) -> None:
    """A scrape while the journal is closing (shutdown) answers with the counters and no journal gauges."""
    journal = Journal(tmp_path / "journal.sqlite3").open()
    journal.close()
    text = metrics_over(journal).render().decode()
    assert "receiver_journal_backlog" not in text and "receiver_records_delivered_total 0.0" in text
