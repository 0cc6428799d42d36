"""GitHub's rate limits over the fake clock: primary per token, secondary on content.

Primary (https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#primary-rate-limit-for-authenticated-users):
5000 requests an hour per user for the ``core`` resource, in a fixed window
that starts at the user's first request; every answer carries the
``x-ratelimit-*`` headers, and past the limit GitHub answers 403 with
``x-ratelimit-remaining: 0``.

Secondary (https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits):
"no more than 80 content-generating requests per minute and no more than 500
content-generating requests per hour". GitHub does not list which endpoints
generate content, so the fake counts every write (POST, PUT, PATCH, DELETE)
to the modelled REST API as content-generating: a client that stays within
the budget here stays within it on GitHub. Routes can opt out through
``Route.content_creating``. Refused requests do not use up the budget, as
the windows slide: ``retry-after`` is the seconds until the oldest counted
request leaves the window that is full.

Pure bookkeeping: no HTTP, no sleeping.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

__all__ = ["LimitSettings", "PrimaryVerdict", "RateLimiter", "SecondaryVerdict"]


@dataclass
class LimitSettings:
    """The budgets; change them at run time through ``FakeGitHub.set_limits``."""

    primary_per_hour: int = 5000
    secondary_per_minute: int = 80
    secondary_per_hour: int = 500


@dataclass(frozen=True)
class PrimaryVerdict:
    allowed: bool
    limit: int
    remaining: int
    used: int
    reset: int


@dataclass(frozen=True)
class SecondaryVerdict:
    allowed: bool
    retry_after: int = 0


@dataclass
class _PrimaryWindow:
    start: float
    used: int = 0


@dataclass
class _Content:
    stamps: deque[float] = field(default_factory=deque)
    retry_until: float = 0.0


class RateLimiter:
    """Per-user windows for both limits."""

    def __init__(self, settings: LimitSettings | None = None) -> None:
        self.settings = settings or LimitSettings()
        self._primary: dict[str, _PrimaryWindow] = {}
        self._content: dict[str, _Content] = {}

    def primary(self, who: str, now: float) -> PrimaryVerdict:
        """Count one request against ``who``'s hourly budget."""
        window = self._primary.get(who)
        if window is None or now >= window.start + 3600:
            window = self._primary[who] = _PrimaryWindow(now)
        limit = self.settings.primary_per_hour
        reset = int(math.ceil(window.start + 3600))
        if window.used >= limit:
            return PrimaryVerdict(False, limit, 0, window.used, reset)
        window.used += 1
        return PrimaryVerdict(True, limit, limit - window.used, window.used, reset)

    def peek_primary(self, who: str, now: float) -> PrimaryVerdict:
        """The headers to send without counting (for answers refused before counting)."""
        window = self._primary.get(who)
        limit = self.settings.primary_per_hour
        if window is None or now >= window.start + 3600:
            return PrimaryVerdict(True, limit, limit, 0, int(math.ceil(now + 3600)))
        return PrimaryVerdict(
            window.used < limit, limit, max(0, limit - window.used), window.used, int(math.ceil(window.start + 3600))
        )

    def retry_pending(self, who: str, now: float) -> bool:
        """Whether ``who`` was told to retry after a moment that has not come yet."""
        content = self._content.get(who)
        return content is not None and now < content.retry_until

    def secondary(self, who: str, now: float) -> SecondaryVerdict:
        """Count one content-generating request, or refuse it with the wait."""
        content = self._content.setdefault(who, _Content())
        stamps = content.stamps
        while stamps and stamps[0] <= now - 3600:
            stamps.popleft()
        in_minute = [t for t in stamps if t > now - 60]
        waits = []
        if len(in_minute) >= self.settings.secondary_per_minute:
            oldest = in_minute[len(in_minute) - self.settings.secondary_per_minute]
            waits.append(oldest + 60 - now)
        if len(stamps) >= self.settings.secondary_per_hour:
            oldest = stamps[len(stamps) - self.settings.secondary_per_hour]
            waits.append(oldest + 3600 - now)
        if waits:
            retry_after = max(1, int(math.ceil(max(waits))))
            content.retry_until = now + retry_after
            return SecondaryVerdict(False, retry_after)
        stamps.append(now)
        return SecondaryVerdict(True)
