"""The fake's clock: frozen for tests that step it, following real time when the fake is run by hand."""

from __future__ import annotations

import pytest

from tests.github_fake import FakeClock


class Ticks:
    """A monotonic source a test moves by hand, standing in for time.monotonic."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class TestFakeClock:
    def test_a_clock_built_plainly_is_frozen(self) -> None:
        """FakeClock() moves only with advance: what in-process tests rely on."""
        clock = FakeClock(start=10.0)
        assert clock.frozen and clock.now() == 10.0 == clock.now()

    def test_a_following_clock_moves_with_its_source(self) -> None:
        ticks = Ticks()
        clock = FakeClock(start=10.0, follow=ticks)
        ticks.now += 61.5
        assert clock.now() == 71.5 and not clock.frozen

    def test_advance_adds_to_real_time(self) -> None:
        """A jump ahead while following: both the jump and the real seconds count."""
        ticks = Ticks()
        clock = FakeClock(start=10.0, follow=ticks)
        clock.advance(100)
        ticks.now += 5
        assert clock.now() == 115.0

    def test_freeze_stops_it_and_follow_resumes_from_where_it_stood(self) -> None:
        ticks = Ticks()
        clock = FakeClock(start=10.0, follow=ticks)
        ticks.now += 3
        assert clock.freeze() == 13.0
        ticks.now += 50
        assert clock.now() == 13.0
        clock.follow(ticks)
        ticks.now += 2
        assert clock.now() == 15.0

    def test_it_never_moves_backward(self) -> None:
        with pytest.raises(ValueError, match="only moves forward"):
            FakeClock().advance(-1)

    def test_real_time_starts_at_the_real_date(self) -> None:
        """Run by hand, x-ratelimit-reset epochs agree with the client's own clock."""
        import time

        clock = FakeClock.real_time()
        assert not clock.frozen and abs(clock.now() - time.time()) < 3600
