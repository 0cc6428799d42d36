"""Who the client is behind a proxy: X-Forwarded-For, honoured only from trusted hops and only as an IP address.

uvicorn's own proxy-header handling takes the right-most untrusted entry of
X-Forwarded-For whatever it holds, so behind a proxy that passes the header on,
`x1`, `x2`, ... each became a client of their own, and a rate-limit bucket of
their own. This middleware replaces it (`receiver serve` turns uvicorn's off):
the peer must be a trusted hop (RECEIVER_FORWARDED_ALLOW_IPS), the entries are
read right to left past the trusted hops, and the first other entry is the
client only if it is an IP address. Anything else is refused: the peer stays
the client, and a bounded log line says so.

It will not read `Forwarded` (RFC 7239), nor trust hops by name: addresses and
networks only.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["ForwardedFor", "TrustedHops", "forwarded_client"]

log = logging.getLogger("receiver.app")

#: Peer addresses whose trust is remembered before the memory starts over.
_REMEMBERED = 4096

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class TrustedHops:
    """The proxies whose X-Forwarded-For is believed: addresses and networks, or every peer (`*`)."""

    networks: tuple[_Network, ...]
    everyone: bool = False

    @classmethod
    def parse(cls, text: str) -> TrustedHops:
        """Read `127.0.0.1, 10.0.0.0/8, ::1` (or `*`); a name that is not an address or network is skipped with a warning."""
        items = [item.strip() for item in text.split(",") if item.strip()]
        if "*" in items:
            return cls((), everyone=True)
        networks: list[_Network] = []
        for item in items:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                log.warning("RECEIVER_FORWARDED_ALLOW_IPS: %r is not an IP address or network; it is not trusted", item[:60])
        return cls(tuple(networks))

    def trust(self, host: str) -> bool:
        """Whether `host` (a peer, or an entry of the header) is one of the trusted hops."""
        if self.everyone:
            return True
        address = _address(host)
        return address is not None and any(address in network for network in self.networks)


def forwarded_client(peer: str, header: str, hops: TrustedHops) -> str | None:
    """The client's address from `header` sent by `peer`; None when the header must be refused (not an address).

    Read right to left: each proxy appends the address it saw, so the right-most
    entry that is not a trusted hop is the one no client could have written.
    When every entry is a trusted hop, the left-most is the client.
    """
    if not hops.trust(peer):
        return peer
    entries = [entry.strip() for entry in header.split(",")]
    for entry in reversed(entries):
        address = _address(entry)
        if address is None:
            return None
        if not hops.trust(entry):
            return str(address)
    left = _address(entries[0])
    return None if left is None else str(left)


def _address(text: str) -> _Address | None:
    """`text` as an IP address without any zone (a zone names an interface of another machine), or None."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        address = ipaddress.IPv6Address(int(address))
    return address


class ForwardedFor:
    """ASGI middleware: sets `scope["client"]` (and the scheme) from a trusted hop's X-Forwarded-* headers.

    Refused headers are logged at most once per `log_every` seconds of `clock`,
    with how many were refused since, so a client sending junk cannot fill the log.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        trusted: str,
        clock: Callable[[], float] = time.monotonic,
        log_every: float = 60.0,
    ) -> None:
        self.app = app
        self.hops = TrustedHops.parse(trusted)
        self._clock = clock
        self._log_every = log_every
        self._logged_at: float | None = None
        self._unlogged = 0
        self._peers: dict[str, bool] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            self.rewrite(scope)
        await self.app(scope, receive, send)

    def rewrite(self, scope: Scope) -> None:
        """Set the client (and scheme) of `scope` from a trusted hop's headers; the fast submit path calls it too."""
        client = scope.get("client")
        peer = client[0] if client else ""
        if not peer or not self._trusted(peer):
            return
        forwarded: list[bytes] = []
        proto: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                forwarded.append(value)
            elif name == b"x-forwarded-proto":
                proto = value
        if proto is not None:
            scheme = proto.decode("latin-1").strip().lower()
            if scheme in ("http", "https"):
                scope["scheme"] = scheme if scope["type"] == "http" else scheme.replace("http", "ws")
        if not forwarded:
            return
        header = b",".join(forwarded).decode("latin-1")
        address = forwarded_client(peer, header, self.hops)
        if address is None:
            self._refused(peer, header)
            return
        scope["client"] = (address, 0)

    def _trusted(self, peer: str) -> bool:
        """Whether the peer is a trusted hop; remembered per address, since a connection sends many requests."""
        trusted = self._peers.get(peer)
        if trusted is None:
            trusted = self.hops.trust(peer)
            if len(self._peers) >= _REMEMBERED:
                self._peers.clear()
            self._peers[peer] = trusted
        return trusted

    def _refused(self, peer: str, header: str) -> None:
        now = self._clock()
        if self._logged_at is not None and now - self._logged_at < self._log_every:
            self._unlogged += 1
            return
        since = f" ({self._unlogged} more refused since the last such line)" if self._unlogged else ""
        log.warning(
            "X-Forwarded-For %r from %s is not an IP address; the peer address is used instead%s. "
            "Have the proxy set the header to the address it saw (nginx: $remote_addr or $proxy_add_x_forwarded_for).",
            header[:80],
            peer,
            since,
        )
        self._logged_at, self._unlogged = now, 0
