"""The dashboard's agreement summary: a consensus at most once per interval, whatever the requests."""

from __future__ import annotations

import threading

from receiver.web.dashboard import AgreementSummary


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_requests_within_the_interval_read_the_last_summary() -> None:
    """A hundred reads in 30 s compute once."""
    clock, computed = Clock(), []
    summary = AgreementSummary(lambda: computed.append(1) or {"nose": 0.9}, clock, every=30.0)
    for n in range(100):
        clock.now = n * 0.29
        assert summary.read() == {"nose": 0.9}
    assert len(computed) == 1


def test_a_stale_summary_is_recomputed_on_the_next_read() -> None:
    """After the interval the next read computes anew and sees new facts."""
    clock, values = Clock(), iter([{"nose": 0.5}, {"nose": 0.7}])
    summary = AgreementSummary(lambda: next(values), clock, every=30.0)
    assert summary.read() == {"nose": 0.5}
    clock.now = 31.0
    assert summary.read() == {"nose": 0.7}


def test_while_one_thread_recomputes_others_read_the_previous_summary() -> None:
    """A read that finds another computing does not wait: it answers what was last computed."""
    clock, started, release = Clock(), threading.Event(), threading.Event()
    values = iter([{"nose": 0.5}, {"nose": 0.7}])

    def compute() -> dict[str, float]:
        value = next(values)
        if value["nose"] == 0.7:
            started.set()
            release.wait(10)
        return value

    summary = AgreementSummary(compute, clock, every=30.0)
    summary.read()
    clock.now = 40.0
    slow = threading.Thread(target=summary.read)
    slow.start()
    try:
        assert started.wait(10)
        assert summary.read() == {"nose": 0.5}
    finally:
        release.set()
        slow.join(10)
    assert summary.read() == {"nose": 0.7}
