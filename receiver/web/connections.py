"""How many requests one client may hold open, and how long a connection may take to say what it wants.

Facing clients directly, one address holding a thousand slow requests open
filled uvicorn's `limit_concurrency` and every other client got 503. With this
cap, a client's requests past `connections_per_client` are refused at once with
429 and the connection closed, so the rest of the server stays free for
everyone else. Clients are grouped as the rate limits group them
(`receiver.access.ratelimit.client_key`, with the prefix settings).

It counts per process: with `--workers N` one client may hold up to N times
the cap. It sees requests, not connections: a connection still sending its
headers, or idle between requests, is uvicorn's to time out (see `receiver
serve`). Behind nginx, nginx's `limit_conn` does this job for every receiver
at once; the trusted proxies' own addresses are not capped, since a request
left with a proxy's address stands for every client behind it.

`HeaderDeadlineProtocol` is that timeout for headers: uvicorn bounds the idle
time after an answer (`timeout_keep_alive`) but not a connection that never
sends, or trickles, its request line and headers. Over the body, the deadline
is `receiver.web.submissions`' (RECEIVER_BODY_SECONDS); behind nginx both are
nginx's (`client_header_timeout`, `client_body_timeout`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from receiver.access.ratelimit import ClientPrefixes, client_key
from receiver.web.responses import error

__all__ = ["RETRY_AFTER_SECONDS", "ConnectionCap", "HeaderDeadlineProtocol"]

#: What a refused client is told to wait: long enough for its open requests to end or time out.
RETRY_AFTER_SECONDS = 10

#: Addresses whose group is remembered before the memory starts over.
_REMEMBERED = 4096


class ConnectionCap:
    """ASGI middleware counting open requests per client address group; a request over `per_client` is refused with 429.

    The counts live in this object, which the app factory builds, so two apps never share them.
    `exempt` addresses are not counted: the app passes the trusted proxies, whose own address
    stands for every client behind them when a request carries no usable X-Forwarded-For.
    """

    def __init__(self, app: ASGIApp, *, per_client: int, prefixes: ClientPrefixes, exempt: Callable[[str], bool] = lambda address: False) -> None:
        self.app = app
        self.per_client = per_client
        self._prefixes = prefixes
        self._exempt = exempt
        self._open: dict[str, int] = {}
        self._keys: dict[str, str | None] = {}

    def open_requests(self, address: str) -> int:
        """How many requests the group of `address` has open now (what /metrics or a test may read)."""
        return self._open.get(client_key(address, self._prefixes), 0)

    def take(self, scope: Scope) -> str | Response | None:
        """Count a request in: its group's key (hand it back to `release`), None when it is not counted, or the 429 refusing it.

        The fast submit path (receiver.web.intake) counts through the same object, so a client's submissions and its other requests share one cap.
        """
        if self.per_client <= 0:
            return None
        client = scope.get("client")
        key = self._key(client[0] if client else "unknown")
        if key is None:
            return None
        count = self._open.get(key, 0)
        if count >= self.per_client:
            return error(
                429,
                f"Your address has {count} requests open at once, the most this receiver allows; "
                f"let them finish and try again in {RETRY_AFTER_SECONDS} s.",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Connection": "close"},
            )
        self._open[key] = count + 1
        return key

    def release(self, key: str) -> None:
        """The request `take` counted has ended."""
        left = self._open[key] - 1
        if left:
            self._open[key] = left
        else:
            del self._open[key]

    def _key(self, address: str) -> str | None:
        """The address's group, None for an exempt address; remembered, since a client sends many requests from one address."""
        if address in self._keys:
            return self._keys[address]
        key = None if self._exempt(address) else client_key(address, self._prefixes)
        if len(self._keys) >= _REMEMBERED:
            self._keys.clear()
        self._keys[address] = key
        return key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        taken = self.take(scope)
        if taken is None:
            await self.app(scope, receive, send)
        elif isinstance(taken, Response):
            await taken(scope, receive, send)
        else:
            try:
                await self.app(scope, receive, send)
            finally:
                self.release(taken)


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol, closing a connection whose request headers are not in `header_seconds` after it opened or was last answered.

    `receiver serve` passes it to uvicorn as `http=functools.partial(HeaderDeadlineProtocol, header_seconds=...)`,
    which pickles by reference for `--workers N`. While a request runs no deadline is armed: the body has its own.
    """

    def __init__(self, *args: Any, header_seconds: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_seconds = header_seconds
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        # A pipelined request already sent its headers: it starts now, with no deadline to meet.
        waiting = bool(self.pipeline)
        super().on_response_complete()
        if not waiting and not self.transport.is_closing():
            self._arm_header_deadline()

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        if self._header_seconds > 0:
            self._header_timer = self.loop.call_later(self._header_seconds, self._header_deadline_passed)

    def _disarm_header_deadline(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_deadline_passed(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()
