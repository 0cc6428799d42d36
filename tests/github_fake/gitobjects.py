"""Git objects as values, serialized and hashed exactly as git does.

A blob's id is ``sha1(b"blob <size>\\0" + data)``, the id ``git hash-object``
prints; trees and commits use git's own encodings (tree entries sorted with
directories compared as ``name/``, tree mode written ``40000``; commits as
``tree``/``parent``/``author``/``committer`` header lines, a blank line and
the message). See https://git-scm.com/book/en/v2/Git-Internals-Git-Objects.
Annotated tags and signatures are not modelled.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Blob",
    "Commit",
    "GitObject",
    "MODE_EXECUTABLE",
    "MODE_FILE",
    "MODE_SUBMODULE",
    "MODE_SYMLINK",
    "MODE_TREE",
    "ObjectStore",
    "Signature",
    "Tree",
    "TreeEntry",
    "entry_type",
    "object_id",
    "object_type",
    "serialize",
]

# Modes as the REST API spells them (git writes the tree mode as "40000").
MODE_FILE = "100644"
MODE_EXECUTABLE = "100755"
MODE_SYMLINK = "120000"
MODE_SUBMODULE = "160000"
MODE_TREE = "040000"

ObjectType = Literal["blob", "tree", "commit"]


@dataclass(frozen=True)
class Blob:
    data: bytes


@dataclass(frozen=True)
class TreeEntry:
    name: str
    mode: str
    sha: str


@dataclass(frozen=True)
class Tree:
    entries: tuple[TreeEntry, ...]

    @staticmethod
    def of(entries: list[TreeEntry]) -> Tree:
        """A tree with its entries in git's order (directories sort as ``name/``)."""
        return Tree(tuple(sorted(entries, key=_sort_key)))


@dataclass(frozen=True)
class Signature:
    name: str
    email: str
    timestamp: int
    offset_minutes: int = 0

    def encode(self) -> str:
        sign = "-" if self.offset_minutes < 0 else "+"
        hours, minutes = divmod(abs(self.offset_minutes), 60)
        return f"{self.name} <{self.email}> {self.timestamp} {sign}{hours:02d}{minutes:02d}"


@dataclass(frozen=True)
class Commit:
    tree: str
    parents: tuple[str, ...]
    author: Signature
    committer: Signature
    message: str


GitObject = Blob | Tree | Commit


def entry_type(mode: str) -> ObjectType:
    """The type of object a tree entry with ``mode`` points at."""
    if mode == MODE_TREE:
        return "tree"
    if mode == MODE_SUBMODULE:
        return "commit"
    return "blob"


def _sort_key(entry: TreeEntry) -> bytes:
    suffix = b"/" if entry.mode == MODE_TREE else b""
    return entry.name.encode() + suffix


def object_type(obj: GitObject) -> ObjectType:
    if isinstance(obj, Blob):
        return "blob"
    if isinstance(obj, Tree):
        return "tree"
    return "commit"


def _body(obj: GitObject) -> bytes:
    if isinstance(obj, Blob):
        return obj.data
    if isinstance(obj, Tree):
        parts = []
        for entry in obj.entries:
            mode = entry.mode.lstrip("0")
            parts.append(f"{mode} {entry.name}".encode() + b"\0" + bytes.fromhex(entry.sha))
        return b"".join(parts)
    lines = [f"tree {obj.tree}"]
    lines += [f"parent {parent}" for parent in obj.parents]
    lines.append(f"author {obj.author.encode()}")
    lines.append(f"committer {obj.committer.encode()}")
    return ("\n".join(lines) + "\n\n" + obj.message).encode()


def serialize(obj: GitObject) -> bytes:
    """The object as git stores it (before zlib): ``<type> <size>\\0<body>``."""
    body = _body(obj)
    return f"{object_type(obj)} {len(body)}".encode() + b"\0" + body


def object_id(obj: GitObject) -> str:
    """The object's git id (hex SHA-1 of its serialization)."""
    return hashlib.sha1(serialize(obj), usedforsecurity=False).hexdigest()


class ObjectStore:
    """Content-addressed storage of git objects, shared by a repository network."""

    def __init__(self) -> None:
        self._objects: dict[str, GitObject] = {}
        self._lock = threading.Lock()

    def put(self, obj: GitObject) -> str:
        sha = object_id(obj)
        with self._lock:
            self._objects.setdefault(sha, obj)
        return sha

    def get(self, sha: str) -> GitObject | None:
        with self._lock:
            return self._objects.get(sha.lower())

    def __contains__(self, sha: object) -> bool:
        return isinstance(sha, str) and self.get(sha) is not None

    def items(self) -> list[tuple[str, GitObject]]:
        with self._lock:
            return list(self._objects.items())

    def blob(self, sha: str) -> Blob | None:
        obj = self.get(sha)
        return obj if isinstance(obj, Blob) else None

    def tree(self, sha: str) -> Tree | None:
        obj = self.get(sha)
        return obj if isinstance(obj, Tree) else None

    def commit(self, sha: str) -> Commit | None:
        obj = self.get(sha)
        return obj if isinstance(obj, Commit) else None
