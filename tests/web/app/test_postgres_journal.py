"""The receiver on a PostgreSQL journal: nothing answered 2xx that is not kept, and it heals when the database returns."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from receiver.delivery.lease import holder_name
from tests.support.captured import numbered_submission
from tests.support.pgcluster import Cluster
from tests.support.servers import wait_until
from tests.web.app.conftest import ClientFactory

JSON = {"Content-Type": "application/json"}
#: /health names the deliverer only to the metrics token's holder.
METRICS_TOKEN = "metrics-secret-for-tests"
DETAILS = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def post(client: TestClient, n: int) -> Any:
    return client.post("/api/labels", content=json.dumps(numbered_submission(n)).encode(), headers=JSON)


@pytest.fixture
def client(make_client: ClientFactory, postgres_cluster: Cluster) -> TestClient:
    return make_client(journal=None, journal_url=postgres_cluster.database(), metrics_token=METRICS_TOKEN)


def test_a_post_is_kept_in_postgresql(client: TestClient) -> None:
    """202, and the status address reads the record back from the database."""
    response = post(client, 1)
    assert response.status_code == 202
    assert client.get(response.json()["status_url"]).json()["id"] == response.json()["id"]


def test_a_post_while_postgresql_is_gone_is_refused_until_it_returns(client: TestClient, postgres_cluster: Cluster) -> None:
    """Database down: 503 with Retry-After, nothing kept; database back: the next post is accepted, with no restart."""
    assert post(client, 1).status_code == 202
    postgres_cluster.stop()
    try:
        refused = post(client, 2)
    finally:
        postgres_cluster.start()
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "30"
    assert "nothing was saved" in refused.json()["error"]
    # Back: the pool reconnects on its own; on a busy machine the first post may still find it reconnecting (a 503, nothing kept).
    wait_until(lambda: post(client, 3).status_code == 202, timeout=30, what="a post to be accepted again")
    assert client.get("/health").json()["journal"]["queued"] + client.get("/health").json()["journal"]["delivered"] == 2


def test_health_names_the_deliverer(client: TestClient) -> None:
    """The process holding the advisory lock publishes its host and pid; /health shows it."""
    post(client, 1)
    wait_until(lambda: client.get("/health", headers=DETAILS).json()["deliverer"] is not None, timeout=60, what="a deliverer to be elected")
    assert client.get("/health", headers=DETAILS).json()["deliverer"] == holder_name()
