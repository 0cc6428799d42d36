"""Faults on demand: server errors, slow answers and dropped connections.

A ``Fault`` matches requests by method and path pattern, for a number of
requests (``count``) and/or a window on the fake clock (``start``/``end``).
``after=True`` applies the request first and then fails the answer, the case
where GitHub did the write but the client never heard (a write it must not
blindly repeat). Pure bookkeeping; ``app.py`` carries faults out.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["Fault", "FaultPlan", "FaultKind", "SERVER_ERROR_MESSAGES"]

FaultKind = Literal["status", "delay", "drop"]

#: Bodies GitHub sends with its server errors (it answers some with HTML; the fake keeps JSON).
SERVER_ERROR_MESSAGES = {
    500: "Server Error",
    502: "Server Error",
    503: "Service Unavailable",
    504: (
        "We couldn't respond to your request in time. Sorry about that. "
        "Please try resubmitting your request and contact us if the problem persists."
    ),
}


@dataclass
class Fault:
    kind: FaultKind
    status: int = 502
    delay: float = 0.0
    count: int | None = 1
    start: float | None = None
    end: float | None = None
    method: str | None = None
    path: str | None = None
    after: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("status", "delay", "drop"):
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if self.kind == "status" and self.status not in SERVER_ERROR_MESSAGES:
            raise ValueError(f"fault status must be one of {sorted(SERVER_ERROR_MESSAGES)}, not {self.status}")

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
