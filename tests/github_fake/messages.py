"""The fake's own request and response values, apart from any HTTP library.

Both ways in (``responses`` callbacks and the HTTP server) translate to and
from these, so the dispatcher in ``app.py`` never sees a socket or a
``requests.PreparedRequest``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Request", "Response"]


@dataclass(frozen=True)
class Request:
    method: str
    #: Percent-decoded path below the API root, e.g. ``/repos/o/r/git/ref/heads/main``.
    path: str
    query: dict[str, list[str]]
    #: Header names lower-cased.
    headers: dict[str, str]
    body: bytes
    #: Scheme, host and prefix the client used, e.g. ``http://github.test/api/v3``;
    #: URLs in answers start with it so clients following them come back here.
    api_root: str

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: Close the connection without answering (a dropped connection fault).
    drop: bool = False

    @staticmethod
    def json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        merged = {"content-type": "application/json; charset=utf-8"}
        merged.update(headers or {})
        return Response(status, merged, json.dumps(payload).encode())

    def payload(self) -> Any:
        return json.loads(self.body) if self.body else None
