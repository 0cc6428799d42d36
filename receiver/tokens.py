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

__all__ = ["TokenBook", "TokenError", "NAME_PATTERN"]

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
            return cls(tuple((t["name"], t["sha256"]) for t in document["tokens"]))
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
    if any(t["name"] == name for t in document["tokens"]):
        raise TokenError(f"a token named {name!r} exists; remove it first with `receiver tokens remove {name}`")
    token = _PREFIX + secrets.token_urlsafe(32)
    created = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    document["tokens"].append({"name": name, "sha256": _digest(token), "created_at": created})
    _write(path, document)
    return token


def remove_token(path: Path, name: str) -> bool:
    document = _read(path)
    kept = [t for t in document["tokens"] if t["name"] != name]
    if len(kept) == len(document["tokens"]):
        return False
    document["tokens"] = kept
    _write(path, document)
    return True


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
