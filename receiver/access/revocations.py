"""Token revocations in the PostgreSQL journal's database, so a token revoked on one machine is refused by every receiver.

Each machine keeps its own tokens file (receiver.access.tokens); with a PostgreSQL
journal, `receiver tokens revoke NAME` also writes the token's hash to the
`revoked_tokens` table, and every receiver on the database reads that table
again at most every few seconds. A receiver that cannot read it says it
cannot check tokens (503, nothing saved) rather than let a revoked token pass.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

import psycopg

from receiver.access.tokens import TokenError
from receiver.journal.postgres import lock_key, lock_secret, set_lock_timeout

__all__ = ["SharedRevocations", "REFRESH_SECONDS"]

#: How stale a receiver's copy of the revocations may be: a revoked token stops passing within this.
REFRESH_SECONDS = 2.0

_SCHEMA = "CREATE TABLE IF NOT EXISTS revoked_tokens (sha256 TEXT PRIMARY KEY, name TEXT NOT NULL, revoked_at TEXT NOT NULL)"
#: Serialises the table's creation when several receivers start at once (the name of an advisory lock keyed by the deployment's secret).
_SCHEMA_LOCK = "revocations schema"


class SharedRevocations:
    """The revoked token hashes of every receiver on one PostgreSQL journal, as this process last read them."""

    def __init__(self, url: str, *, every: float = REFRESH_SECONDS, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.every = every
        self._monotonic = monotonic
        self._revoked: frozenset[str] = frozenset()
        self._read_at: float | None = None
        self._lock = threading.Lock()

    def revoked(self) -> frozenset[str]:
        """The hashes revoked anywhere; TokenError when the database cannot tell."""
        with self._lock:
            now = self._monotonic()
            if self._read_at is None or not 0.0 <= now - self._read_at < self.every:
                try:
                    with self._connect() as connection:
                        self._revoked = frozenset(row[0] for row in connection.execute("SELECT sha256 FROM revoked_tokens"))
                except psycopg.Error as exc:
                    self._read_at = None
                    raise TokenError(f"the revoked tokens cannot be read from the PostgreSQL journal ({exc.__class__.__name__})") from exc
                self._read_at = now
            return self._revoked

    def revoke(self, entries: Iterable[tuple[str, str]], *, now: datetime | None = None) -> None:
        """Record (name, sha256) pairs as revoked for every receiver on the database."""
        stamp = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
        try:
            with self._connect() as connection, connection.transaction():
                for name, digest in entries:
                    connection.execute(
                        "INSERT INTO revoked_tokens (sha256, name, revoked_at) VALUES (%s, %s, %s) ON CONFLICT (sha256) DO NOTHING",
                        (digest, name, stamp),
                    )
        except psycopg.Error as exc:
            raise TokenError(f"the revocation could not be written to the PostgreSQL journal ({exc.__class__.__name__}); run it again") from exc
        with self._lock:
            self._read_at = None

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        connection = psycopg.connect(self.url, autocommit=True, connect_timeout=5, application_name="receiver tokens")
        try:
            # A lock wait ends with an error (a 503 saying tokens cannot be checked), never a hang.
            set_lock_timeout(connection)
            with connection.transaction():
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(lock_secret(connection), _SCHEMA_LOCK),))
                connection.execute(_SCHEMA)
        except BaseException:
            connection.close()
            raise
        return connection
