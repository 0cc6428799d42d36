"""Faults on demand: any error GitHub answers, unreadable answers, slow answers and dropped connections.

A ``Fault`` matches requests by method and path pattern, for a number of
requests (``count``) and/or a window on the fake clock (``start``/``end``).
Its ``kind`` says what the matched request gets:

``status``
    Any 4xx or 5xx ``status`` (default 502) with GitHub's JSON error body:
    ``message`` (default: GitHub's usual one for the status, see
    ``default_message``), ``errors`` when given (GitHub's list of
    ``{"resource", "code", "field", "message"}`` objects) and
    ``documentation_url``. ``headers`` adds response headers, e.g.
    ``{"retry-after": "60"}`` on a 403 or 429.
``body``
    ``status`` (default 200) with the raw text ``body`` as
    ``content_type`` (default ``text/html; charset=utf-8``): an answer the
    client cannot read, e.g. ``"<html>unicorn</html>"`` or ``'{"sha": 1'``.
    ``headers`` applies here too.
``delay``
    Sleeps ``delay`` seconds (the fake's injected sleep), then answers normally.
``drop``
    Closes the connection without answering.

``after=True`` applies the request first and then plays the fault's answer
(``status``, ``body`` or ``drop``), the case where GitHub did the write but
the client never heard (a write it must not blindly repeat). A field that
does not apply to the kind is refused when the fault is made, as is a status
outside the kind's range, so a misspelt fault fails at once rather than
silently later. Pure bookkeeping; ``app.py`` carries faults out.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from http import HTTPStatus
from typing import Any, Literal

__all__ = [
    "BODY_CONTENT_TYPE",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "GITHUB_ERROR_MESSAGES",
    "SERVER_ERROR_MESSAGES",
    "default_message",
]

FaultKind = Literal["status", "body", "delay", "drop"]
_KINDS = ("status", "body", "delay", "drop")

#: Bodies GitHub sends with its server errors (it answers some with HTML; a ``status`` fault keeps JSON).
SERVER_ERROR_MESSAGES = {
    500: "Server Error",
    502: "Server Error",
    503: "Service Unavailable",
    504: (
        "We couldn't respond to your request in time. Sorry about that. "
        "Please try resubmitting your request and contact us if the problem persists."
    ),
}

#: Where GitHub's usual message differs from the HTTP reason phrase.
GITHUB_ERROR_MESSAGES = {
    400: "Problems parsing JSON",
    401: "Bad credentials",
    422: "Validation Failed",
    **SERVER_ERROR_MESSAGES,
}

#: What a ``body`` fault's answer claims to be unless told otherwise (GitHub's HTML error pages).
BODY_CONTENT_TYPE = "text/html; charset=utf-8"

#: Fields only some kinds use, and the kinds that use them.
_FIELD_KINDS: dict[str, tuple[str, ...]] = {
    "status": ("status", "body"),
    "message": ("status",),
    "errors": ("status",),
    "documentation_url": ("status",),
    "headers": ("status", "body"),
    "body": ("body",),
    "content_type": ("body",),
}


def default_message(status: int) -> str:
    """GitHub's usual ``message`` for an error status ("Not Found", "Validation Failed", ...)."""
    if status in GITHUB_ERROR_MESSAGES:
        return GITHUB_ERROR_MESSAGES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Client Error" if status < 500 else "Server Error"


@dataclass
class Fault:
    kind: FaultKind
    #: ``status``: 400-599, default 502; ``body``: 200-599, default 200.
    status: int | None = None
    delay: float = 0.0
    count: int | None = 1
    start: float | None = None
    end: float | None = None
    method: str | None = None
    path: str | None = None
    after: bool = False
    #: ``status`` only: the body's ``message``; None means ``default_message(status)``.
    message: str | None = None
    #: ``status`` only: GitHub's ``errors`` list, left out of the body when None.
    errors: list[dict[str, Any]] | None = None
    #: ``status`` only: the body's ``documentation_url``; None means the docs root.
    documentation_url: str | None = None
    #: ``status`` and ``body``: extra response headers (names are lower-cased).
    headers: dict[str, str] | None = None
    #: ``body`` only: the raw text answered; None means an empty answer.
    body: str | None = None
    #: ``body`` only: the answer's Content-Type; None means ``BODY_CONTENT_TYPE``.
    content_type: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")
        for name, kinds in _FIELD_KINDS.items():
            if getattr(self, name) is not None and self.kind not in kinds:
                raise ValueError(f"a {self.kind} fault takes no {name!r} (only {' and '.join(kinds)} faults do)")
        if self.kind == "status":
            self.status = _checked_status(self.status, 502, 400, "a status fault answers 4xx or 5xx")
        elif self.kind == "body":
            self.status = _checked_status(self.status, 200, 200, "a body fault answers 2xx to 5xx")
        if self.errors is not None and not (
            isinstance(self.errors, list) and all(isinstance(error, dict) for error in self.errors)
        ):
            raise ValueError(f"fault errors must be a list of objects, not {self.errors!r}")
        if self.headers is not None:
            if not isinstance(self.headers, dict) or not all(
                isinstance(name, str) and isinstance(value, str) for name, value in self.headers.items()
            ):
                raise ValueError(f"fault headers must map names to string values, not {self.headers!r}")
            self.headers = {name.lower(): value for name, value in self.headers.items()}

    def matches(self, method: str, path: str, now: float) -> bool:
        if self.count is not None and self.count <= 0:
            return False
        if self.start is not None and now < self.start:
            return False
        if self.end is not None and now >= self.end:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or re.search(self.path, path) is not None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _checked_status(status: int | None, default: int, lowest: int, rule: str) -> int:
    """``status`` (or ``default``) if it is an int in ``lowest``..599, else a ValueError stating ``rule``."""
    if status is None:
        return default
    if type(status) is not int or not lowest <= status <= 599:
        raise ValueError(f"{rule} ({lowest}-599), not {status!r}")
    return status


class FaultPlan:
    """The faults waiting to happen, first match wins."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        self._faults.clear()

    def pending(self) -> list[Fault]:
        return list(self._faults)

    def take(self, method: str, path: str, now: float) -> Fault | None:
        """The fault for this request, counting it down; spent faults are dropped."""
        for fault in self._faults:
            if fault.matches(method, path, now):
                if fault.count is not None:
                    fault.count -= 1
                self._faults = [f for f in self._faults if f.count is None or f.count > 0]
                return fault
        return None
