"""SharedLimits: buckets and the hourly ceiling in one SQLite file, shared by every process of a receiver."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from receiver.access.limitstate import Refusal, SharedLimits
from receiver.settings import RateLimit

Open = Callable[..., SharedLimits]


@pytest.fixture
def open_limits(tmp_path: Path) -> Iterator[Open]:
    """Open SharedLimits on one file in tmp_path; each call is another process's view of it."""
    opened: list[SharedLimits] = []

    def make(**options: object) -> SharedLimits:
        limits = SharedLimits(tmp_path / "journal.sqlite3.limits.sqlite", **options).open()  # type: ignore[arg-type]
        opened.append(limits)
        return limits

    yield make
    for limits in opened:
        limits.close()


def test_two_openers_spend_one_bucket(open_limits: Open) -> None:
    """Alternating between two views of the file, a client gets `count` requests, not twice that."""
    first, second = open_limits(per_client=RateLimit(5, 60.0)), open_limits(per_client=RateLimit(5, 60.0))
    answers = [(first if n % 2 else second).admit("2001:db8::/64", 0.0) for n in range(10)]
    assert answers[:5] == [None] * 5
    assert all(isinstance(a, Refusal) and a.reason == "client" for a in answers[5:])


def test_other_clients_keep_their_own_buckets(open_limits: Open) -> None:
    """One client's empty bucket does not refuse another."""
    limits = open_limits(per_client=RateLimit(1, 60.0))
    assert limits.admit("a", 0.0) is None and limits.admit("a", 0.0) is not None
    assert limits.admit("b", 0.0) is None


def test_ceiling_refuses_with_the_wait_until_the_oldest_leaves_the_hour(open_limits: Open) -> None:
    """Three an hour, admitted at t=0, 100, 200: at t=300 the next waits 3300 s."""
    limits = open_limits(per_client=None, per_hour=3)
    assert [limits.admit(f"c{t}", float(t)) for t in (0, 100, 200)] == [None, None, None]
    assert limits.admit("c300", 300.0) == Refusal("ceiling", 3300.0)
    assert limits.admit("c3600", 3600.0) is None


def test_ceiling_is_shared_by_two_openers(open_limits: Open) -> None:
    """Two processes' admissions count against one ceiling."""
    first, second = open_limits(per_client=None, per_hour=2), open_limits(per_client=None, per_hour=2)
    assert first.admit("a", 0.0) is None and second.admit("b", 1.0) is None
    assert first.admit("c", 2.0) == Refusal("ceiling", 3598.0)


def test_full_buckets_are_forgotten(open_limits: Open) -> None:
    """A bucket untouched for a whole refill is deleted at the next prune."""
    limits = open_limits(per_client=RateLimit(2, 60.0), prune_every=0.0)
    limits.admit("idle", 0.0)
    limits.admit("busy", 61.0)
    assert limits.buckets() == 1


def test_limits_off_leave_no_file(tmp_path: Path) -> None:
    """With no per-client limit and no ceiling, nothing is created and everything passes."""
    limits = SharedLimits(tmp_path / "limits.sqlite", per_client=None, per_hour=0).open()
    assert limits.admit("a", 0.0) is None
    assert not (tmp_path / "limits.sqlite").exists()


def test_a_locked_file_admits(open_limits: Open, tmp_path: Path) -> None:
    """When the file stays locked past the busy timeout, the request passes (limits never turn volunteers away)."""
    limits = open_limits(per_client=RateLimit(1, 60.0), busy_seconds=0.0)
    limits.admit("a", 0.0)
    holder = sqlite3.connect(limits.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        assert limits.admit("a", 0.0) is None
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert limits.admit("a", 0.0) == Refusal("client", 60.0)
