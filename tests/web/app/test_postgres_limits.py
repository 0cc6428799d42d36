"""Limits that hold across receivers on several machines: with a PostgreSQL journal, the buckets and the ceiling live in it.

Two apps with different local folders and one database stand for two
machines behind a proxy: the only state they share is the database.
"""

from __future__ import annotations

import json
from pathlib import Path

from starlette.testclient import TestClient

from receiver.access.postgres import PostgresLimits
from receiver.settings import RateLimit
from tests.support.captured import numbered_submission
from tests.support.pgcluster import Cluster
from tests.web.app.conftest import ClientFactory

JSON = {"Content-Type": "application/json"}


def post(client: TestClient, n: int) -> int:
    return client.post("/api/labels", content=json.dumps(numbered_submission(n)).encode(), headers=JSON).status_code


def two_machines(make_client: ClientFactory, tmp_path: Path, url: str, **settings: object) -> tuple[TestClient, TestClient]:
    return tuple(  # type: ignore[return-value]
        make_client(local_repo=tmp_path / machine / "annotations.git", journal=None, journal_url=url, **settings) for machine in ("a", "b")
    )


def test_two_receivers_on_one_postgresql_allow_a_client_its_limit_once(make_client: ClientFactory, tmp_path: Path, postgres_cluster: Cluster) -> None:
    """10 an hour, 30 posts alternating between two machines: exactly 10 accepted, not 10 on each."""
    first, second = two_machines(make_client, tmp_path, postgres_cluster.database(), rate_limit=RateLimit(10, 3600.0))
    codes = [post(first if n % 2 else second, n) for n in range(30)]
    assert codes.count(202) == 10 and codes.count(429) == 20


def test_the_hourly_ceiling_is_one_for_every_receiver_on_the_database(make_client: ClientFactory, tmp_path: Path, postgres_cluster: Cluster) -> None:
    """A ceiling of 4 an hour across two machines: the fifth post, wherever it lands, waits for the hour."""
    first, second = two_machines(make_client, tmp_path, postgres_cluster.database(), anonymous_per_hour=4)
    codes = [post(first if n % 2 else second, n) for n in range(8)]
    assert codes == [202] * 4 + [429] * 4
    refused = first.post("/api/labels", content=json.dumps(numbered_submission(99)).encode(), headers=JSON)
    assert "all the labels it can this hour" in refused.json()["error"]
    assert 3500 <= int(refused.headers["Retry-After"]) <= 3600


def test_a_receiver_without_limits_leaves_no_tables_behind(postgres_cluster: Cluster) -> None:
    import psycopg

    url = postgres_cluster.database()
    PostgresLimits(url, per_client=None).open().close()
    with psycopg.connect(url) as connection:
        assert connection.execute("SELECT to_regclass('buckets')").fetchone() == (None,)


def test_limits_admit_while_postgresql_is_gone_and_hold_again_when_it_returns(postgres_cluster: Cluster) -> None:
    """One an hour: the second post is refused; with the database stopped it is admitted (and warned of); back, refused again."""
    moments = [0.0]
    limits = PostgresLimits(postgres_cluster.database(), per_client=RateLimit(1, 3600.0), monotonic=lambda: moments[0]).open()
    try:
        assert limits.admit("volunteer") is None
        assert limits.admit("volunteer") is not None
        postgres_cluster.stop()
        try:
            assert limits.admit("volunteer") is None
        finally:
            postgres_cluster.start()
        # Within a few seconds of the failure the limiter does not try again; after that it finds the same bucket.
        assert limits.admit("volunteer") is None
        moments[0] += 6.0
        refusal = limits.admit("volunteer")
        assert refusal is not None and refusal.reason == "client"
    finally:
        limits.close()


def test_every_receiver_reads_the_time_from_the_database(postgres_cluster: Cluster) -> None:
    """Two machines whose clocks disagree by an hour still share one bucket."""
    url = postgres_cluster.database()
    here, there = (PostgresLimits(url, per_client=RateLimit(1, 3600.0)).open() for _ in range(2))
    try:
        assert here.admit("volunteer", 1_000_000.0) is None
        assert there.admit("volunteer", 1_000_000.0 + 3600.0) is not None
    finally:
        here.close()
        there.close()
