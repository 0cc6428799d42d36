"""/health and /dashboard tell anyone the state, and only the metrics token's holder where delivery runs and its budget."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.web.app.conftest import ClientFactory

TOKEN = "metrics-secret-for-tests"
PUBLISHED = {
    "state": "ok",
    "deliverer": "delivery-host:4242",
    "store": {"name": "github", "repository": "lab/data", "mode": "pull-request", "writes_left_this_hour": 488, "writes_sent": 12},
}


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    """An intake process with a metrics token, reading what a GitHub deliverer published."""
    client = make_client(role="intake", metrics_token=TOKEN)
    client.app.state.receiver.journal.set_delivery_status(PUBLISHED)  # type: ignore[attr-defined]
    return client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class TestHealth:
    def test_anyone_reads_the_state_without_deliverer_or_budget(self, client: TestClient) -> None:
        """No token: status, delivery state, journal and the store's kind and state, nothing that names a host or a budget."""
        health = client.get("/health").json()
        assert health["status"] == "ok" and health["delivery"] == {"state": "ok"}
        assert health["store"] == {"name": "github", "state": "ok"}
        assert "deliverer" not in health

    def test_the_token_holder_reads_the_deliverer_and_the_budget(self, client: TestClient) -> None:
        health = client.get("/health", headers=bearer(TOKEN)).json()
        assert health["deliverer"] == health["delivery"]["deliverer"] == "delivery-host:4242"
        assert health["store"]["writes_left_this_hour"] == 488 and health["store"]["writes_sent"] == 12

    def test_a_wrong_token_reads_what_anyone_reads(self, client: TestClient) -> None:
        assert client.get("/health", headers=bearer("guess")).json() == client.get("/health").json()

    def test_with_no_token_configured_an_empty_bearer_sees_no_details(self, make_client: ClientFactory) -> None:
        """A receiver without a metrics token shows its details to no one, even to `Authorization: Bearer ` with nothing after it."""
        client = make_client(role="intake")
        client.app.state.receiver.journal.set_delivery_status(PUBLISHED)  # type: ignore[attr-defined]
        health = client.get("/health", headers={"Authorization": "Bearer "}).json()
        assert "deliverer" not in health and "writes_left_this_hour" not in health["store"]


class TestDashboard:
    def test_anyone_sees_no_write_budget(self, client: TestClient) -> None:
        page = client.get("/dashboard").text
        assert 'data-testid="card-delivery"' in page and "writes left" not in page

    def test_the_token_holder_sees_the_write_budget(self, client: TestClient) -> None:
        page = client.get("/dashboard", headers=bearer(TOKEN)).text
        assert 'data-testid="card-github-writes-left-this-hour"><b class="">488</b>' in page
