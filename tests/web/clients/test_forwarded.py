"""X-Forwarded-For names the client only from a trusted hop, and only as an IP address."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from receiver.web.forwarded import ForwardedFor, TrustedHops, forwarded_client

NGINX = TrustedHops.parse("127.0.0.1")


class TestForwardedClient:
    def test_a_valid_address_from_a_trusted_hop_is_the_client(self) -> None:
        """nginx at 127.0.0.1 says 203.0.113.7: the client is 203.0.113.7."""
        assert forwarded_client("127.0.0.1", "203.0.113.7", NGINX) == "203.0.113.7"

    def test_a_word_is_refused(self) -> None:
        """`x1` is not an address: refused, so the caller keeps the peer."""
        assert forwarded_client("127.0.0.1", "x1", NGINX) is None

    def test_junk_right_of_an_address_is_refused(self) -> None:
        """`1.2.3.4, x1`: the right-most entry is junk, so the address left of it is not believed either."""
        assert forwarded_client("127.0.0.1", "1.2.3.4, x1", NGINX) is None

    def test_an_empty_value_is_refused(self) -> None:
        """An empty header names nobody."""
        assert forwarded_client("127.0.0.1", "", NGINX) is None

    def test_an_ipv6_address_with_a_zone_is_the_address_without_it(self) -> None:
        """`fe80::1%eth0`: the zone names another machine's interface, so only the address is kept."""
        assert forwarded_client("127.0.0.1", "fe80::1%eth0", NGINX) == "fe80::1"

    def test_the_right_most_address_that_is_not_a_trusted_hop_is_the_client(self) -> None:
        """Each hop appends what it saw: past the trusted hops, the next entry is one no client wrote."""
        hops = TrustedHops.parse("127.0.0.1, 10.0.0.0/8")
        assert forwarded_client("127.0.0.1", "198.51.100.1, 203.0.113.7, 10.1.2.3", hops) == "203.0.113.7"

    def test_junk_a_client_wrote_left_of_the_hop_s_entry_does_not_matter(self) -> None:
        """nginx's $proxy_add_x_forwarded_for appends the real address after whatever the client sent."""
        assert forwarded_client("127.0.0.1", "x1, 203.0.113.7", NGINX) == "203.0.113.7"

    def test_from_an_untrusted_peer_the_header_is_ignored(self) -> None:
        """A client that is not a trusted hop cannot name itself someone else."""
        assert forwarded_client("192.0.2.5", "203.0.113.7", NGINX) == "192.0.2.5"

    def test_addresses_are_written_one_way(self) -> None:
        """`2001:DB8:0::1` and `2001:db8::1` are one client."""
        assert forwarded_client("127.0.0.1", "2001:DB8:0::1", NGINX) == "2001:db8::1"


class TestTrustedHops:
    def test_a_network_trusts_its_addresses(self) -> None:
        """`10.0.0.0/8` trusts 10.9.8.7 and not 11.0.0.1."""
        hops = TrustedHops.parse("10.0.0.0/8")
        assert (hops.trust("10.9.8.7"), hops.trust("11.0.0.1")) == (True, False)

    def test_a_name_is_not_trusted(self, caplog: pytest.LogCaptureFixture) -> None:
        """Only addresses and networks are hops; a name is skipped with a warning naming it."""
        hops = TrustedHops.parse("proxy.local, 127.0.0.1")
        assert hops.trust("proxy.local") is False
        assert "'proxy.local' is not an IP address or network" in caplog.text


async def _echo_client(scope: Scope, receive: Receive, send: Send) -> None:
    client = scope.get("client")
    body = f"{client[0] if client else ''} {scope['scheme']}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _seen(middleware: ForwardedFor, peer: str, **headers: str) -> str:
    """What the app behind `middleware` takes for the client and scheme of a GET from `peer`."""

    async def get() -> str:
        transport = httpx.ASGITransport(app=middleware, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as http:
            return (await http.get("/", headers=headers)).text

    return asyncio.run(get())


class TestForwardedForMiddleware:
    def test_the_app_sees_the_forwarded_client_and_scheme(self) -> None:
        """From the trusted hop, the app's scope carries the forwarded address and https."""
        middleware = ForwardedFor(_echo_client, trusted="127.0.0.1")
        assert _seen(middleware, "127.0.0.1", **{"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}) == "203.0.113.7 https"

    def test_a_refused_header_leaves_the_peer_as_the_client(self) -> None:
        """`x1` from the trusted hop: the app sees the hop's own address."""
        middleware = ForwardedFor(_echo_client, trusted="127.0.0.1")
        assert _seen(middleware, "127.0.0.1", **{"X-Forwarded-For": "x1"}) == "127.0.0.1 http"

    def test_an_untrusted_peer_s_headers_change_nothing(self) -> None:
        """From 192.0.2.5 neither the address nor the scheme is taken from the headers."""
        middleware = ForwardedFor(_echo_client, trusted="127.0.0.1")
        assert _seen(middleware, "192.0.2.5", **{"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}) == "192.0.2.5 http"

    def test_refusals_are_logged_once_a_minute_with_how_many_were_left_out(self, caplog: pytest.LogCaptureFixture) -> None:
        """Twenty junk headers in a minute make one line; the first line after the minute counts the 19 others."""
        clock = FakeClock()
        middleware = ForwardedFor(_echo_client, trusted="127.0.0.1", clock=clock)
        with caplog.at_level(logging.WARNING, logger="receiver.app"):
            for n in range(20):
                _seen(middleware, "127.0.0.1", **{"X-Forwarded-For": f"x{n}"})
            clock.now = 61.0
            _seen(middleware, "127.0.0.1", **{"X-Forwarded-For": "x20"})
        lines = [r.getMessage() for r in caplog.records if "X-Forwarded-For" in r.getMessage()]
        assert len(lines) == 2
        assert "'x0'" in lines[0] and "19 more refused" in lines[1]
