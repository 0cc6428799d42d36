"""Adoption by content: given what a store holds for a record, the one next step towards delivering it.

Every store (local git, GitHub) delivers a record by observing, asking
`next_step`, acting, and asking again, so a retry after a crash at any point
picks up where the last attempt stopped. "Already there" is decided here and
only here, by comparing git blob ids: the id of the record's bytes, computed
locally, against the blob at the record's path. An error from the store is
never read as "already there"; at most it makes the store look again.

This module does no I/O.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

__all__ = ["blob_id", "PullSeen", "Observation", "Step", "next_step"]


def blob_id(content: bytes) -> str:
    """The git blob id of `content` (SHA-1 over git's object header and the bytes), as any git host names it."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class PullSeen:
    """A pull request whose head is the record's branch."""

    number: int
    url: str
    state: str  # "open" or "closed"
    merged: bool
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Observation:
    """What the store holds for one record; None means absent."""

    branch_tip: str | None = None
    on_branch: str | None = None
    on_default: str | None = None
    pull: PullSeen | None = None


StepKind = Literal["create-branch", "put-file", "open-pull", "label-pull", "done-merged", "done-open", "refused"]


@dataclass(frozen=True)
class Step:
    kind: StepKind
    reason: str = ""

    @property
    def done(self) -> bool:
        return self.kind in ("done-merged", "done-open")


def next_step(expected: str, seen: Observation, *, label: str | None = None) -> Step:
    """The next step for a record whose bytes have blob id `expected`, given what was observed.

    With `label`, an open pull request is done only once it carries that label
    (moderation: the gate never merges a labelled PR, so the label comes before "done").
    """
    if seen.on_default == expected:
        return Step("done-merged")
    if seen.on_default is not None:
        return Step("refused", f"a different file is already at the record's path on the default branch (blob {seen.on_default[:12]})")
    if seen.pull is not None and seen.pull.merged:
        return Step("refused", f"pull request #{seen.pull.number} was merged, but the file is no longer on the default branch")
    if seen.pull is not None and seen.pull.state != "open":
        return Step("refused", f"pull request #{seen.pull.number} was closed without merging")
    if seen.branch_tip is None:
        return Step("create-branch")
    if seen.on_branch is None:
        return Step("put-file")
    if seen.on_branch != expected:
        return Step("refused", f"the record's branch holds a different file at its path (blob {seen.on_branch[:12]})")
    if seen.pull is None:
        return Step("open-pull")
    if label is not None and label not in seen.pull.labels:
        return Step("label-pull")
    return Step("done-open")
