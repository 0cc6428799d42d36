"""Facing clients directly: one address holding a thousand slow bodies cannot shut out anybody else.

Each slow connection sends its headers with a Content-Length and a few bytes of
body, then nothing. The receiver refuses those past RECEIVER_CONNECTIONS_PER_CLIENT
at once (429) and answers the rest 408 when RECEIVER_BODY_SECONDS pass, closing
every one; meanwhile an honest client from another address is answered 202.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.captured import numbered_submission
from tests.support.servers import ReceiverProcess

SLOW = 1000
BODY_SECONDS = 2
CAP = 50
#: A bound on waiting for what the deadline promises, not a measurement: generous so a loaded machine cannot flake it.
GRACE = 20.0


@pytest.fixture
def direct(tmp_path: Path) -> Iterator[ReceiverProcess]:
    """`receiver serve` facing clients itself, with a 2-second body deadline and its default cap of 50 per client."""
    settings = {"RECEIVER_BODY_SECONDS": str(BODY_SECONDS), "RECEIVER_CONNECTIONS_PER_CLIENT": str(CAP)}
    with ReceiverProcess(tmp_path, settings) as server:
        yield server


@dataclass
class SlowOutcome:
    statuses: Counter[str]
    closed_before_honest: int
    honest_status: int
    honest_seconds: float
    closed_after_deadline: int
    last_closed_at: float


async def _slow_connection(port: int, opened: asyncio.Event, count: list[int]) -> str:
    """Headers, a few bytes of a 600-byte body, then silence; returns the status line the server sent before closing."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.3", 0))
    writer.write(
        b"POST /api/labels HTTP/1.1\r\nHost: receiver\r\nContent-Type: application/json\r\n"
        b"Content-Length: 600\r\n\r\n{\"video_url\": "
    )
    await writer.drain()
    count[0] += 1
    if count[0] == SLOW:
        opened.set()
    try:
        answer = await reader.read()  # until the server closes
    finally:
        writer.close()
    return answer.split(b"\r\n", 1)[0].decode() or "closed without an answer"


async def _flood(port: int) -> SlowOutcome:
    opened, count = asyncio.Event(), [0]
    started = time.monotonic()
    slow = [asyncio.create_task(_slow_connection(port, opened, count)) for _ in range(SLOW)]
    await asyncio.wait_for(opened.wait(), timeout=60)
    # Those past the cap are refused at once; wait for that (a bound, not a measurement).
    deadline = time.monotonic() + 30
    while sum(t.done() for t in slow) < SLOW - CAP and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    closed_before_honest = sum(t.done() for t in slow)
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with httpx.AsyncClient(transport=transport, timeout=30) as http:
        asked = time.monotonic()
        honest = await http.post(f"http://127.0.0.1:{port}/api/labels", content=json.dumps(numbered_submission(1)), headers={"Content-Type": "application/json"})
        honest_seconds = time.monotonic() - asked
    await asyncio.wait(slow, timeout=BODY_SECONDS + GRACE)
    closed = [t for t in slow if t.done()]
    last = time.monotonic() - started
    for task in slow:
        task.cancel()
    statuses = Counter(t.result() for t in closed if not t.cancelled() and t.exception() is None)
    return SlowOutcome(statuses, closed_before_honest, honest.status_code, honest_seconds, len(closed), last)


def test_an_honest_post_is_kept_while_one_address_holds_a_thousand_slow_bodies_and_every_slow_one_is_closed(direct: ReceiverProcess) -> None:
    """1,000 stalled bodies from 127.0.0.3: a POST from 127.0.0.2 gets 202, and all 1,000 are closed (refused past the cap, 408 at the deadline)."""
    outcome = asyncio.run(_flood(direct.port))
    print(
        f"\nslow connections: {SLOW}; closed before the honest post: {outcome.closed_before_honest}; "
        f"honest post: {outcome.honest_status} in {outcome.honest_seconds:.3f} s; "
        f"closed in the end: {outcome.closed_after_deadline} ({dict(outcome.statuses)}), all by {outcome.last_closed_at:.1f} s after the first opened"
    )
    assert outcome.honest_status == 202
    assert outcome.closed_after_deadline == SLOW
    # Past the cap: our 429, or uvicorn's 503 for those that arrived while its limit_concurrency was full.
    refused = outcome.statuses["HTTP/1.1 429 Too Many Requests"] + outcome.statuses["HTTP/1.1 503 Service Unavailable"]
    assert (outcome.statuses["HTTP/1.1 408 Request Timeout"], refused) == (CAP, SLOW - CAP)


def test_a_connection_that_never_sends_its_headers_is_closed(tmp_path: Path) -> None:
    """A connection that opens and sends nothing is closed once RECEIVER_HEADER_SECONDS pass."""

    async def idle(port: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            return await asyncio.wait_for(reader.read(), timeout=1 + GRACE)
        finally:
            writer.close()

    with ReceiverProcess(tmp_path, {"RECEIVER_HEADER_SECONDS": "1"}) as server:
        assert asyncio.run(idle(server.port)) == b""
