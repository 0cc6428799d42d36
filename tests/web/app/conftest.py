"""The receiver in-process: an app built from settings on a temporary local store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from receiver.settings import RateLimit, Settings
from receiver.web.app import create_app

PAGE = "http://localhost:8765"
ClientFactory = Callable[..., TestClient]


class FakeClock:
    """Monotonic seconds the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(tmp_path: Path, clock: FakeClock) -> Iterator[ClientFactory]:
    """Start an app with settings overridden by keywords; every client sends the page's Origin."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        settings = replace(Settings(local_repo=tmp_path / "data" / "annotations.git", rate_limit=RateLimit(1000, 60.0)), **overrides)
        client = TestClient(create_app(settings, clock=clock), headers={"Origin": PAGE})
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    return make_client()
