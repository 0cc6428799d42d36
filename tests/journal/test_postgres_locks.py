"""The PostgreSQL journal's advisory locks: keys drawn from a per-deployment secret, and waits that end.

A role allowed only to connect (a stranger) takes every advisory lock it can
name; the journal goes on as if it had not. A lock the receivers do hold, for
longer than the lock timeout, refuses an admission (nothing kept) rather than hang it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
import pytest

from receiver.contract.records import Record
from receiver.journal import Journal, JournalUnavailable
from receiver.journal.postgres import PostgresConnector, lock_key, lock_secret
from tests.journal.strangers import hold_every_nameable_lock, stranger_url
from tests.support.captured import numbered_record as record
from tests.support.pgcluster import Cluster


@pytest.fixture
def url(postgres_cluster: Cluster) -> str:
    return postgres_cluster.database()


@pytest.fixture
def stranger(postgres_cluster: Cluster, url: str) -> Iterator[psycopg.Connection[Any]]:
    """A stranger's session holding every advisory lock it can name, from before the journal opens."""
    session = hold_every_nameable_lock(stranger_url(postgres_cluster, url))
    yield session
    session.close()


class TestLockSecret:
    def test_the_secret_is_made_once_and_read_alike_by_every_session(self, url: str) -> None:
        """Two sessions, one after the other: the same 32 random bytes."""
        with psycopg.connect(url, autocommit=True) as one, psycopg.connect(url, autocommit=True) as two:
            first, second = lock_secret(one), lock_secret(two)
        assert first == second and len(first) == 32

    def test_each_deployment_draws_its_own_secret(self, postgres_cluster: Cluster) -> None:
        """Two databases, two secrets: a key learnt on one opens nothing on the other."""
        with psycopg.connect(postgres_cluster.database(), autocommit=True) as one, psycopg.connect(postgres_cluster.database(), autocommit=True) as two:
            assert lock_secret(one) != lock_secret(two)

    def test_a_stranger_cannot_read_the_secret(self, postgres_cluster: Cluster, url: str) -> None:
        """A role that may connect is refused the table: it cannot compute the keys."""
        with psycopg.connect(url, autocommit=True) as receiver:
            lock_secret(receiver)
        with psycopg.connect(stranger_url(postgres_cluster, url), autocommit=True) as session, pytest.raises(psycopg.errors.InsufficientPrivilege):
            session.execute("SELECT secret FROM receiver_lock_secret")


class TestLockKey:
    def test_a_key_depends_on_the_secret_and_the_name(self) -> None:
        """Same secret and name, same key; another secret or another name, another key; always a signed 64-bit number."""
        key = lock_key(b"s" * 32, "limits check")
        assert key == lock_key(b"s" * 32, "limits check")
        assert key != lock_key(b"t" * 32, "limits check") and key != lock_key(b"s" * 32, "limits schema")
        assert -(2**63) <= key < 2**63


class TestStranger:
    def test_the_journal_opens_and_admits_while_a_stranger_holds_every_lock_it_can_name(self, url: str, stranger: psycopg.Connection[Any]) -> None:
        """Schema creation and admissions take no lock the stranger holds: all 20 records kept."""
        with Journal(PostgresConnector(url)) as journal:
            admissions = [journal.admit_async(record(n)).result(timeout=30) for n in range(20)]
            assert all(a.created for a in admissions) and journal.counts()["queued"] == 20


class TestLockTimeout:
    def test_an_admission_that_waits_past_the_lock_timeout_is_refused_and_keeps_nothing(self, url: str) -> None:
        """A lock held by another receiver for longer than LOCK_TIMEOUT: JournalUnavailable (a 503), the record not kept; later it is."""
        with psycopg.connect(url, autocommit=True) as receiver:
            key = lock_key(lock_secret(receiver), "a turn of the receivers'")

        def waits_its_turn(connection: Any, records: Sequence[Record]) -> None:
            connection.execute("SELECT pg_advisory_xact_lock_shared(%s)", (key,))

        with Journal(PostgresConnector(url, on_admit=waits_its_turn)) as journal, psycopg.connect(url, autocommit=True) as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", (key,))
            with pytest.raises(JournalUnavailable):
                journal.admit_async(record(1)).result(timeout=30)
            assert journal.get(record(1).id) is None
            holder.execute("SELECT pg_advisory_unlock(%s)", (key,))
            assert journal.admit_async(record(1)).result(timeout=30).created
