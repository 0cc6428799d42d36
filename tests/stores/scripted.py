"""A store that does what the test says: deliver everything, refuse everything, or raise; it counts its calls."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from receiver.contract.records import Record
from receiver.stores import Beat, Delivered, Outcome, Refused

__all__ = ["ScriptedStore"]


class ScriptedStore:
    """Raises `error` while one is set, else refuses every record when `refuse`, else delivers them at a fixed commit."""

    name = "scripted"

    def __init__(self, *, error: BaseException | None = None, refuse: bool = False) -> None:
        self.error = error
        self.refuse = refuse
        self.calls = 0
        self.called = threading.Event()

    def deliver(self, records: Sequence[Record], *, beat: Beat | None = None) -> list[Outcome]:
        self.calls += 1
        self.called.set()
        if self.error is not None:
            raise self.error
        if self.refuse:
            return [Refused(r.id, "the repository said no") for r in records]
        return [Delivered(r.id, r.path, "c" * 40, True) for r in records]

    def describe(self) -> dict[str, object]:
        return {}

    def pull_states(self, numbers: Sequence[int]) -> dict[int, str]:
        return {}

    def missing(self, records: Sequence[Record]) -> list[str]:
        return []

    def close(self) -> None:
        pass
