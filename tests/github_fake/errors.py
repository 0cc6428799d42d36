"""The errors the fake's model raises, each carrying GitHub's answer for it.

The model (``state.py``) raises these; the dispatcher (``app.py``) turns one
into a response with GitHub's JSON body (``message``, ``documentation_url``,
and ``errors`` for validation failures). Anything else escaping a handler is
a bug in the fake and is re-raised, never dressed up as a GitHub answer::

    ApiError
    ├── BadRequest          400 (e.g. "Problems parsing JSON")
    ├── Unauthorized        401 ("Bad credentials", "Requires authentication")
    ├── Forbidden           403 (rate limits, both kinds)
    ├── NotFound            404 ("Not Found", also for unmodelled routes)
    ├── MethodNotAllowed    405 ("Pull Request is not mergeable")
    ├── Conflict            409 ("Head branch was modified. ...")
    ├── Unprocessable       422 ("Reference already exists", "Validation Failed", ...)
    ├── ServerError         5xx (any 5xx, with its own status)
    ├── InjectedError       any 4xx or 5xx a ``status`` fault plays
    └── Unmodelled          501 (a known route asked for something the fake does not model)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "ApiError",
    "BadRequest",
    "Conflict",
    "DOCS",
    "Forbidden",
    "InjectedError",
    "MethodNotAllowed",
    "NotFound",
    "ServerError",
    "Unauthorized",
    "Unmodelled",
    "Unprocessable",
    "validation_failed",
]

#: GitHub's documentation root, the prefix of every ``documentation_url``.
DOCS = "https://docs.github.com/rest"


class ApiError(Exception):
    """An answer other than success: status, GitHub's message and extra body fields."""

    status = 500

    def __init__(
        self,
        message: str,
        *,
        documentation_url: str = DOCS,
        errors: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.documentation_url = documentation_url
        self.errors = errors
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        body["documentation_url"] = self.documentation_url
        body.update(self.extra)
        return body


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404

    def __init__(self, message: str = "Not Found", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)


class MethodNotAllowed(ApiError):
    status = 405


class Conflict(ApiError):
    status = 409


class Unprocessable(ApiError):
    status = 422


class ServerError(ApiError):
    def __init__(self, status: int, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.status = status


class InjectedError(ApiError):
    """An error a fault asked for: any 4xx or 5xx status, message, ``errors`` and headers as given."""

    def __init__(self, status: int, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.status = status


class Unmodelled(ApiError):
    status = 501


def validation_failed(*errors: dict[str, Any], documentation_url: str = DOCS) -> Unprocessable:
    """GitHub's 422 "Validation Failed" with its ``errors`` list."""
    return Unprocessable("Validation Failed", errors=list(errors), documentation_url=documentation_url)
