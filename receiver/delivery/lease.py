"""Which receiver process delivers: one per store, elected by a lock its holder loses when it dies.

`DeliveryLease` is an exclusive `flock` on a file beside the SQLite journal
(processes on one machine); `PostgresLease` is a PostgreSQL advisory lock
held on a session of its own (processes on several machines sharing a
PostgreSQL journal), whose key is drawn from the deployment's secret
(`receiver.journal.postgres.lock_key`), so a role that may only connect
cannot take it and have delivery reported dead. Both answer to `Lease`: `try_acquire` at each step of
the delivery loop, `held`, `release`, and `holder`, the name (host and pid)
the deliverer publishes so every receiver's /health can show who delivers.
`delivery_lease` chooses the one that fits where the journal is.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from receiver.journal.engines import JournalLocation

if TYPE_CHECKING:
    import psycopg

__all__ = ["Lease", "LeaseSite", "DeliveryLease", "PostgresLease", "delivery_lease", "holder_name", "lease_name"]

log = logging.getLogger("receiver.lease")


def holder_name() -> str:
    """This process as other receivers should read it: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Lease(Protocol):
    holder: str

    @property
    def held(self) -> bool: ...

    def try_acquire(self) -> bool:
        """True when this process delivers (now, or already); never raises for a lock it cannot take."""
        ...

    def release(self) -> None: ...


class DeliveryLease:
    """An exclusive `flock` on a file beside the journal.

    The operating system releases the lock when its holder dies, however it
    dies, so another process takes over at its next try.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.holder = holder_name()
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def lease_name(store: str) -> str:
    """The name the delivery lease's key is drawn from: one election per store."""
    return f"delivery {store}"


class PostgresLease:
    """`pg_try_advisory_lock` on a dedicated session.

    PostgreSQL releases a session's advisory locks when the session ends,
    however its process dies (or its network goes), so another receiver takes
    over at its next try. While held, each try checks the session is still
    alive: a holder whose session was cut stops delivering rather than
    deliver beside the one that took over.
    """

    def __init__(self, url: str, *, store: str = "default") -> None:
        self.url = url
        self.name = lease_name(store)
        self.holder = holder_name()
        self._session: psycopg.Connection[Any] | None = None

    @property
    def held(self) -> bool:
        return self._session is not None

    def try_acquire(self) -> bool:
        import psycopg

        from receiver.journal.connector import JournalUnavailable
        from receiver.journal.postgres import lock_key, lock_secret, set_lock_timeout

        try:
            if self._session is not None:
                self._session.execute("SELECT 1")
                return True
            session = psycopg.connect(self.url, autocommit=True, connect_timeout=5, application_name=f"receiver deliverer {self.holder}")
        except psycopg.Error as exc:
            if self._session is not None:
                log.warning("the delivery lease's session was lost (%s); delivery stops until it is won again", exc.__class__.__name__)
            self._drop()
            return False
        try:
            set_lock_timeout(session)
            row = session.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(lock_secret(session), self.name),)).fetchone()
        except (psycopg.Error, JournalUnavailable) as exc:
            log.warning("the delivery lease could not be tried (%s); trying again at the next step", exc)
            session.close()
            return False
        if not (row and row[0]):
            session.close()
            return False
        self._session = session
        return True

    def _drop(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def release(self) -> None:
        """End the session; the lock goes with it."""
        self._drop()


class LeaseSite(JournalLocation, Protocol):
    """Where the journal is, and the store its deliverer is elected for (the settings carry both)."""

    @property
    def store(self) -> str: ...

    @property
    def github_repository(self) -> str: ...

    @property
    def local_repo(self) -> Path: ...


def _store_name(settings: LeaseSite) -> str:
    """The store the deliverer is elected for: one election per data repository."""
    return settings.github_repository if settings.store == "github" else str(settings.local_repo.resolve())


def delivery_lease(settings: LeaseSite) -> Lease:
    """The lock that lets one process deliver: a file beside an SQLite journal, an advisory lock in PostgreSQL."""
    if settings.journal_url:
        return PostgresLease(settings.journal_url, store=_store_name(settings))
    path = settings.journal_path
    return DeliveryLease(path.with_name(path.name + ".delivery.lock"))
