"""Way in #1: serve a ``FakeGitHub`` to ``requests`` (and so PyGithub) in-process via ``responses``.

``register(fake, mock, base_url)`` adds one callback per HTTP method for
every URL under ``base_url`` to a ``responses.RequestsMock``;
``fake_github_mock(fake, base_url)`` is a context manager that starts a
fresh mock with only that (innermost ``responses`` mock wins, so this works
while another test-wide mock is active). A dropped-connection fault raises
``requests.exceptions.ConnectionError`` as a lost socket would.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests
import responses

from .app import FakeGitHub
from .messages import Request

__all__ = ["DEFAULT_BASE_URL", "fake_github_mock", "register", "to_request"]

DEFAULT_BASE_URL = "https://api.github.com"
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")


def to_request(method: str, url: str, headers: Any, body: bytes | str | None, base_url: str) -> Request:
    """A fake ``Request`` from an absolute URL under ``base_url``."""
    base = base_url.rstrip("/")
    parts = urlsplit(url)
    base_path = urlsplit(base).path
    raw_path = parts.path[len(base_path) :] if parts.path.startswith(base_path) else parts.path
    if isinstance(body, str):
        body = body.encode()
    return Request(
        method=method.upper(),
        path=unquote(raw_path) or "/",
        query=parse_qs(parts.query, keep_blank_values=True),
        headers={str(k).lower(): str(v) for k, v in dict(headers or {}).items()},
        body=body or b"",
        api_root=base,
    )


def register(fake: FakeGitHub, mock: responses.RequestsMock, base_url: str = DEFAULT_BASE_URL) -> None:
    """Answer every request under ``base_url`` from ``fake``."""
    pattern = _url_pattern(base_url)

    def callback(prepared: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        body = prepared.body
        if body is not None and not isinstance(body, (bytes, str)):
            raise TypeError("the fake reads whole request bodies, not streamed ones")
        request = to_request(prepared.method or "GET", prepared.url or "", prepared.headers, body, base_url)
        response = fake.handle(request)
        if response.drop:
            raise requests.exceptions.ConnectionError(
                f"fake GitHub dropped the connection for {request.method} {request.path}"
            )
        return response.status, response.headers, response.body

    for method in _METHODS:
        # content_type=None: the fake's own Content-Type is the only one (responses would add text/plain).
        mock.add_callback(method, pattern, callback=callback, content_type=None)


def _url_pattern(base_url: str) -> re.Pattern[str]:
    """URLs under ``base_url``, with or without the scheme's default port (PyGithub adds it)."""
    parts = urlsplit(base_url.rstrip("/"))
    default_port = {"https": "443", "http": "80"}.get(parts.scheme)
    host = re.escape(parts.hostname or "")
    if parts.port is not None:
        port = re.escape(f":{parts.port}")
    else:
        port = f"(?::{default_port})?" if default_port else ""
    return re.compile(f"{re.escape(parts.scheme)}://{host}{port}{re.escape(parts.path)}([/?].*)?$")


@contextmanager
def fake_github_mock(fake: FakeGitHub, base_url: str = DEFAULT_BASE_URL) -> Iterator[responses.RequestsMock]:
    """Start a ``responses`` mock answering ``base_url`` from ``fake`` (and nothing else)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        register(fake, mock, base_url)
        yield mock
