"""A record: a validated submission with its receipt, and the identity derived from it.

A record's id is a pure function of the submission and the submitter, so a
re-post, a retry or a restart always lands on the same id, the same file path
and the same branch name: that is what makes delivery idempotent. Paths are
sharded by video, then by id, so no folder passes 1,000 entries (the most
GitHub's UI and contents API list), however many labels one video collects.

Two layouts exist. Records stored now sit three folders deep below their
video's folder, named by the id's first, next two and fourth characters
(`record_path`): 16, 256 and 16 entries at most, then the files, about one in
65,536 of the video's records, so a batch rewrites a bounded amount of tree
whatever is stored, and few trees (the wide middle level is touched by a batch
only 16 times). Records stored before sit in one of 256 two-character folders
(`legacy_record_path`), which grow with the video; they stay where they are,
and every reader accepts both (`record_paths`). This module decides names; it
does no I/O.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from typing import Any

import orjson

__all__ = [
    "ANNOTATIONS_DIR",
    "BRANCH_PREFIX",
    "ANONYMOUS",
    "Record",
    "canonical",
    "canonical_json",
    "record_id",
    "is_record_id",
    "record_path",
    "legacy_record_path",
    "record_paths",
    "path_layout",
    "branch_name",
    "batch_branch_name",
    "video_key",
    "format_time",
]

ANNOTATIONS_DIR = "annotations"
BRANCH_PREFIX = "annotations/"
ANONYMOUS = "anonymous"


def canonical(value: Any) -> Any:
    """The value with integral floats written as integers, so 30 and 30.0 are one submission."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        # Most values are strings, ints and bools: leave them without a call.
        return {key: item if isinstance(item, (str, int)) else canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return [item if isinstance(item, (str, int)) else canonical(item) for item in value]
    return value


def canonical_json(value: Any) -> bytes:
    """Compact, key-sorted UTF-8 JSON: the same bytes for the same value on any run or Python."""
    return _sorted_json(canonical(value))


def _sorted_json(value: Any) -> bytes:
    # The definition is the standard library's encoding; orjson writes the same
    # bytes (tests/contract/test_records.py compares them) except for floats under 1e-4,
    # which it may write without an exponent, and integers past 64 bits, which
    # it refuses. Its output shows either: then the standard library decides.
    try:
        encoded = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        encoded = b"e-"
    if b"e-" in encoded or b"0.0000" in encoded:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return text.encode("utf-8")
    return encoded


def is_record_id(text: str) -> bool:
    """Whether `text` has the shape of a record id (so a lookup is worth making)."""
    return len(text) == 32 and all(c in "0123456789abcdef" for c in text)


def record_id(submission: Any, submitter: str) -> str:
    """128 bits of SHA-256 over the canonical submission and submitter."""
    return _canonical_id(canonical(submission), submitter)


def _canonical_id(body: Any, submitter: str) -> str:
    return hashlib.sha256(_sorted_json({"submission": body, "submitter": submitter})).hexdigest()[:32]


@functools.lru_cache(maxsize=4096)
def video_key(video_url: str) -> str:
    """A short, path-safe stand-in for a video URL (a campaign has few videos and many records of each)."""
    return hashlib.sha256(video_url.encode("utf-8")).hexdigest()[:16]


def record_path(identifier: str, video_url: str) -> str:
    """Where a record is stored from now on: its video's folder, then folders named by the id's first, next two and fourth characters."""
    key = video_key(video_url)
    return f"{ANNOTATIONS_DIR}/{key[:2]}/{key}/{identifier[0]}/{identifier[1:3]}/{identifier[3]}/{identifier}.json"


def legacy_record_path(identifier: str, video_url: str) -> str:
    """Where a record stored before the deeper layout lives: its video's folder, then the id's first two characters."""
    key = video_key(video_url)
    return f"{ANNOTATIONS_DIR}/{key[:2]}/{key}/{identifier[:2]}/{identifier}.json"


def record_paths(identifier: str, video_url: str) -> tuple[str, str]:
    """Every path the record may be stored at: where it is written now first, then the earlier layout's."""
    return record_path(identifier, video_url), legacy_record_path(identifier, video_url)


def path_layout(path: str) -> str | None:
    """Which layout a stored record's path (from `annotations/` on) follows: "sharded-3" (now), "sharded-2" (before), or None."""
    parts = path.split("/")
    if len(parts) == 7 and [len(part) for part in parts[3:6]] == [1, 2, 1]:
        return "sharded-3"
    if len(parts) == 5 and len(parts[3]) == 2:
        return "sharded-2"
    return None


def branch_name(identifier: str) -> str:
    """The head branch of the record's pull request."""
    return f"{BRANCH_PREFIX}{identifier}"


def batch_branch_name(identifiers: list[str] | tuple[str, ...]) -> str:
    """The head branch of a batch pull request: the same records always name the same branch."""
    digest = hashlib.sha256("\n".join(sorted(identifiers)).encode()).hexdigest()[:16]
    return f"{BRANCH_PREFIX}batch-{digest}"


def format_time(moment: datetime) -> str:
    """UTC, millisecond precision, with a Z: how receipts write time."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Record:
    """A validated submission plus the receiver's receipt."""

    id: str
    submission: dict[str, Any]
    submitter: str
    received_at: str
    receiver_version: str
    #: The pseudonym of the volunteer session that sent it, when one did.
    volunteer: str | None = None
    #: With a session: whether the frame was leased to it (only then does the label count toward retirement).
    assigned: bool | None = None

    @classmethod
    def create(
        cls,
        submission: dict[str, Any],
        *,
        submitter: str,
        received_at: datetime,
        receiver_version: str,
        volunteer: str | None = None,
        assigned: bool = False,
    ) -> Record:
        """Build the record of a submission that already passed validation."""
        body = canonical(submission)
        return cls(
            id=_canonical_id(body, submitter),
            submission=body,
            submitter=submitter,
            received_at=format_time(received_at),
            receiver_version=receiver_version,
            volunteer=volunteer,
            assigned=None if volunteer is None else assigned,
        )

    @classmethod
    def from_stored(cls, data: bytes) -> Record:
        """Read back a record's stored bytes, keeping them as its serialisation (no re-encoding)."""
        record = cls.from_document(orjson.loads(data))
        record.__dict__["_encoded"] = data
        return record

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Record:
        """Read back a stored record (validate it first: this trusts its shape)."""
        receipt = document["receipt"]
        return cls(
            id=receipt["id"],
            submission=document["submission"],
            submitter=receipt["submitter"],
            received_at=receipt["received_at"],
            receiver_version=receipt["receiver_version"],
            volunteer=receipt.get("volunteer"),
            assigned=receipt.get("assigned"),
        )

    @cached_property
    def path(self) -> str:
        """Where the record is written (the current layout)."""
        return record_path(self.id, self.submission["video_url"])

    @cached_property
    def legacy_path(self) -> str:
        """Where it would be had it been stored before the current layout: looked at too, so a re-post is never stored twice."""
        return legacy_record_path(self.id, self.submission["video_url"])

    @property
    def branch(self) -> str:
        return branch_name(self.id)

    def document(self) -> dict[str, Any]:
        receipt: dict[str, Any] = {
            "id": self.id,
            "received_at": self.received_at,
            "submitter": self.submitter,
            "receiver_version": self.receiver_version,
        }
        if self.volunteer is not None:
            receipt["volunteer"] = self.volunteer
            receipt["assigned"] = bool(self.assigned)
        return {"receipt": receipt, "submission": self.submission}

    def to_bytes(self) -> bytes:
        """The stored file: indented and key-sorted so a PR diff reads line by line."""
        return self._encoded

    @cached_property
    def _encoded(self) -> bytes:
        # Encoded once per record: the journal, the store and the PR all need these bytes.
        return orjson.dumps(self.document(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)

