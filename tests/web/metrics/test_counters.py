"""Submissions counted by how they were answered, and deliveries by the worker that made them."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from tests.support.captured import numbered_submission
from tests.support.servers import wait_until
from tests.web.metrics.conftest import ClientFactory, value


def scrape(client: TestClient) -> str:
    return client.get("/metrics").text


def test_new_submissions_are_counted_accepted(make_client: ClientFactory) -> None:
    """Each 202 adds one to receiver_submissions_accepted_total, on either submit path."""
    client = make_client()
    assert client.post("/api/labels", json=numbered_submission(1)).status_code == 202
    assert client.post("/api/annotations", json=numbered_submission(2)).status_code == 202
    assert value(scrape(client), "receiver_submissions_accepted_total") == 2


def test_repeated_submissions_are_counted_duplicates(make_client: ClientFactory) -> None:
    """A re-posted payload (200) counts as a duplicate, not as accepted."""
    client = make_client()
    client.post("/api/labels", json=numbered_submission(1))
    assert client.post("/api/labels", json=numbered_submission(1)).status_code == 200
    text = scrape(client)
    assert (value(text, "receiver_submissions_accepted_total"), value(text, "receiver_submissions_duplicates_total")) == (1, 1)


def test_refusals_are_counted_by_status(make_client: ClientFactory) -> None:
    """Two 422s and one 415 give refused_total{status="422"} 2 and {status="415"} 1."""
    client = make_client()
    for frame in (-1, -2):
        assert client.post("/api/labels", json=numbered_submission(1, frame_index=frame)).status_code == 422
    assert client.post("/api/labels", content=b"{}", headers={"Content-Type": "text/plain"}).status_code == 415
    text = scrape(client)
    assert value(text, "receiver_submissions_refused_total", status="422") == 2
    assert value(text, "receiver_submissions_refused_total", status="415") == 1


def test_delivered_records_are_counted_with_their_latency(make_client: ClientFactory) -> None:
    """Once the local store took three records, delivered_total and the latency histogram's count are 3."""
    client = make_client()
    for n in range(3):
        client.post("/api/labels", json=numbered_submission(n))
    wait_until(lambda: value(scrape(client), "receiver_records_delivered_total") == 3, timeout=30, what="three deliveries")
    text = scrape(client)
    assert value(text, "receiver_delivery_latency_seconds_count") == 3 and value(text, "receiver_journal_backlog") == 0


def test_apps_keep_their_own_counts(make_client: ClientFactory, tmp_path: Path) -> None:
    """Two apps in one process do not share counters: each registry is its app's own."""
    first, second = make_client(), make_client(local_repo=tmp_path / "other" / "annotations.git")
    first.post("/api/labels", json=numbered_submission(1))
    assert (value(scrape(first), "receiver_submissions_accepted_total"), value(scrape(second), "receiver_submissions_accepted_total")) == (1, 0)
