"""Time for the fake GitHub: frozen for tests that move it by hand, or following real time.

Rate-limit windows, retry-after deadlines, fault windows and every timestamp
the fake writes (commit dates, ``created_at``) read this clock. In-process
tests build it frozen (``FakeClock()``), so an hour of limits runs as fast as
the test can call ``advance``. Run by hand (``python -m tests.github_fake``)
it follows real time from the real date (``FakeClock.real_time()``), so a
secondary-limit window ends by itself, as on GitHub, and the epoch seconds of
``x-ratelimit-reset`` agree with the client's own clock; ``advance`` still
jumps ahead, and ``freeze`` stops it. It never sleeps; slow answers use a
separately injected ``sleep``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "FakeClock", "DEFAULT_START"]

#: 2023-11-14T22:13:20Z, a round epoch second well inside git's date range.
DEFAULT_START = 1_700_000_000.0


class Clock(Protocol):
    """Anything with a ``now()`` in epoch seconds."""

    def now(self) -> float: ...


class FakeClock:
    """A clock that moves when told to and, while it follows one, with a real clock (thread safe, for the HTTP server).

    ``follow`` is a monotonic source of seconds (``time.monotonic``); None freezes the clock.
    """

    def __init__(self, start: float = DEFAULT_START, *, follow: Callable[[], float] | None = None) -> None:
        self._now = start
        self._source = follow
        self._seen = follow() if follow is not None else 0.0
        self._lock = threading.Lock()

    @classmethod
    def real_time(cls) -> FakeClock:
        """A clock starting at the real date and following real time: what a fake run by hand needs."""
        return cls(time.time(), follow=time.monotonic)

    def _catch_up(self) -> None:
        # Called with the lock held: add the real seconds since last read, never going backward.
        if self._source is not None:
            seen = self._source()
            self._now += max(seen - self._seen, 0.0)
            self._seen = seen

    def now(self) -> float:
        with self._lock:
            self._catch_up()
            return self._now

    @property
    def frozen(self) -> bool:
        """Whether the clock moves only when told to."""
        return self._source is None

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` (never backward) and return the new time."""
        if seconds < 0:
            raise ValueError(f"a clock only moves forward, not by {seconds}")
        with self._lock:
            self._catch_up()
            self._now += seconds
            return self._now

    def freeze(self) -> float:
        """Stop following real time (a test that steps time by hand); return the time it stopped at."""
        with self._lock:
            self._catch_up()
            self._source = None
            return self._now

    def follow(self, source: Callable[[], float] = time.monotonic) -> float:
        """Follow real time again from the current fake time; return that time."""
        with self._lock:
            self._catch_up()
            self._source, self._seen = source, source()
            return self._now
