"""The receiver in-process, driven with raw ASGI messages so a test decides when each body part arrives."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message

from receiver.settings import RateLimit, Settings
from receiver.web.app import create_app
from tests.support.captured import numbered_submission


@dataclass
class Answer:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Poster:
    """POST /api/labels from `peer`: the body arrives in `parts`; with `hold` set, the last part waits for it.

    With `complete` false the parts are not the whole body, and the rest never comes.
    """

    app: ASGIApp
    peer: str
    parts: list[bytes]
    declared: int
    hold: asyncio.Event | None = None
    complete: bool = True
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self) -> Answer:
        answer = Answer()
        queue = list(self.parts)

        async def receive() -> Message:
            self.started.set()
            if len(queue) == 1 and self.hold is not None:
                await self.hold.wait()
            if not queue:
                await asyncio.Event().wait()  # a client that never sends the rest
            part = queue.pop(0)
            return {"type": "http.request", "body": part, "more_body": bool(queue) or not self.complete}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer.status = message["status"]
                answer.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
            else:
                answer.body += message.get("body", b"")

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/api/labels",
            "raw_path": b"/api/labels",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"receiver"), (b"content-type", b"application/json"), (b"content-length", str(self.declared).encode())],
            "client": (self.peer, 40000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        await self.app(scope, receive, send)
        return answer


def submission_bytes(n: int) -> bytes:
    return json.dumps(numbered_submission(n)).encode()


AppFactory = Callable[..., TestClient]


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[AppFactory]:
    """Start the receiver (lifespan and all) with settings overridden by keywords; tests run coroutines on `client.portal`."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        settings = replace(Settings(local_repo=tmp_path / "data" / "annotations.git", rate_limit=RateLimit(1000, 60.0)), **overrides)
        client = TestClient(create_app(settings))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
