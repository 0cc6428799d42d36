"""Only one receiver process delivers: the holder of the delivery lease."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import psycopg

from receiver.delivery.lease import PostgresLease
from receiver.delivery.worker import DeliveryLease
from tests.journal.strangers import hold_every_nameable_lock, stranger_url
from tests.support.pgcluster import Cluster


def test_second_holder_is_refused_while_the_first_holds(tmp_path: Path) -> None:
    first, second = DeliveryLease(tmp_path / "lock"), DeliveryLease(tmp_path / "lock")
    assert first.try_acquire()
    assert not second.try_acquire()
    assert first.held and not second.held


def test_lease_passes_on_when_its_holder_lets_go(tmp_path: Path) -> None:
    first, second = DeliveryLease(tmp_path / "lock"), DeliveryLease(tmp_path / "lock")
    first.try_acquire()
    first.release()
    assert second.try_acquire()


class TestPostgresLease:
    """The advisory lock that elects one deliverer among receivers sharing a PostgreSQL journal."""

    def test_a_stranger_holding_every_lock_it_can_name_does_not_hold_the_lease(self, postgres_cluster: Cluster) -> None:
        """A role that may only connect takes every key it can compute: a receiver still wins the election."""
        url = postgres_cluster.database()
        lease = PostgresLease(url, store="owner/data")
        with hold_every_nameable_lock(stranger_url(postgres_cluster, url), stores=("owner/data",)):
            try:
                assert lease.try_acquire() and lease.held
            finally:
                lease.release()

    def test_second_holder_is_refused_while_the_first_holds(self, postgres_cluster: Cluster) -> None:
        url = postgres_cluster.database()
        first, second = PostgresLease(url, store="s"), PostgresLease(url, store="s")
        try:
            assert first.try_acquire() and first.try_acquire()
            assert not second.try_acquire()
            assert first.held and not second.held
        finally:
            first.release()

    def test_lease_passes_on_when_its_holders_session_dies(self, postgres_cluster: Cluster) -> None:
        """The holder's session is cut (its process killed): the next try of another receiver wins."""
        url = postgres_cluster.database()
        first, second = PostgresLease(url, store="s"), PostgresLease(url, store="s")
        first.try_acquire()
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'receiver deliverer%%'")
        try:
            assert second.try_acquire()
            assert not first.try_acquire() and not first.held
        finally:
            second.release()

    def test_lease_passes_on_when_its_holder_lets_go(self, postgres_cluster: Cluster) -> None:
        url = postgres_cluster.database()
        first, second = PostgresLease(url, store="s"), PostgresLease(url, store="s")
        first.try_acquire()
        first.release()
        try:
            assert second.try_acquire()
        finally:
            second.release()

    def test_each_store_has_its_own_election(self, postgres_cluster: Cluster) -> None:
        """Two data repositories journalled in one database each get a deliverer."""
        url = postgres_cluster.database()
        one, other = PostgresLease(url, store="one"), PostgresLease(url, store="other")
        try:
            assert one.try_acquire() and other.try_acquire()
        finally:
            one.release()
            other.release()

    def test_an_unreachable_database_is_not_held(self) -> None:
        """No database, no lease, and no exception in the delivery loop."""
        lease = PostgresLease("postgresql://receiver@/none?host=/nonexistent&port=1", store="s")
        assert not lease.try_acquire() and not lease.held

    def test_the_holder_is_named_by_host_and_pid(self) -> None:
        assert PostgresLease("postgresql://x@/y", store="s").holder == f"{socket.gethostname()}:{os.getpid()}"
