"""Time for the fake GitHub: a clock the tests move by hand.

Rate-limit windows, retry-after deadlines, fault windows and every timestamp
the fake writes (commit dates, ``created_at``) read this clock, so an hour of
limits runs in a test as fast as the test can call ``advance``. It does not
sleep; slow answers use a separately injected ``sleep``.
"""

from __future__ import annotations

import threading
from typing import Protocol

__all__ = ["Clock", "FakeClock", "DEFAULT_START"]

#: 2023-11-14T22:13:20Z, a round epoch second well inside git's date range.
DEFAULT_START = 1_700_000_000.0


class Clock(Protocol):
    """Anything with a ``now()`` in epoch seconds."""

    def now(self) -> float: ...


class FakeClock:
    """A clock that only moves when told to (thread safe, for the HTTP server)."""

    def __init__(self, start: float = DEFAULT_START) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` (never backward) and return the new time."""
        if seconds < 0:
            raise ValueError(f"a clock only moves forward, not by {seconds}")
        with self._lock:
            self._now += seconds
            return self._now
