"""`GET /metrics`: off, public or behind a token, and parsable by Prometheus when served."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.web.metrics.conftest import TOKEN, ClientFactory


class TestAccess:
    def test_off_answers_404_with_a_sentence(self, make_client: ClientFactory) -> None:
        """RECEIVER_METRICS=off: 404 whose error sentence says metrics are off."""
        response = make_client(metrics="off").get("/metrics")
        assert response.status_code == 404 and "Metrics are off" in response.json()["error"]

    def test_token_mode_without_a_configured_token_is_off(self, make_client: ClientFactory) -> None:
        """The default, token mode, with no RECEIVER_METRICS_TOKEN set answers 404 like off."""
        response = make_client(metrics="token").get("/metrics", headers={"Authorization": "Bearer "})
        assert response.status_code == 404 and "Metrics are off" in response.json()["error"]

    def test_token_mode_refuses_a_request_without_a_token(self, make_client: ClientFactory) -> None:
        """No Authorization header in token mode: 401 with a sentence and a Bearer challenge."""
        response = make_client(metrics="token", metrics_token=TOKEN).get("/metrics")
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        assert "token" in response.json()["error"]

    def test_token_mode_refuses_a_wrong_token(self, make_client: ClientFactory) -> None:
        """A bearer token other than the configured one: 401."""
        response = make_client(metrics="token", metrics_token=TOKEN).get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        assert response.status_code == 401

    def test_token_mode_serves_the_right_token(self, make_client: ClientFactory) -> None:
        """The configured bearer token gets the scrape in Prometheus' text format."""
        response = make_client(metrics="token", metrics_token=TOKEN).get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
        assert "receiver_journal_backlog 0.0" in response.text

    def test_public_mode_serves_without_a_token(self, make_client: ClientFactory) -> None:
        """RECEIVER_METRICS=public: 200 with no Authorization header."""
        assert make_client(metrics="public").get("/metrics").status_code == 200


def test_scrape_parses_with_prometheus_parser(make_client: ClientFactory) -> None:
    """prometheus_client's own parser reads every family the receiver exposes, with the documented names."""
    text = make_client().get("/metrics").text
    names = {family.name for family in text_string_to_metric_families(text)}
    assert {
        "receiver_submissions_accepted",
        "receiver_submissions_duplicates",
        "receiver_submissions_refused",
        "receiver_records_delivered",
        "receiver_records_failed",
        "receiver_delivery_latency_seconds",
        "receiver_journal_backlog",
        "receiver_journal_oldest_queued_age_seconds",
        "receiver_pull_requests_open",
    } <= names
