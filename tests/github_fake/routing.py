"""The route table's vocabulary: a route, the call a handler gets, its reply.

A ``Route`` pairs a method and a path pattern with a handler and says
whether the request generates content (for the secondary rate limit). A
handler gets a ``Call`` (the model, the request, the path parameters and the
authenticated user) and returns a ``Reply``; it reads JSON input through the
``Call`` helpers, which answer malformed input as GitHub does (400 "Problems
parsing JSON", 422 "Invalid request" naming the field).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import BadRequest, Unprocessable
from .limits import PrimaryVerdict
from .messages import Request
from .state import GitHubState, Repository, User

__all__ = ["Call", "Handler", "Reply", "Route", "match_route"]


@dataclass
class Reply:
    status: int
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    #: Paginate ``payload`` (a list) with ``page``/``per_page`` and a ``link`` header.
    paginate: bool = False


@dataclass
class Call:
    state: GitHubState
    request: Request
    params: dict[str, str]
    user: User
    #: The caller's primary rate limit as this request leaves it.
    primary: PrimaryVerdict | None = None

    @property
    def root(self) -> str:
        return self.request.api_root

    def repo(self) -> Repository:
        """The repository the path names, as the caller sees it (a private one they have no role on is 404)."""
        return self.state.visible_repository(f"{self.params['owner']}/{self.params['repo']}", self.user)

    def json_value(self) -> Any:
        """Any JSON value sent (None for an empty body), or 400 "Problems parsing JSON"."""
        if not self.request.body.strip():
            return None
        try:
            return json.loads(self.request.body)
        except (ValueError, UnicodeDecodeError) as error:
            raise BadRequest("Problems parsing JSON") from error

    def body(self) -> dict[str, Any]:
        """The JSON object sent, or GitHub's 400 answers."""
        value = self.json_value()
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise BadRequest("Body should be a JSON object")
        return value

    def field(self, body: dict[str, Any], name: str, kind: type, required: bool = True) -> Any:
        """A field of ``kind`` from ``body``; 422 "Invalid request" when missing or mistyped."""
        if name not in body or body[name] is None:
            if required:
                raise Unprocessable(f'Invalid request.\n\n"{name}" wasn\'t supplied.')
            return None
        value = body[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            shown = json.dumps(value)
            raise Unprocessable(
                f"Invalid request.\n\nFor 'properties/{name}', {shown} is not a {_KIND_NAMES.get(kind, kind.__name__)}."
            )
        return value


_KIND_NAMES: dict[type, str] = {str: "string", int: "integer", bool: "boolean", list: "array", dict: "object"}

Handler = Callable[[Call], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    handler: Handler
    #: Counts toward the secondary (content-generating) rate limit.
    content_creating: bool = False
    #: Counts toward the primary (hourly) rate limit; `GET /rate_limit` does not.
    counted: bool = True

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        found = re.fullmatch(self.pattern, path)
        return None if found is None else found.groupdict()


def match_route(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in routes:
        params = route.match(method, path)
        if params is not None:
            return route, params
    return None
