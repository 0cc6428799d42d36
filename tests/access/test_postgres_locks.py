"""The limits on a PostgreSQL journal hold against a stranger, and a check that cannot get its turn refuses.

A stranger (a role that may only connect) holding every advisory lock it can
name once let a limited address through; a check that timed out waiting
admitted. Neither may let a submission past its limit.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from receiver.access.postgres import PostgresLimits
from receiver.access.ratelimit import RateLimit
from receiver.journal.postgres import lock_key, lock_secret
from tests.journal.strangers import hold_every_nameable_lock, stranger_url
from tests.support.pgcluster import Cluster


@pytest.fixture
def url(postgres_cluster: Cluster) -> str:
    return postgres_cluster.database()


@pytest.fixture
def limits(url: str) -> Iterator[PostgresLimits]:
    opened = PostgresLimits(url, per_client=RateLimit(3, 3600.0), busy_seconds=0.5).open()
    yield opened
    opened.close()


def test_a_stranger_holding_every_lock_it_can_name_lets_no_one_past_the_limit(postgres_cluster: Cluster, url: str) -> None:
    """3 an hour, 8 posts from one address while the stranger holds its locks: 3 admitted, 5 refused."""
    with hold_every_nameable_lock(stranger_url(postgres_cluster, url)):
        limits = PostgresLimits(url, per_client=RateLimit(3, 3600.0), busy_seconds=0.5).open()
        try:
            verdicts = [limits.admit("203.0.113.9") for _ in range(8)]
        finally:
            limits.close()
    assert [v is None for v in verdicts] == [True] * 3 + [False] * 5


def test_a_check_that_cannot_get_its_turn_is_refused_not_admitted(url: str, limits: PostgresLimits) -> None:
    """The checks' lock held past busy_seconds: a refusal with a wait of at least a second, and nothing counted."""
    with psycopg.connect(url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (lock_key(lock_secret(holder), "limits check"),))
        refusal = limits.admit("203.0.113.9")
    assert refusal is not None and refusal.reason == "busy" and refusal.wait >= 1.0
    assert limits.buckets() == 0


def test_after_a_refused_turn_checks_count_again(url: str, limits: PostgresLimits) -> None:
    """A timed-out check does not switch the limiter off: the next 4 checks admit 3 and refuse 1."""
    with psycopg.connect(url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (lock_key(lock_secret(holder), "limits check"),))
        assert limits.admit("203.0.113.9") is not None
    verdicts = [limits.admit("203.0.113.9") for _ in range(4)]
    assert [v is None for v in verdicts] == [True, True, True, False]
