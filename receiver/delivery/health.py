"""Is delivery healthy? A pure judgement over what the journal and the worker report.

`/health` must never say `ok` while delivery is stalled or its worker is dead:
records waiting with nothing delivered for `stall_seconds`, a delivering
process that stopped reporting (or, seen from an intake process, never
reported), or this process's worker thread gone are each `degraded`, with the
reason and since when.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DeliveryFacts", "Assessment", "assess", "HEARTBEAT_STALE"]

#: A delivering process reports at least every few seconds; silence this long means it is gone or stuck.
HEARTBEAT_STALE = 30.0


@dataclass(frozen=True)
class DeliveryFacts:
    """What is known at one moment (wall-clock seconds throughout)."""

    now: float
    backlog: int
    oldest_queued_at: float | None
    last_delivered_at: float | None
    store_state: str
    last_error: str | None
    heartbeat_age: float | None
    #: This process's delivery thread; None in an intake process, which has none and relies on the heartbeat.
    worker_alive: bool | None
    stall_seconds: float


@dataclass(frozen=True)
class Assessment:
    state: str  # ok, retrying, stalled, dead
    reason: str | None = None
    since: float | None = None

    @property
    def healthy(self) -> bool:
        return self.state == "ok"


def assess(facts: DeliveryFacts) -> Assessment:
    """The worst true thing about delivery, first the worker, then progress, then the store."""
    if facts.worker_alive is False:
        return Assessment("dead", "this process's delivery worker is not running; it is being restarted")
    if facts.worker_alive is None and facts.heartbeat_age is None:
        return Assessment("dead", "no delivering process has reported yet; start one with `receiver serve --role deliver`")
    if facts.heartbeat_age is not None and facts.heartbeat_age > HEARTBEAT_STALE:
        return Assessment("dead", f"the delivering process has not reported for {facts.heartbeat_age:.0f} s", facts.now - facts.heartbeat_age)
    if facts.backlog > 0:
        progress = max(t for t in (facts.last_delivered_at, facts.oldest_queued_at, float("-inf")) if t is not None)
        if progress > float("-inf") and facts.now - progress > facts.stall_seconds:
            reason = f"{facts.backlog} record(s) wait and nothing was delivered for {facts.now - progress:.0f} s"
            if facts.last_error:
                reason += f"; last error: {facts.last_error}"
            return Assessment("stalled", reason, progress)
    if facts.store_state != "ok":
        return Assessment(facts.store_state, facts.last_error)
    return Assessment("ok")
