"""`receiver serve` over real HTTP: after a load, /metrics counts what the load generator counted, with one or two workers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from benchmarks.loadgen import LoadResult, Submissions, build_request, run_load
from tests.support.captured import captured_body
from tests.support.servers import ReceiverProcess, wait_until
from tests.web.metrics.conftest import TOKEN, value

ROOT = Path(__file__).resolve().parents[3]
NEW, REPEATED, INVALID = 120, 30, 20
SCRAPES = 10


@dataclass
class Loaded:
    server: ReceiverProcess
    load: LoadResult
    workers: int


def environ(workers: int) -> dict[str, str]:
    """This checkout's code, the given worker count, no per-client limit, metrics behind a token."""
    return {
        "PYTHONPATH": str(ROOT),
        "RECEIVER_WORKERS": str(workers),
        "RECEIVER_RATE_LIMIT": "0",
        "RECEIVER_METRICS": "token",
        "RECEIVER_METRICS_TOKEN": TOKEN,
    }


def requests(port: int) -> list[bytes]:
    """NEW distinct submissions, then REPEATED of them again, then INVALID ones the validator refuses."""
    bodies = list(Submissions(captured_body()).take(NEW))
    invalid = json.dumps({**captured_body(), "frame_index": -1}).encode("utf-8")
    every = bodies + bodies[:REPEATED] + [invalid] * INVALID
    return [build_request("127.0.0.1", port, "/api/labels", body) for body in every]


def scrape(url: str) -> str:
    """One scrape on a fresh connection, so each may land on any worker process."""
    response = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}", "Connection": "close"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.text


@pytest.fixture(scope="module", params=[1, 2], ids=["one-worker", "two-workers"])
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """A server of `params` workers after the load, with its backlog delivered."""
    server = ReceiverProcess(tmp_path_factory.mktemp("serve"), environ(request.param))
    with server:
        load = run_load("127.0.0.1", server.port, requests(server.port), clients=8, seconds=60)
        assert not load.transport_errors and not load.unfinished, load
        wait_until(lambda: value(scrape(server.url), "receiver_records_delivered_total") == load.statuses[202], timeout=120, what="the load delivered")
        yield Loaded(server, load, request.param)


def test_the_load_got_the_answers_it_was_built_for(loaded: Loaded) -> None:
    """The generator saw one 202 per distinct submission, one 200 per repeat and one 422 per invalid body."""
    assert dict(loaded.load.statuses) == {202: NEW, 200: REPEATED, 422: INVALID}


def test_every_scrape_counts_what_the_load_counted(loaded: Loaded) -> None:
    """Accepted, duplicates and 422s equal the generator's counts in every one of several scrapes, whichever process answers."""
    counted = {
        (value(text, "receiver_submissions_accepted_total"), value(text, "receiver_submissions_duplicates_total"),
         value(text, "receiver_submissions_refused_total", status="422"))
        for text in (scrape(loaded.server.url) for _ in range(SCRAPES))
    }
    statuses = loaded.load.statuses
    assert counted == {(statuses[202], statuses[200], statuses[422])}


def test_every_delivery_has_a_latency_observation(loaded: Loaded) -> None:
    """The latency histogram counts as many observations as records delivered, and the backlog is empty."""
    text = scrape(loaded.server.url)
    delivered = value(text, "receiver_records_delivered_total")
    assert (value(text, "receiver_delivery_latency_seconds_count"), value(text, "receiver_journal_backlog")) == (delivered, 0)


def test_several_workers_count_in_files_beside_the_journal(loaded: Loaded) -> None:
    """One counter file per process in journal.sqlite3.metrics: each intake process and the deliver process beside them."""
    folder = loaded.server.workdir / "receiver-data" / "journal.sqlite3.metrics"
    files = sorted(p.name for p in folder.glob("counter_*.db")) if folder.exists() else []
    assert len(files) == loaded.workers + 1


def test_a_restart_starts_counting_from_zero(tmp_path: Path) -> None:
    """With two workers, counts left in the folder beside the journal by an earlier run are wiped at start."""
    stale = tmp_path / "receiver-data" / "journal.sqlite3.metrics"
    stale.mkdir(parents=True)
    (stale / "counter_1.db").write_bytes(b"left by an earlier run")
    with ReceiverProcess(tmp_path, environ(2)) as server:
        assert not (stale / "counter_1.db").exists()
        assert value(scrape(server.url), "receiver_submissions_accepted_total") == 0
