"""Fixtures for the fake's own tests.

Network: the top-level ``tests/conftest.py`` may run every test inside a
``responses`` mock. In-process fixtures here start their *own* innermost
``responses.RequestsMock`` answering only the fake's base URL
(``fake_github_mock``), so they work whether or not an outer mock is active.
Real-HTTP fixtures start an innermost mock whose only rule is a passthrough
for the server's loopback URL: ``responses`` passes through to the real
``HTTPAdapter.send`` captured at import, so the request reaches the socket
even while an outer mock blocks everything else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import responses
from github import Auth, Github

from tests.github_fake import FakeClock, FakeGitHub, FakeServer, fake_github_mock

BASE_URL = "http://github.test/api/v3"
REPO = "owner/data"
OWNER_TOKEN = "owner-token"
CONTRIBUTOR_TOKEN = "contributor-token"


def pygithub(base_url: str, token: str = OWNER_TOKEN) -> Github:
    """PyGithub without its own retries or write pacing, so faults and limits reach the test at once."""
    return Github(
        base_url=base_url, auth=Auth.Token(token), retry=None, seconds_between_requests=0, seconds_between_writes=0
    )


class Api:
    """Raw HTTP against the fake, for asserting statuses, headers and bodies."""

    def __init__(self, base_url: str, token: str | None = OWNER_TOKEN) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.token = token

    def __call__(
        self, method: str, path: str, json: Any = None, data: bytes | None = None, token: str | None = "", **params: Any
    ) -> requests.Response:
        headers = {"accept": "application/vnd.github+json"}
        use = self.token if token == "" else token
        if use is not None:
            headers["authorization"] = f"token {use}"
        return self.session.request(
            method, f"{self.base_url}{path}", json=json, data=data, headers=headers, params=params or None
        )

    def ok(self, method: str, path: str, json: Any = None, **params: Any) -> Any:
        response = self(method, path, json=json, **params)
        assert response.status_code < 300, (response.status_code, response.text)
        return response.json() if response.content else None


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> FakeGitHub:
    """A fake with ``owner/data`` (README on main), the owner's token and a contributor's."""
    github = FakeGitHub(clock=clock, sleep=clock.advance)
    github.create_repository(REPO)
    github.add_token(OWNER_TOKEN, "owner")
    github.add_token(CONTRIBUTOR_TOKEN, "contributor")
    return github


@pytest.fixture
def in_process(fake: FakeGitHub) -> Iterator[responses.RequestsMock]:
    with fake_github_mock(fake, BASE_URL) as mock:
        yield mock


@pytest.fixture
def api(in_process: responses.RequestsMock) -> Api:
    return Api(BASE_URL)


@pytest.fixture
def gh(in_process: responses.RequestsMock) -> Github:
    """PyGithub in-process, without its own retries (so faults and limits reach the test)."""
    return pygithub(BASE_URL)


@pytest.fixture
def contributor_gh(in_process: responses.RequestsMock) -> Github:
    return pygithub(BASE_URL, CONTRIBUTOR_TOKEN)


@pytest.fixture
def server(fake: FakeGitHub) -> Iterator[FakeServer]:
    """The fake on a loopback socket, reachable through any outer ``responses`` mock."""
    with FakeServer(fake) as running:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            mock.add_passthru(re.compile(re.escape(running.url)))
            yield running


@pytest.fixture
def http_gh(server: FakeServer) -> Iterator[Github]:
    github = pygithub(server.url)
    yield github
    github.close()


ModelCheck = Callable[[str, Any], Any]


@pytest.fixture(scope="session")
def schema() -> ModelCheck:
    """Validate a body against githubkit's model (generated from GitHub's OpenAPI description)."""
    from githubkit_schemas.latest import models

    def check(model: str, body: Any) -> Any:
        cls = getattr(models, model)
        if isinstance(body, list):
            return [cls.model_validate(item) for item in body]
        return cls.model_validate(body)

    return check
