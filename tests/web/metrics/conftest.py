"""Read a scrape the way Prometheus does, and the receiver in-process with metrics settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from receiver.settings import RateLimit, Settings
from receiver.web.app import create_app

ClientFactory = Callable[..., TestClient]
TOKEN = "scrape-secret"


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape, by name and labels, parsed by prometheus_client's own parser."""
    return {(s.name, frozenset(s.labels.items())): s.value for family in text_string_to_metric_families(text) for s in family.samples}


def value(text: str, name: str, **labels: str) -> float:
    """One sample's value; 0 when the scrape lacks it (a labelled counter never incremented)."""
    return samples(text).get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[ClientFactory]:
    """Start an app with settings overridden by keywords (metrics public unless told otherwise)."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        base = Settings(local_repo=tmp_path / "data" / "annotations.git", rate_limit=RateLimit(1000, 60.0), metrics="public")
        client = TestClient(create_app(replace(base, **overrides)))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
