"""The health judgement: never ok while delivery is stalled or its worker is dead."""

from __future__ import annotations

import dataclasses

from receiver.delivery.health import HEARTBEAT_STALE, DeliveryFacts, assess

HEALTHY = DeliveryFacts(
    now=10_000.0,
    backlog=0,
    oldest_queued_at=None,
    last_delivered_at=9_990.0,
    store_state="ok",
    last_error=None,
    heartbeat_age=1.0,
    worker_alive=True,
    stall_seconds=120.0,
)


def facts(**changes: object) -> DeliveryFacts:
    return dataclasses.replace(HEALTHY, **changes)  # type: ignore[arg-type]


def test_nothing_waiting_and_a_live_worker_is_ok() -> None:
    assert assess(HEALTHY).healthy


def test_a_dead_worker_thread_is_never_ok() -> None:
    verdict = assess(facts(worker_alive=False))
    assert verdict.state == "dead" and not verdict.healthy


def test_a_silent_delivering_process_is_dead() -> None:
    """No heartbeat for longer than HEARTBEAT_STALE: whoever delivered is gone."""
    verdict = assess(facts(heartbeat_age=HEARTBEAT_STALE + 1))
    assert verdict.state == "dead" and verdict.since == HEALTHY.now - HEARTBEAT_STALE - 1


def test_waiting_records_with_no_delivery_for_the_stall_time_is_stalled() -> None:
    """The reason carries the backlog and the last error; `since` is the last progress."""
    verdict = assess(facts(backlog=4, oldest_queued_at=9_000.0, last_delivered_at=9_500.0, store_state="ok", last_error="GitHub's answer could not be read"))
    assert verdict.state == "stalled" and verdict.since == 9_500.0
    assert verdict.reason is not None and "4 record(s)" in verdict.reason and "could not be read" in verdict.reason


def test_a_fresh_backlog_is_not_stalled() -> None:
    """Records that arrived a moment ago are not a stall, even long after the last delivery."""
    assert assess(facts(backlog=4, oldest_queued_at=9_999.0, last_delivered_at=1_000.0)).healthy


def test_a_retrying_store_is_degraded_before_it_stalls() -> None:
    verdict = assess(facts(backlog=1, oldest_queued_at=9_999.0, store_state="retrying", last_error="GitHub answered 502"))
    assert verdict.state == "retrying" and verdict.reason == "GitHub answered 502"


class TestIntakeProcess:
    """An intake process has no delivery thread: the deliverer's heartbeat is all it knows."""

    def test_no_deliverer_ever_reported_is_dead(self) -> None:
        """Nothing published in the journal: no process delivers."""
        verdict = assess(facts(worker_alive=None, heartbeat_age=None, store_state="unknown"))
        assert verdict.state == "dead" and "no delivering process" in (verdict.reason or "")

    def test_a_deliverer_silent_past_the_stale_time_is_dead(self) -> None:
        """The deliver process was killed and nothing restarted it."""
        verdict = assess(facts(worker_alive=None, heartbeat_age=HEARTBEAT_STALE + 5))
        assert verdict.state == "dead" and not verdict.healthy

    def test_a_deliverer_reporting_in_time_is_ok(self) -> None:
        """A fresh heartbeat from another process is as good as a live thread here."""
        assert assess(facts(worker_alive=None, heartbeat_age=2.0)).healthy
