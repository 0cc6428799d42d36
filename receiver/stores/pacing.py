"""When the next GitHub request may go out: a pure decision over the clock's readings.

GitHub's secondary limits allow about 80 content-creating requests a minute and
500 an hour per identity, and ask for writes to be serial and spaced; a
`retry-after` or an exhausted primary limit (`x-ratelimit-reset`) stops every
request until the given time. The pacer only computes delays; the store sleeps
through the function it was given, so tests run hours of pacing in a second,
and `paced_sleep` cuts each wait into slices of at most `WAIT_SLICE` with a
`Beat` before each, so whoever delivers reports that it is alive while it waits.
See https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Beat", "Budget", "Pacer", "WAIT_SLICE", "paced_sleep"]

#: "Still at work": what a store calls during one delivery, before each request and each slice of a wait.
Beat = Callable[[], None]

#: The longest one sleep of a store's wait: its beat is called at least this often while it waits.
WAIT_SLICE = 1.0


def paced_sleep(seconds: float, sleep: Callable[[float], object], beat: Beat | None) -> None:
    """Wait `seconds` through `sleep` in slices of at most WAIT_SLICE, calling `beat` before each, so a wait never silences a heartbeat."""
    left = seconds
    while left > 0:
        piece = min(left, WAIT_SLICE)
        if beat is not None:
            beat()
        sleep(piece)
        left -= piece


@dataclass(frozen=True)
class Budget:
    per_minute: int = 80
    per_hour: int = 500
    min_interval: float = 1.0


@dataclass
class Pacer:
    budget: Budget = field(default_factory=Budget)
    blocked_until: float = 0.0
    _writes: deque[float] = field(default_factory=deque)

    def delay(self, now: float, *, write: bool) -> float:
        """Seconds to wait before sending; reads wait only for a block, writes for the budget too."""
        wait = self.blocked_until - now
        if write:
            self._forget(now)
            if self._writes:
                wait = max(wait, self._writes[-1] + self.budget.min_interval - now)
            for window, allowed in ((60.0, self.budget.per_minute), (3600.0, self.budget.per_hour)):
                recent = [t for t in self._writes if t > now - window]
                if len(recent) >= allowed:
                    wait = max(wait, recent[len(recent) - allowed] + window - now)
        return max(0.0, wait)

    def sent(self, now: float) -> None:
        """Count a content-creating request sent at `now`."""
        self._writes.append(now)

    def block(self, until: float) -> None:
        """No request before `until` (a retry-after, or the primary limit's reset)."""
        self.blocked_until = max(self.blocked_until, until)

    def remaining_this_hour(self, now: float) -> int:
        self._forget(now)
        return max(0, self.budget.per_hour - len(self._writes))

    def _forget(self, now: float) -> None:
        while self._writes and self._writes[0] <= now - 3600.0:
            self._writes.popleft()
