"""Every request to GitHub goes through `PacedCalls`: paced, translated, and read before it is believed.

Waiting is decided here over the injected clock and sleep: writes are spaced
and budgeted by `pacing.Pacer`, `retry-after` and an exhausted primary limit
block every request, and a wait longer than `MAX_INLINE_WAIT` is handed back
as `StoreRateLimited` so the delivery worker waits and `/health` says why.
While a delivery runs, its `beat` is called before every request and every
slice of a wait (`pacing.paced_sleep`), so the worker keeps reporting however
many paced requests one batch takes.

An answer is believed only once the values the store needs were read from
it: `action` reads them (a SHA, a number) and anything PyGithub raises while
reading a body it could not parse becomes "unreadable, retry later".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

import requests
from github import BadAttributeException, Github, GithubException

from receiver.stores.errors import StoreError, StoreRateLimited
from receiver.stores.github.answers import translate, unreachable, unreadable
from receiver.stores.pacing import Beat, Pacer, paced_sleep

__all__ = ["PacedCalls", "MAX_INLINE_WAIT", "sha"]

T = TypeVar("T")

#: The longest pause slept here; anything longer is handed to the worker.
MAX_INLINE_WAIT = 5.0

_SHA = re.compile(r"[0-9a-f]{40}")

# What PyGithub raises when a body is not what its model expects (HTML, cut-off JSON, a missing field).
_UNREADABLE = (BadAttributeException, KeyError, TypeError, AttributeError, ValueError, IndexError)


def sha(value: object) -> str:
    """`value` if it is a full git object id, else the answer is unreadable."""
    if isinstance(value, str) and _SHA.fullmatch(value):
        return value
    raise ValueError("not a git object id")


class PacedCalls:
    """Sends one request at a time when the pacer allows, and turns whatever comes back into a value or a StoreError."""

    def __init__(self, github: Github, pacer: Pacer, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self.github = github
        self.pacer = pacer
        self.clock = clock
        self.sleep = sleep
        self.sent = 0
        self.writes = 0
        #: Called before each request and each slice of a wait; the store sets it for the length of one delivery.
        self.beat: Beat | None = None

    def __call__(self, what: str, action: Callable[[], T], *, write: bool) -> T:
        wait = self.pacer.delay(self.clock(), write=write)
        if wait > MAX_INLINE_WAIT:
            raise StoreRateLimited(f"pacing GitHub requests: next one allowed in {wait:.0f} s", retry_after=wait)
        if wait > 0:
            paced_sleep(wait, self.sleep, self.beat)
        if self.beat is not None:
            self.beat()
        if write:
            self.pacer.sent(self.clock())
            self.writes += 1
        self.sent += 1
        try:
            result = action()
        except GithubException as exc:
            error = translate(exc, self.clock())
            if isinstance(error, StoreRateLimited) and error.retry_after is not None:
                self.pacer.block(self.clock() + error.retry_after)
            raise error from exc
        except requests.exceptions.RequestException as exc:
            raise unreachable(exc.__class__.__name__) from exc
        except _UNREADABLE as exc:
            raise unreadable(what) from exc
        self._note_primary_limit()
        return result

    def absent_on_404(self, what: str, action: Callable[[], T]) -> T | None:
        """A read whose 404 means "not there" (a branch, a file): None instead of an error."""
        try:
            return self(what, action, write=False)
        except StoreError as exc:
            if exc.answer is not None and exc.answer.status == 404:
                return None
            raise

    def _note_primary_limit(self) -> None:
        remaining, _ = self.github.rate_limiting
        if remaining == 0:
            self.pacer.block(float(self.github.rate_limiting_resettime))
