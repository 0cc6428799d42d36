"""The delivery worker reports what it marked in the journal: deliveries with their latency, and failures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from receiver.delivery.worker import DeliveryWorker
from receiver.journal import Journal
from receiver.web.metrics import Metrics
from tests.stores.scripted import ScriptedStore
from tests.support.captured import numbered_record
from tests.web.metrics.conftest import value

RECEIVED = datetime(2026, 11, 25, tzinfo=timezone.utc)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite3") as opened:
        for n in (1, 2):
            opened.admit_async(numbered_record(n)).result()
        yield opened


def step(journal: Journal, *, refuse: bool) -> str:
    """One worker step 90 s after the records' receipt; the scrape after it."""
    metrics = Metrics(access="public", token="", journal=lambda: journal, now=lambda: RECEIVED)
    worker = DeliveryWorker(
        journal, ScriptedStore(refuse=refuse), max_refusals=1, wall_clock=lambda: RECEIVED + timedelta(seconds=90), observer=metrics
    )
    worker.run_once()
    return metrics.render().decode()


def test_delivered_records_are_counted(journal: Journal) -> None:
    """Two records the store took: receiver_records_delivered_total 2."""
    assert value(step(journal, refuse=False), "receiver_records_delivered_total") == 2


def test_latency_is_seconds_from_receipt_to_delivery(journal: Journal) -> None:
    """Delivered 90 s after receipt: the histogram holds two observations summing 180 s, under the 120 s bucket."""
    text = step(journal, refuse=False)
    assert value(text, "receiver_delivery_latency_seconds_sum") == 180
    assert (value(text, "receiver_delivery_latency_seconds_bucket", le="60.0"), value(text, "receiver_delivery_latency_seconds_bucket", le="120.0")) == (0, 2)


def test_records_refused_to_failure_are_counted_failed(journal: Journal) -> None:
    """With max_refusals 1, two refused records fail at once: receiver_records_failed_total 2, none delivered."""
    text = step(journal, refuse=True)
    assert (value(text, "receiver_records_failed_total"), value(text, "receiver_records_delivered_total")) == (2, 0)
