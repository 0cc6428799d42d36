"""Limits on tokenless submissions, decided over values: whose bucket a request draws on, and whether it may pass.

Three decisions live here, none of them doing I/O:

- `client_key`: which client an address belongs to. One host usually owns a
  whole IPv6 /64 and can pick any address in it, so per-address buckets would
  give it 2**64 of them; the prefix lengths are settings.
- `take`: a token bucket per client (`count` tokens, refilled evenly over
  `seconds`), over its state and the clock's reading.
- `ceiling_wait`: the ceiling on tokenless submissions of all clients together
  in any hour (a sliding window, so no hour ever holds more than the ceiling).

Where the state lives, shared by every process of one receiver, is
`receiver.access.limitstate`'s business; this module will not store anything.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from typing import Protocol

__all__ = ["RateLimit", "ClientPrefixes", "Bucket", "HOUR", "ceiling_wait", "client_key", "retry_after_header", "take"]

#: The ceiling's window, in seconds.
HOUR = 3600.0


@dataclass(frozen=True)
class RateLimit:
    """At most `count` requests per `seconds` from one client."""

    count: int
    seconds: float

    @classmethod
    def parse(cls, text: str) -> RateLimit | None:
        """`120/minute`, `5/second`, `1000/hour`, or `0` for no limit."""
        text = text.strip().lower()
        if text in ("0", "off", "none", ""):
            return None
        match = re.fullmatch(r"(\d+)\s*/\s*(second|minute|hour|\d+s)", text)
        if not match or int(match.group(1)) == 0:
            raise ValueError("expected a limit like 120/minute, 5/second, 1000/hour, or 0 for none")
        unit = match.group(2)
        seconds = {"second": 1.0, "minute": 60.0, "hour": 3600.0}.get(unit) or float(unit[:-1])
        return cls(int(match.group(1)), seconds)


class ClientPrefixes(Protocol):
    """The prefix lengths that group addresses into one client (the settings carry them)."""

    @property
    def rate_limit_ipv4_prefix(self) -> int: ...

    @property
    def rate_limit_ipv6_prefix(self) -> int: ...


def client_key(address: str, settings: ClientPrefixes) -> str:
    """The client an address counts as: its network at the configured prefix, e.g. `2001:db8:1:2::/64`.

    An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack socket
    reports for an IPv4 peer) counts as the IPv4 address it maps. Anything that
    is not an address (no peer known, a test client's name) is its own key.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address):
        v4 = ipaddress.IPv4Network((int(ip) & _mask(32, settings.rate_limit_ipv4_prefix), settings.rate_limit_ipv4_prefix))
        return str(v4)
    # Built from the integer so that a zone (`fe80::1%eth0`) does not split one client in two.
    v6 = ipaddress.IPv6Network((int(ip) & _mask(128, settings.rate_limit_ipv6_prefix), settings.rate_limit_ipv6_prefix))
    return str(v6)


def _mask(bits: int, prefix: int) -> int:
    return ((1 << bits) - 1) ^ ((1 << (bits - prefix)) - 1)


@dataclass(frozen=True)
class Bucket:
    """A client's bucket: tokens left when last touched, and when that was."""

    tokens: float
    updated: float


def take(bucket: Bucket | None, now: float, limit: RateLimit) -> tuple[Bucket, float | None]:
    """Take one token for a request at `now`: the bucket to keep, and None if allowed, else the seconds until it would be.

    A client never seen (or forgotten once its bucket was full again) starts
    full. A clock that went backwards (a machine restarted, its monotonic
    clock starting over) refills nothing and lets nobody wait longer than one
    refill.
    """
    rate = limit.count / limit.seconds
    if bucket is None:
        tokens = float(limit.count)
    else:
        tokens = min(float(limit.count), bucket.tokens + max(0.0, now - bucket.updated) * rate)
    if tokens < 1.0:
        return Bucket(tokens, now), (1.0 - tokens) / rate
    return Bucket(tokens - 1.0, now), None


def ceiling_wait(count: int, freeing_at: float | None, now: float, per_hour: int) -> float | None:
    """None if one more tokenless submission fits under the ceiling, else the seconds until a slot frees.

    `count` is how many were admitted in the hour before `now`; `freeing_at`
    is when the one whose expiry frees a slot was admitted: the oldest when
    the count sits at the ceiling, or later ones if the ceiling was lowered.
    """
    if count < per_hour:
        return None
    assert freeing_at is not None, "a full window has admissions in it"
    return max(0.0, freeing_at + HOUR - now)


def retry_after_header(seconds: float) -> str:
    """Retry-After takes whole seconds; round up so a client that obeys is never early."""
    return str(max(1, math.ceil(seconds)))
