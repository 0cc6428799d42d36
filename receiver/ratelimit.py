"""Per-client rate limiting for tokenless submissions: a token bucket per client address.

A pure decision over (key, now): the app passes its clock in. Memory is
bounded: when too many clients are tracked, the ones whose buckets have
refilled (who would be allowed anyway) are forgotten first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from receiver.settings import RateLimit

__all__ = ["RateLimiter"]


@dataclass
class RateLimiter:
    limit: RateLimit
    max_clients: int = 100_000
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def _rate(self) -> float:
        return self.limit.count / self.limit.seconds

    def check(self, key: str, now: float) -> float | None:
        """Take one request from `key`'s bucket; None if allowed, else the seconds until it would be."""
        tokens, last = self._buckets.get(key, (float(self.limit.count), now))
        tokens = min(float(self.limit.count), tokens + (now - last) * self._rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self._rate
        if key not in self._buckets and len(self._buckets) >= self.max_clients:
            self._forget_idle(now)
        self._buckets[key] = (tokens - 1.0, now)
        return None

    def _forget_idle(self, now: float) -> None:
        full = [k for k, (t, last) in self._buckets.items() if t + (now - last) * self._rate >= self.limit.count]
        for key in full or list(self._buckets)[: len(self._buckets) // 10 + 1]:
            del self._buckets[key]


def retry_after_header(seconds: float) -> str:
    """Retry-After takes whole seconds; round up so a client that obeys is never early."""
    return str(max(1, math.ceil(seconds)))
