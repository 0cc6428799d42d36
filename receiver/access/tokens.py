"""Named bearer tokens for trusted labeling tools: stored only as SHA-256 hashes, compared in constant time.

Tokens are 256-bit random strings, so a plain SHA-256 is enough to make a
leaked tokens file useless (no password-style stretching is needed). The
file is JSON: `{"tokens": [{"name": ..., "sha256": ..., "created_at": ...}]}`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

__all__ = ["TokenBook", "TokenError", "TokenWatch", "NAME_PATTERN", "add_token", "in_force", "remove_token", "revoke_token"]

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_PREFIX = "rcv_"


class TokenError(ValueError):
    """A token file or name that cannot be used."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TokenBook:
    """The named token hashes a receiver accepts."""

    hashes: tuple[tuple[str, str], ...] = ()

    @classmethod
    def load(cls, path: Path | None) -> TokenBook:
        if path is None or not path.exists():
            return cls()
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            return cls(tuple((t["name"], t["sha256"]) for t in document["tokens"] if not t.get("revoked_at")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise TokenError(f"the tokens file {path.name} cannot be read; recreate it with `receiver tokens add`") from exc

    def lookup(self, token: str) -> str | None:
        """The name of the token's owner, or None; every stored hash is compared, in constant time."""
        presented = _digest(token)
        owner = None
        for name, stored in self.hashes:
            if hmac.compare_digest(presented, stored):
                owner = name
        return owner

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.hashes]


def add_token(path: Path, name: str, *, now: datetime | None = None) -> str:
    """Create a token for `name`, store its hash in `path`, and return the token (shown once)."""
    if not NAME_PATTERN.match(name):
        raise TokenError(f"{name!r} is not a usable name: use letters, digits, '.', '_' or '-' (at most 64)")
    document = _read(path)
    if any(t["name"] == name and not t.get("revoked_at") for t in document["tokens"]):
        raise TokenError(f"a token named {name!r} exists; remove it first with `receiver tokens remove {name}`")
    token = _PREFIX + secrets.token_urlsafe(32)
    created = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    document["tokens"].append({"name": name, "sha256": _digest(token), "created_at": created})
    _write(path, document)
    return token


def in_force(path: Path, name: str) -> list[tuple[str, str]]:
    """The (name, sha256) of `name`'s tokens that are not revoked."""
    return [(t["name"], t["sha256"]) for t in _read(path)["tokens"] if t["name"] == name and not t.get("revoked_at")]


def revoke_token(path: Path, name: str, *, now: datetime | None = None) -> bool:
    """Refuse `name`'s token from now on (every process, no restart); False if it has no token in force."""
    document = _read(path)
    revoked = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    found = False
    for entry in document["tokens"]:
        if entry["name"] == name and not entry.get("revoked_at"):
            entry["revoked_at"] = revoked
            found = True
    if found:
        _write(path, document)
    return found


def describe(path: Path) -> list[str]:
    """One line per token in the file: its name, and when it was revoked if it was."""
    return [t["name"] + (f" (revoked {t['revoked_at']})" if t.get("revoked_at") else "") for t in _read(path)["tokens"]]


def remove_token(path: Path, name: str) -> bool:
    document = _read(path)
    kept = [t for t in document["tokens"] if t["name"] != name]
    if len(kept) == len(document["tokens"]):
        return False
    document["tokens"] = kept
    _write(path, document)
    return True


class Revocations(Protocol):
    """Token hashes revoked beyond this machine's file (receiver.access.revocations, with a PostgreSQL journal)."""

    def revoked(self) -> frozenset[str]: ...


class TokenWatch:
    """The tokens file as it is on disk now: one `stat` per lookup, read again only when the file changed.

    With `revocations`, a token revoked on another machine is refused here too.
    """

    def __init__(self, path: Path | None, *, revocations: Revocations | None = None) -> None:
        self.path = path
        self.revocations = revocations
        self._seen: tuple[int, int, int, int] | None = None
        self._book = TokenBook()
        self.current()

    def current(self) -> TokenBook:
        """The tokens in force; TokenError if the file changed into something unreadable."""
        if self.path is None:
            return self._book
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            self._seen, self._book = None, TokenBook()
            return self._book
        identity = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
        if identity != self._seen:
            # Forget the old book first: if the new file cannot be read, no token passes on the old one.
            self._seen, self._book = None, TokenBook()
            self._book = TokenBook.load(self.path)
            self._seen = identity
        return self._book

    def lookup(self, token: str) -> str | None:
        """The owner of a token in force; TokenError if that cannot be told right now."""
        owner = self.current().lookup(token)
        if owner is not None and self.revocations is not None and _digest(token) in self.revocations.revoked():
            return None
        return owner


def _read(path: Path) -> dict[str, list[dict[str, str]]]:
    if not path.exists():
        return {"tokens": []}
    TokenBook.load(path)
    document: dict[str, list[dict[str, str]]] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _write(path: Path, document: dict[str, list[dict[str, str]]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
