"""Requests one client address group may have open at once (RECEIVER_CONNECTIONS_PER_CLIENT), counted per process."""

from __future__ import annotations

import asyncio

import httpx
from starlette.types import Receive, Scope, Send

from receiver.settings import Settings
from receiver.web.connections import ConnectionCap
from tests.web.clients.conftest import Answer, AppFactory, Poster, submission_bytes


class Held:
    """An ASGI app whose answers wait until the test lets them go."""

    def __init__(self) -> None:
        self.inside = 0
        self.entered = asyncio.Event()
        self.second = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.inside += 1
        self.entered.set()
        if self.inside == 2:
            self.second.set()
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})


async def _get(app: ConnectionCap, peer: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as http:
        return await http.get("/health")


async def _while_one_is_open(cap: ConnectionCap, held: Held, first: str, second: str) -> tuple[int | str, httpx.Response]:
    """Open one request from `first`; while it is held, send one from `second`; then let both finish.

    The second's outcome is its status if it was answered while the first was held, or "let in" if it reached the app.
    """
    opened = asyncio.create_task(_get(cap, first))
    await held.entered.wait()
    following = asyncio.create_task(_get(cap, second))
    let_in = asyncio.create_task(held.second.wait())
    try:
        await asyncio.wait([following, let_in], return_when=asyncio.FIRST_COMPLETED)
        outcome: int | str = "let in" if let_in.done() else following.result().status_code
    finally:
        held.release.set()
        let_in.cancel()
    await following
    return outcome, await opened


def test_a_request_past_the_cap_is_refused_at_once_with_429_retry_after_and_close() -> None:
    """With a cap of 1, a second request from the same address is not held: 429, a sentence, Retry-After, Connection: close."""
    held = Held()
    cap = ConnectionCap(held, per_client=1, prefixes=Settings())

    async def refused_while_held() -> httpx.Response:
        opened = asyncio.create_task(_get(cap, "192.0.2.1"))
        await held.entered.wait()
        refused = await _get(cap, "192.0.2.1")
        held.release.set()
        await opened
        return refused

    refused = asyncio.run(refused_while_held())
    assert refused.status_code == 429
    assert refused.json()["error"].startswith("Your address has 1 requests open at once, the most this receiver allows;")
    assert refused.headers["retry-after"] == "10" and refused.headers["connection"] == "close"


def test_another_address_is_not_refused() -> None:
    """One address at its cap leaves another address's requests alone."""
    held = Held()
    cap = ConnectionCap(held, per_client=1, prefixes=Settings())
    other, first = asyncio.run(_while_one_is_open(cap, held, "192.0.2.1", "192.0.2.2"))
    assert (other, first.status_code) == ("let in", 200)


def test_addresses_of_one_group_share_the_cap() -> None:
    """Two addresses of one IPv6 /64 are one client, as for the rate limits."""
    held = Held()
    cap = ConnectionCap(held, per_client=1, prefixes=Settings())
    refused, _ = asyncio.run(_while_one_is_open(cap, held, "2001:db8::1", "2001:db8::2"))
    assert refused == 429


def test_a_finished_request_frees_its_place() -> None:
    """After its request is answered, the address may open another, and nothing stays counted."""
    held = Held()
    held.release.set()
    cap = ConnectionCap(held, per_client=1, prefixes=Settings())

    async def twice() -> list[int]:
        return [(await _get(cap, "192.0.2.1")).status_code for _ in range(2)]

    assert asyncio.run(twice()) == [200, 200]
    assert cap.open_requests("192.0.2.1") == 0


def test_a_cap_of_zero_refuses_nothing() -> None:
    """RECEIVER_CONNECTIONS_PER_CLIENT=0 turns the cap off."""
    held = Held()
    cap = ConnectionCap(held, per_client=0, prefixes=Settings())
    second, first = asyncio.run(_while_one_is_open(cap, held, "192.0.2.1", "192.0.2.1"))
    assert (second, first.status_code) == ("let in", 200)


def test_the_receiver_refuses_a_submission_past_the_cap_while_others_are_kept(make_app: AppFactory) -> None:
    """The app caps open requests: while one submission from an address waits for its body, its next is 429, another address's 202."""
    client = make_app(connections_per_client=1)
    body = submission_bytes(1)

    async def scenario() -> tuple[Answer, Answer, Answer]:
        hold = asyncio.Event()
        waiting = Poster(client.app, "192.0.2.1", [body[:10], body[10:]], declared=len(body), hold=hold)
        first = asyncio.create_task(waiting())
        await waiting.started.wait()
        try:
            same = await Poster(client.app, "192.0.2.1", [submission_bytes(2)], declared=len(submission_bytes(2)))()
            other = await Poster(client.app, "192.0.2.2", [submission_bytes(3)], declared=len(submission_bytes(3)))()
        finally:
            hold.set()
        return same, other, await first

    same, other, first = client.portal.call(scenario)
    assert (same.status, other.status, first.status) == (429, 202, 202)


def test_a_trusted_proxy_s_own_address_is_not_capped() -> None:
    """Requests left with the proxy's address stand for every client behind it, so they are not counted."""
    held = Held()
    cap = ConnectionCap(held, per_client=1, prefixes=Settings(), exempt=lambda address: address == "127.0.0.1")
    second, first = asyncio.run(_while_one_is_open(cap, held, "127.0.0.1", "127.0.0.1"))
    assert (second, first.status_code) == ("let in", 200)
