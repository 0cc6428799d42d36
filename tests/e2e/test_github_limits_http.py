"""2,000 submissions over real HTTP to a receiver delivering to the fake GitHub over real HTTP, under GitHub's limits.

The receiver runs in-process on uvicorn so that its store and worker can share
the fake's clock: every wait the pacer or the worker decides moves that clock
instead of sleeping, so hours of GitHub's 500-an-hour budget pass in seconds.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from github import Auth, Github

from receiver.settings import Settings
from receiver.stores.github import GitHubStore
from receiver.web.app import create_app
from tests.e2e.conftest import wait_delivered
from tests.github_fake import FakeClock, FakeGitHub, FakeServer
from tests.support.captured import numbered_submission
from tests.support.servers import free_port, wait_until

REPO, TOKEN = "owner/data", "receiver-token"


@pytest.fixture
def github() -> Iterator[tuple[FakeGitHub, FakeClock, str]]:
    clock = FakeClock()
    fake = FakeGitHub(clock=clock, sleep=clock.advance)
    fake.create_repository(REPO)
    fake.add_token(TOKEN, "pose-receiver")
    fake.set_limits(secondary_per_minute=80, secondary_per_hour=500)
    with FakeServer(fake) as server:
        yield fake, clock, server.url


@pytest.fixture
def receiver(github: tuple[FakeGitHub, FakeClock, str], tmp_path: Path, network: Any) -> Iterator[str]:
    fake, clock, url = github
    network.add_passthru(url)
    client = Github(base_url=url, auth=Auth.Token(TOKEN), retry=None, seconds_between_requests=None, seconds_between_writes=None)
    store = GitHubStore(REPO, clock=clock.now, sleep=clock.advance, github=client)
    settings = replace(Settings(), local_repo=tmp_path / "unused.git", journal=tmp_path / "journal.sqlite3", rate_limit=None, batch_size=50, store="github")
    app = create_app(settings, store=store, delivery_sleep=clock.advance)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=30, what="the in-process receiver to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


async def post_all(url: str, count: int, clients: int) -> list[str]:
    accepted: list[str] = []

    async def one(client: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            for n in range(client, count, clients):
                response = await http.post("/api/labels", json=numbered_submission(n))
                assert response.status_code == 202, response.text
                accepted.append(response.json()["id"])

    await asyncio.gather(*(one(c) for c in range(clients)))
    return accepted


def test_two_thousand_submissions_delivered_within_githubs_limits(github: tuple[FakeGitHub, FakeClock, str], receiver: str) -> None:
    """All delivered, each file in exactly one PR, no request sent while a retry-after was pending, every window within budget."""
    fake, clock, _ = github
    started = clock.now()
    accepted = asyncio.run(post_all(receiver, 2000, 16))
    wait_delivered(receiver, timeout=600)
    assert len(set(accepted)) == 2000
    log = fake.requests()
    assert not any(entry.retry_after_pending for entry in log)
    times = [entry.at for entry in log if entry.content_creating]
    assert all(sum(1 for t in times if at - 3600 < t <= at) <= 500 for at in times)
    assert all(sum(1 for t in times if at - 60 < t <= at) <= 80 for at in times)
    main = fake.files(REPO, "main")
    in_pulls: Counter[str] = Counter()
    for pull in fake.pulls(REPO):
        in_pulls.update(p for p in fake.files(REPO, pull.head_ref) if p.startswith("annotations/") and p not in main)
    assert len(in_pulls) == 2000 and max(in_pulls.values()) == 1
    assert clock.now() - started > 3600, "the run needed more than an hour of GitHub's budget"
    status = httpx.get(f"{receiver}/health").json()
    assert status["journal"]["backlog"] == 0
