"""The submit path's raw ASGI callable answers exactly as Starlette's middleware and routing did."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from starlette.middleware import Middleware
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from receiver.settings import Settings
from receiver.web.app import create_app
from receiver.web.intake import FastSubmit, ReceiverApp
from tests.support.captured import captured_body

PAGE = "http://localhost:8765"
MOMENT = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=timezone.utc)


def _app(folder: Path) -> ReceiverApp:
    # Intake only: a re-post's answer names the commit once delivered, and two deliverers would race to it.
    app = create_app(Settings(local_repo=folder / "annotations.git", rate_limit=None, role="intake"), now=lambda: MOMENT)
    assert isinstance(app, ReceiverApp)
    return app


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[TestClient, TestClient]]:
    """The same receiver twice on the same clock: one answering through the fast path, one through Starlette's stack."""
    fast, stacked = _app(tmp_path / "fast"), _app(tmp_path / "stack")

    async def through_the_stack(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await stacked(scope, receive, send)
            return
        scope["app"] = stacked
        if stacked.middleware_stack is None:
            stacked.middleware_stack = stacked.build_middleware_stack()
        await stacked.middleware_stack(scope, receive, send)

    with TestClient(fast) as one, TestClient(through_the_stack) as other:
        yield one, other


def _answer(client: TestClient, content: bytes, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], Any]:
    response = client.post("/api/labels", content=content, headers=headers)
    return response.status_code, sorted(response.headers.multi_items()), response.json() if response.content.startswith(b"{") else response.text


_BODIES = {
    "valid": json.dumps(captured_body()).encode(),
    "invalid": json.dumps({**captured_body(), "frame_index": -1, "extra": 1}).encode(),
    "not json": b"{nope",
    "empty": b"",
    "repeated key": json.dumps(captured_body()).replace('"fps"', '"fps": 1, "fps"', 1).encode(),
    "integer as float": json.dumps({**captured_body(), "frame_width": 1280.0}).encode(),
}
_HEADERS = {
    "page": {"Origin": PAGE, "Content-Type": "application/json"},
    "no origin": {"Content-Type": "application/json"},
    "other origin": {"Origin": "https://elsewhere.example", "Content-Type": "application/json"},
    "form": {"Origin": PAGE, "Content-Type": "text/plain"},
    "bad token": {"Origin": PAGE, "Content-Type": "application/json", "Authorization": "Basic x"},
}


@pytest.mark.parametrize("headers", list(_HEADERS), ids=list(_HEADERS))
@pytest.mark.parametrize("body", list(_BODIES), ids=list(_BODIES))
def test_the_fast_path_answers_as_the_stack_does(pair: tuple[TestClient, TestClient], body: str, headers: str) -> None:
    """Status, every header and the body: the same for a first post and for its re-post."""
    fast, stacked = pair
    for _ in range(2):
        assert _answer(fast, _BODIES[body], _HEADERS[headers]) == _answer(stacked, _BODIES[body], _HEADERS[headers])


def test_a_body_past_the_limit_is_answered_as_the_stack_does(pair: tuple[TestClient, TestClient]) -> None:
    fast, stacked = pair
    big = b'{"video_url": "' + b"x" * 70_000 + b'"}'
    assert _answer(fast, big, _HEADERS["page"]) == _answer(stacked, big, _HEADERS["page"])


def test_a_preflight_still_takes_the_cors_middleware(pair: tuple[TestClient, TestClient]) -> None:
    fast, _ = pair
    response = fast.options("/api/labels", headers={"Origin": PAGE, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == PAGE


def test_an_unknown_middleware_turns_the_fast_path_off(tmp_path: Path) -> None:
    """A layer the fast path does not know would be skipped on the submit path: then every request takes the stack."""
    seen: list[str] = []

    class Witness:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                seen.append(scope["path"])
            await self.app(scope, receive, send)

    app = _app(tmp_path)
    app.user_middleware.append(Middleware(Witness))
    with TestClient(app) as client:
        assert client.post("/api/labels", json=captured_body(), headers={"Origin": PAGE}).status_code == 202
    assert seen == ["/api/labels"]
    assert FastSubmit.around(app.build_middleware_stack(), lambda status: None) is None
