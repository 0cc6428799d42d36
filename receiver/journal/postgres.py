"""The journal on PostgreSQL, for receivers on several machines: psycopg 3 and a connection pool.

A record's id is the unique key, so admitting the same record twice keeps it
once whichever machine took it; each group commit is one transaction;
`pending` claims the oldest queued records with `FOR UPDATE SKIP LOCKED`
(a claim lasts until the records are marked, or lapses), so two deliverers
never take the same ones; each admission sends a `NOTIFY` that wakes the
deliverer wherever it runs. Which process delivers is decided by an advisory
lock (`PostgresLease` in receiver/delivery/lease.py).

Advisory locks are one namespace per database that any role able to connect
may take. So no key here is a constant or a hash of a public name: each is
`lock_key(secret, name)`, an HMAC of the lock's name under a random secret
made once per deployment and kept in `receiver_lock_secret`, a table only
the receiver's role can read (`lock_secret` makes and reads it at connect).
Every session of the journal waits at most `LOCK_TIMEOUT` for a lock, and a
wait that times out fails what it was for (an admission answers 503, nothing
kept) rather than hang.

The frame tally's admit hook (receiver/volunteers/frames.py, with the statements of
receiver/volunteers/postgres.py) runs inside the admitting transaction, as on SQLite.

psycopg is imported when this module is: only a receiver configured with a
`postgresql://` journal imports it (the `postgres` extra).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg import conninfo, sql
from psycopg_pool import ConnectionPool, PoolTimeout

from receiver.contract.records import Record
from receiver.journal.connector import NEW_COLUMNS, AdmitHook, JournalUnavailable, Parameters, Row, admissions, new_values
from receiver.journal.schema import COLUMNS, TALLY_POSTGRES

__all__ = ["PostgresConnector", "QUERIES", "CHANNEL", "LOCK_TIMEOUT", "describe", "probe", "lock_key", "lock_secret", "set_lock_timeout"]

log = logging.getLogger("receiver.journal")

#: The channel admissions and retries are announced on.
CHANNEL = "receiver_journal"
#: Serialises schema creation when several receivers start at once (the name its advisory lock's key is drawn from).
_SCHEMA_LOCK = "journal schema"
#: The longest any of the journal's sessions waits for a lock (seconds); then what waited fails and is answered 503 or retried.
LOCK_TIMEOUT = 2.0
#: Creating the tables waits for another receiver doing the same, longer: only receivers know its key.
_SCHEMA_LOCK_TIMEOUT = 30.0
#: The table holding the deployment's advisory-lock secret: one row, readable by the receiver's role alone.
_SECRET_TABLE = "receiver_lock_secret"
#: How long a request waits for a pooled connection before the journal is called unavailable.
_CONNECTION_WAIT = 5.0

_TABLES = """
CREATE TABLE IF NOT EXISTS records (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    video_url TEXT NOT NULL,
    frame_index INTEGER NOT NULL,
    submitter TEXT NOT NULL,
    received_at TEXT NOT NULL,
    document BYTEA NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    path TEXT NOT NULL,
    commit_sha TEXT,
    branch TEXT,
    pull_number INTEGER,
    pull_url TEXT,
    pull_state TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    refusals INTEGER NOT NULL DEFAULT 0,
    not_before DOUBLE PRECISION,
    delivered_at DOUBLE PRECISION,
    claimed_until DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS records_by_state ON records (state, seq);
CREATE INDEX IF NOT EXISTS records_by_video ON records (video_url, seq);
CREATE INDEX IF NOT EXISTS records_by_delivery ON records (delivered_at) WHERE delivered_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS records_open_pulls ON records (pull_number) WHERE pull_state = 'open';
CREATE INDEX IF NOT EXISTS records_by_frame ON records (video_url, frame_index);
CREATE TABLE IF NOT EXISTS status (name TEXT PRIMARY KEY, value TEXT NOT NULL, written_at DOUBLE PRECISION NOT NULL);
"""

_ENTRY = f"SELECT {COLUMNS} FROM records"

QUERIES: dict[str, str] = {
    "get": f"{_ENTRY} WHERE id = %(id)s",
    "document": "SELECT document FROM records WHERE id = %(id)s",
    "frame_records": (
        "SELECT document FROM records WHERE video_url = %(video_url)s AND frame_index = %(frame_index)s ORDER BY seq LIMIT %(limit)s"
    ),
    "count_all": "SELECT count(*) FROM records",
    "count_video": "SELECT count(*) FROM records WHERE video_url = %(video_url)s",
    "page_all": f"{_ENTRY} ORDER BY seq LIMIT %(limit)s OFFSET %(offset)s",
    "page_video": f"{_ENTRY} WHERE video_url = %(video_url)s ORDER BY seq LIMIT %(limit)s OFFSET %(offset)s",
    "counts": "SELECT state, count(*) FROM records GROUP BY state",
    "per_hour": "SELECT substr(received_at, 1, 13) AS hour, count(*) FROM records WHERE received_at >= %(since)s GROUP BY hour ORDER BY hour",
    "latest_records": "SELECT document FROM records ORDER BY seq DESC LIMIT %(limit)s",
    "recent_pulls": (
        "SELECT pull_number, max(pull_url), max(pull_state) FROM records WHERE pull_number IS NOT NULL"
        " GROUP BY pull_number ORDER BY pull_number DESC LIMIT %(limit)s"
    ),
    "oldest_queued": "SELECT received_at FROM records WHERE state = 'queued' ORDER BY seq LIMIT 1",
    # Claim: rows another transaction is claiming are skipped, rows claimed earlier wait
    # until their claim lapses; the claim commits with this statement.
    "pending": (
        "WITH due AS ("
        " SELECT seq FROM records WHERE state = 'queued'"
        " AND (not_before IS NULL OR not_before <= %(now)s) AND (claimed_until IS NULL OR claimed_until <= %(now)s)"
        " ORDER BY seq LIMIT %(limit)s FOR UPDATE SKIP LOCKED)"
        " UPDATE records SET claimed_until = %(claim_until)s FROM due WHERE records.seq = due.seq"
        " RETURNING records.document, records.seq"
    ),
    "next_due": "SELECT min(not_before) FROM records WHERE state = 'queued' AND not_before IS NOT NULL",
    "recently_delivered": (
        "SELECT document FROM records WHERE delivered_at IS NOT NULL AND state = 'delivered' ORDER BY delivered_at DESC LIMIT %(limit)s"
    ),
    "last_delivered_at": "SELECT max(delivered_at) FROM records WHERE delivered_at IS NOT NULL",
    "open_pulls": "SELECT DISTINCT pull_number FROM records WHERE pull_state = 'open' ORDER BY pull_number LIMIT %(limit)s",
    "failures": (
        "SELECT count(*), (SELECT last_error FROM records WHERE state = 'failed' ORDER BY seq DESC LIMIT 1)"
        " FROM records WHERE state = 'failed'"
    ),
    "delivery_status": "SELECT value, written_at FROM status WHERE name = 'delivery'",
    "state": "SELECT state FROM records WHERE id = %(id)s",
    "mark_delivered": (
        "UPDATE records SET state = CASE WHEN %(held)s::boolean THEN 'held' ELSE 'delivered' END,"
        " commit_sha = %(commit)s::text, path = %(path)s::text, branch = %(branch)s::text,"
        " pull_number = %(pull_number)s::integer, pull_url = %(pull_url)s::text,"
        " pull_state = CASE WHEN %(pull_number)s::integer IS NULL THEN NULL ELSE COALESCE(pull_state, 'open') END,"
        " attempts = attempts + 1, last_error = NULL, not_before = NULL, claimed_until = NULL,"
        " delivered_at = %(now)s::double precision WHERE id = %(id)s"
    ),
    "mark_attempt": "UPDATE records SET attempts = attempts + 1, last_error = %(error)s, claimed_until = NULL WHERE id = %(id)s",
    "mark_refused": (
        "UPDATE records SET attempts = attempts + 1, refusals = refusals + 1, last_error = %(reason)s, claimed_until = NULL,"
        " state = CASE WHEN refusals + 1 >= %(max_refusals)s::integer THEN 'failed' ELSE state END,"
        " not_before = CASE WHEN refusals + 1 >= %(max_refusals)s::integer THEN NULL ELSE %(retry_at)s::double precision END"
        " WHERE id = %(id)s AND state = 'queued'"
    ),
    "retry_one": (
        "UPDATE records SET state = 'queued', refusals = 0, not_before = NULL, claimed_until = NULL"
        " WHERE id = %(id)s AND state IN ('failed', 'held', 'queued')"
    ),
    "retry_failed": "UPDATE records SET state = 'queued', refusals = 0, not_before = NULL, claimed_until = NULL WHERE state = 'failed'",
    "requeue": "UPDATE records SET state = 'queued', commit_sha = NULL, delivered_at = NULL, claimed_until = NULL WHERE id = %(id)s",
    "set_pull_states": "UPDATE records SET pull_state = %(state)s WHERE pull_number = %(number)s AND pull_state = 'open'",
    "set_delivery_status": (
        "INSERT INTO status (name, value, written_at) VALUES ('delivery', %(value)s, %(written_at)s)"
        " ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, written_at = EXCLUDED.written_at"
    ),
}

_KEPT = f"{_ENTRY} WHERE id = ANY(%s)"


def _insert(count: int) -> str:
    rows = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * count)
    return (
        f"INSERT INTO records ({NEW_COLUMNS}) VALUES {rows}"
        " ON CONFLICT (id) DO NOTHING RETURNING id"
    )



def describe(url: str) -> str:
    """Where a journal URL points, without its password: `db on host:port`."""
    try:
        parts = conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "an unreadable PostgreSQL address"
    host = str(parts.get("host") or "localhost")
    where = host if host.startswith("/") else f"{host}:{parts.get('port') or 5432}"
    return f"database {parts.get('dbname') or parts.get('user') or '(default)'} on {where}"


def probe(url: str, *, timeout: float = 5.0) -> str | None:
    """Why the journal at `url` cannot be used right now, as a sentence; None when it answers."""
    try:
        with psycopg.connect(url, connect_timeout=max(1, round(timeout)), autocommit=True) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        return f"the PostgreSQL journal ({describe(url)}) cannot be reached: {reason}; check RECEIVER_JOURNAL and that the database runs"
    return None


def lock_key(secret: bytes, name: str) -> int:
    """The advisory lock key of `name`: HMAC-SHA256 under the deployment's secret, as a signed 64-bit number.

    Without the secret no other role can compute it, so it cannot take the lock to stall or fool the receivers.
    """
    return int.from_bytes(hmac.new(secret, name.encode("utf-8"), hashlib.sha256).digest()[:8], "big", signed=True)


def set_lock_timeout(connection: psycopg.Connection[Any], seconds: float = LOCK_TIMEOUT) -> None:
    """Make every lock wait of this session end after `seconds` with an error instead of hanging."""
    connection.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(f"{int(seconds * 1000)}ms")))


def lock_secret(connection: psycopg.Connection[Any]) -> bytes:
    """The deployment's advisory-lock secret, made (randomly, once) by the first receiver to ask.

    The table is created readable by its owner only, and a table some other
    role made (to plant a secret it knows) is refused. Safe when receivers
    start together: creation races are retried, and the first secret stored wins.
    """
    table = sql.Identifier(_SECRET_TABLE)
    for _ in range(5):
        try:
            with connection.transaction():
                owned = connection.execute(
                    "SELECT pg_has_role(current_user, relowner, 'MEMBER'), pg_get_userbyid(relowner) FROM pg_class"
                    " WHERE oid = to_regclass(%s)",
                    (_SECRET_TABLE,),
                ).fetchone()
                if owned is None:
                    connection.execute(
                        sql.SQL("CREATE TABLE IF NOT EXISTS {} (only_row BOOLEAN PRIMARY KEY DEFAULT true CHECK (only_row), secret BYTEA NOT NULL)").format(table)
                    )
                    connection.execute(sql.SQL("REVOKE ALL ON {} FROM PUBLIC").format(table))
                elif not owned[0]:
                    raise JournalUnavailable(
                        f"the table {_SECRET_TABLE} belongs to role {owned[1]}, not to the receiver's role: a stranger may know its secret;"
                        f" drop it (the receivers make a new one) and REVOKE CREATE ON SCHEMA public FROM PUBLIC"
                    )
                connection.execute(
                    sql.SQL("INSERT INTO {} (secret) VALUES (%s) ON CONFLICT (only_row) DO NOTHING").format(table), (secrets.token_bytes(32),)
                )
                row = connection.execute(sql.SQL("SELECT secret FROM {}").format(table)).fetchone()
        except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable):
            continue  # another receiver created the table at the same moment: read theirs
        if row is not None:
            return bytes(row[0])
    raise JournalUnavailable(f"the advisory-lock secret in {_SECRET_TABLE} could not be made or read; start the receiver again")


def _unavailable(what: str, exc: Exception) -> JournalUnavailable:
    return JournalUnavailable(f"the PostgreSQL journal cannot {what} right now ({exc.__class__.__name__})")


def _configure(connection: psycopg.Connection[Any]) -> None:
    """Each pooled session: lock waits end after LOCK_TIMEOUT (an admission then answers 503), never hang."""
    autocommit = connection.autocommit
    connection.autocommit = True
    set_lock_timeout(connection)
    connection.autocommit = autocommit


class PostgresConnector:
    """A pool of connections to one PostgreSQL database; a separate session listens for admissions."""

    engine = "postgresql"

    def __init__(self, url: str, *, max_connections: int = 8, name: str = "receiver", on_admit: AdmitHook | None = None) -> None:
        self.url = url
        self.name = name
        self.on_admit = on_admit
        self._pool: ConnectionPool[psycopg.Connection[tuple[Any, ...]]] = ConnectionPool(
            url,
            min_size=1,
            max_size=max_connections,
            open=False,
            check=ConnectionPool.check_connection,
            configure=_configure,
            kwargs={"connect_timeout": 5, "application_name": name},
            name=name,
            timeout=_CONNECTION_WAIT,
        )

    def open(self) -> None:
        try:
            self._pool.open(wait=True, timeout=_CONNECTION_WAIT)
        except PoolTimeout as exc:
            self._pool.close()
            raise JournalUnavailable(f"the PostgreSQL journal ({describe(self.url)}) cannot be reached") from exc
        try:
            with self._pool.connection() as connection:
                key = lock_key(lock_secret(connection), _SCHEMA_LOCK)
                with connection.transaction():
                    connection.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(f"{int(_SCHEMA_LOCK_TIMEOUT * 1000)}ms")))
                    connection.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
                    for statement in filter(str.strip, (_TABLES + TALLY_POSTGRES).split(";")):
                        connection.execute(statement.encode())
        except JournalUnavailable:
            self._pool.close()
            raise
        except psycopg.Error as exc:
            self._pool.close()
            raise _unavailable("create its tables", exc) from exc

    def close(self) -> None:
        self._pool.close()

    def admit(self, records: Sequence[Record]) -> list[tuple[Row, bool]]:
        # Two statements per group: insert what is new (another receiver may be
        # inserting the same id: the unique key decides), then read the rows of the rest.
        fresh = list({record.id: record for record in records}.values())
        try:
            with self._pool.connection() as connection, connection.transaction():
                values = [value for record in fresh for value in new_values(record)]
                created = {row[0] for row in connection.execute(_insert(len(fresh)), values).fetchall()}
                others = [record.id for record in fresh if record.id not in created]
                kept = {row[0]: row for row in connection.execute(_KEPT, (others,)).fetchall()} if others else {}
                if created and self.on_admit is not None:
                    self.on_admit(connection, [record for record in fresh if record.id in created])
                if created:
                    # Delivered to listeners when this transaction commits, and only if it does.
                    connection.execute("SELECT pg_notify(%s, '')", (CHANNEL,))
        except (psycopg.Error, PoolTimeout) as exc:
            raise _unavailable("keep new submissions", exc) from exc
        return admissions(records, created, kept)

    def fetch(self, query: str, parameters: Parameters) -> list[Row]:
        try:
            with self._pool.connection() as connection:
                rows: list[Row] = list(connection.execute(QUERIES[query], dict(parameters)).fetchall())
        except (psycopg.Error, PoolTimeout) as exc:
            raise _unavailable("be read", exc) from exc
        if query == "pending":
            # RETURNING follows no order: hand out the oldest first, as SQLite does.
            rows.sort(key=lambda row: int(row[1]))
        return rows

    def change(self, query: str, rows: Sequence[Parameters]) -> int:
        try:
            with self._pool.connection() as connection, connection.transaction(), connection.cursor() as cursor:
                cursor.executemany(QUERIES[query], [dict(r) for r in rows])
                return max(0, cursor.rowcount)
        except (psycopg.Error, PoolTimeout) as exc:
            raise _unavailable("record delivery", exc) from exc

    def listen(self, wake: Callable[[], None], stop: threading.Event) -> None:
        """Hold a session of its own on `LISTEN`; when it breaks, wake the worker (it may have missed news) and reconnect."""
        while not stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=5, application_name=f"{self.name} listener") as connection:
                    connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
                    wake()  # anything admitted while nobody listened
                    while not stop.is_set():
                        for _ in connection.notifies(timeout=1.0):
                            wake()
            except psycopg.Error as exc:
                log.warning("the journal's listener lost PostgreSQL (%s); reconnecting", exc.__class__.__name__)
                wake()
                stop.wait(1.0)

    def announce(self) -> None:
        try:
            with self._pool.connection() as connection:
                connection.execute("SELECT pg_notify(%s, '')", (CHANNEL,))
        except (psycopg.Error, PoolTimeout) as exc:
            raise _unavailable("announce the queue", exc) from exc
