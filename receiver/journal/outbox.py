"""The outbox: the journal that makes a 2xx mean "kept", and the state of every record's delivery.

Every accepted record is written here durably (fsynced by SQLite, or
committed by PostgreSQL) before the receiver answers; the delivery worker
drains it into the store and writes back each record's state. Admissions
are written in groups (`receiver.journal.grouping`), so 64 waiting requests
cost one commit, not 64.

This module is the journal's behaviour, once, for every engine; the SQL is
in each engine's module (`receiver.journal.sqlite`, `receiver.journal.postgres`)
behind `receiver.journal.connector.Connector`. Errors:

```
JournalError
 +-- JournalUnavailable   the engine refused (disk full, read-only, database gone): answer 503, keep nothing half-done
```
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from receiver.contract.outcomes import Delivered, Refused
from receiver.contract.records import Record
from receiver.journal import schema
from receiver.journal.connector import AdmitHook, Connector, JournalError, JournalUnavailable, Row
from receiver.journal.grouping import GroupCommit
from receiver.journal.sqlite import SqliteConnector

__all__ = ["Journal", "JournalError", "JournalUnavailable", "Entry", "Admission", "AdmitHook"]

log = logging.getLogger("receiver.journal")

#: The columns an `Entry` is built from, in its field order (every engine names them alike).
COLUMNS = schema.COLUMNS
#: How long `pending` claims records on an engine several deliverers could share;
#: marking them ends the claim sooner. A deliverer that dies leaves its claim to lapse.
CLAIM_SECONDS = 30.0

@dataclass(frozen=True)
class Entry:
    """What the journal knows of one record."""

    id: str
    video_url: str
    frame_index: int
    submitter: str
    received_at: str
    state: str
    path: str
    commit: str | None
    branch: str | None
    pull_number: int | None
    pull_url: str | None
    pull_state: str | None
    attempts: int
    last_error: str | None
    refusals: int = 0

    def public(self) -> dict[str, Any]:
        """The fields a client may see."""
        shown = {
            "id": self.id,
            "status": self.state,
            "video_url": self.video_url,
            "frame_index": self.frame_index,
            "submitter": self.submitter,
            "received_at": self.received_at,
            "path": self.path,
            "commit": self.commit,
        }
        if self.branch:
            shown.update(branch=self.branch, pull_number=self.pull_number, pull_url=self.pull_url, pull_state=self.pull_state)
        if self.state != "delivered" and self.last_error:
            shown["last_error"] = self.last_error
        if self.state == "failed":
            shown["refusals"] = self.refusals
        return shown


@dataclass(frozen=True)
class Admission:
    """The outcome of `Journal.admit`: a new record, or the one already kept under that id."""

    entry: Entry
    created: bool


def _entry(row: Row) -> Entry:
    return Entry(*row)


def _document(rows: list[Row]) -> list[Record]:
    return [Record.from_stored(bytes(row[0])) for row in rows]


class Journal:
    """The outbox. `open()` starts its writer thread; `close()` stops it after the queue drains.

    Built on a path, it keeps an SQLite file (with `on_admit` run inside each
    admitting transaction); built on a `Connector`, it keeps whatever that engine
    keeps, and the connector was given its hook when it was made. `clock`
    (wall-clock seconds) stamps the delivery status and tells its age.
    """

    def __init__(
        self,
        where: Path | Connector,
        *,
        max_group: int = 512,
        on_admit: AdmitHook | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(where, Path):
            self.connector: Connector = SqliteConnector(where, on_admit=on_admit)
        elif on_admit is not None:
            raise JournalError("give the admit hook to the connector (it runs inside the connector's transaction), not to the journal")
        else:
            self.connector = where
        self.path = where if isinstance(where, Path) else None
        self.clock = clock
        self._group_commit: GroupCommit[Admission] = GroupCommit(self._admit_group, max_group=max_group, on_written=self._admitted)
        self._listener: threading.Thread | None = None
        self._stop_listening = threading.Event()
        self._open = False
        self._work = threading.Condition()
        self._generation = 0

    def open(self) -> Journal:
        self.connector.open()
        self._open = True
        self._group_commit.start()
        self._stop_listening.clear()
        self._listener = threading.Thread(target=self.connector.listen, args=(self.wake, self._stop_listening), name="journal-listener", daemon=True)
        self._listener.start()
        return self

    def close(self) -> None:
        self._group_commit.stop()
        if self._listener is not None:
            self._stop_listening.set()
            self._listener.join()
            self._listener = None
        if self._open:
            self.connector.close()
            self._open = False

    def __enter__(self) -> Journal:
        # `open_journal` hands out journals already open: entering one keeps it as it is.
        return self if self._open else self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- admitting records (request side) ------------------------------------

    def admit_async(self, record: Record) -> Future[Admission]:
        """Queue a record for the next group commit; the future resolves once it is kept."""
        return self._group_commit.submit(record)

    async def admit(self, record: Record) -> Admission:
        """Like `admit_async`, for the event loop: one wake-up of the loop per group commit, not per record."""
        return await self._group_commit.admit(record)

    def _admit_group(self, records: Sequence[Record]) -> list[Admission]:
        return [Admission(_entry(row), created=created) for row, created in self.connector.admit(records)]

    def _admitted(self, admissions: list[Admission]) -> None:
        if any(admission.created for admission in admissions):
            self.wake()

    # -- reading --------------------------------------------------------------

    def _read(self, query: str, **parameters: Any) -> list[Row]:
        if not self._open:
            raise JournalError("the journal is closed")
        return self.connector.fetch(query, parameters)

    def _update(self, query: str, rows: Sequence[dict[str, Any]]) -> int:
        if not self._open:
            raise JournalError("the journal is closed")
        return self.connector.change(query, rows) if rows else 0

    def get(self, identifier: str) -> Entry | None:
        rows = self._read("get", id=identifier)
        return _entry(rows[0]) if rows else None

    def record(self, identifier: str) -> Record | None:
        """The stored record under this id, if any."""
        rows = _document(self._read("document", id=identifier))
        return rows[0] if rows else None

    def frame_records(self, video_url: str, frame_index: int, *, limit: int = 1000) -> list[Record]:
        """The records labelling one frame of one video, oldest first."""
        return _document(self._read("frame_records", video_url=video_url, frame_index=frame_index, limit=limit))

    def page(self, *, video_url: str | None = None, offset: int = 0, limit: int = 50) -> tuple[int, list[Entry]]:
        """One page of records, oldest first, optionally of one video; and how many there are in all."""
        scope = "video" if video_url else "all"
        total = int(self._read(f"count_{scope}", video_url=video_url)[0][0])
        rows = self._read(f"page_{scope}", video_url=video_url, limit=limit, offset=offset)
        return total, [_entry(r) for r in rows]

    def per_hour(self, since: str) -> list[tuple[str, int]]:
        """Records received in each hour from `since` (an ISO UTC time): ("YYYY-MM-DDTHH", count), oldest first."""
        return [(str(hour), int(n)) for hour, n in self._read("per_hour", since=since)]

    def latest_records(self, limit: int) -> list[Record]:
        """The most recently received records, newest first."""
        return _document(self._read("latest_records", limit=limit))

    def recent_pulls(self, limit: int = 20) -> list[tuple[int, str, str]]:
        """The latest pull requests the receiver opened: (number, url, state), newest first."""
        return [(int(n), str(url or ""), str(state or "open")) for n, url, state in self._read("recent_pulls", limit=limit)]

    def counts(self) -> dict[str, int]:
        counts = {"queued": 0, "delivered": 0, "held": 0, "failed": 0}
        counts.update({str(state): int(n) for state, n in self._read("counts")})
        return counts

    def oldest_queued(self) -> str | None:
        rows = self._read("oldest_queued")
        return str(rows[0][0]) if rows else None

    # -- the delivery side ----------------------------------------------------

    def pending(self, limit: int, *, now: float | None = None) -> list[Record]:
        """The oldest queued records whose backoff (if any) has passed, to hand to the store.

        On an engine several machines share, they are claimed for `CLAIM_SECONDS`
        (until marked), so a second deliverer never takes the same ones.
        """
        moment = time.time() if now is None else now
        rows = self._read("pending", now=moment, limit=limit, claim_until=moment + CLAIM_SECONDS)
        return _document(rows)

    def next_due(self) -> float | None:
        """When the earliest backed-off queued record may be tried again (wall-clock seconds), if any waits."""
        rows = self._read("next_due")
        return float(rows[0][0]) if rows and rows[0][0] is not None else None

    def wait_for_work(self, generation: int, timeout: float) -> int:
        """Block until a new record is admitted after `generation` (or the timeout); return the current one."""
        with self._work:
            if self._generation == generation:
                self._work.wait(timeout)
            return self._generation

    def wake(self) -> None:
        """Wake the delivery worker (new records, or stopping)."""
        with self._work:
            self._generation += 1
            self._work.notify_all()

    def mark_delivered(self, results: Sequence[Delivered], *, now: float | None = None) -> None:
        moment = time.time() if now is None else now
        self._update(
            "mark_delivered",
            [
                {
                    # A store that keeps a record for review (a branch not merged) reports no commit: 'held'.
                    "held": not r.commit and bool(r.branch), "commit": r.commit, "path": r.path, "branch": r.branch,
                    "pull_number": r.pull_number, "pull_url": r.pull_url, "now": moment, "id": r.record_id,
                }
                for r in results
            ],
        )

    def mark_attempt(self, identifiers: Sequence[str], error: str) -> None:
        """Note a failed attempt; the records stay queued for the next try."""
        self._update("mark_attempt", [{"error": error, "id": i} for i in identifiers])

    def mark_refused(self, refusals: Sequence[Refused], *, max_refusals: int, retry_at: float) -> list[str]:
        """Count a refusal per record; a record refused `max_refusals` times fails, the rest wait until `retry_at`.

        Returns the ids that failed now.
        """
        if not refusals:
            return []
        self._update(
            "mark_refused",
            [{"reason": r.reason, "max_refusals": max_refusals, "retry_at": retry_at, "id": r.record_id} for r in refusals],
        )
        return [r.record_id for r in refusals if [row[0] for row in self._read("state", id=r.record_id)] == ["failed"]]

    def retry(self, identifiers: Sequence[str] = (), *, failed: bool = False) -> int:
        """Put records back in the queue (the named ones, and every failed one with `failed`); how many were."""
        changed = self._update("retry_one", [{"id": i} for i in identifiers])
        if failed:
            changed += self._update("retry_failed", [{}])
        self.connector.announce()
        self.wake()
        return changed

    def requeue(self, identifiers: Sequence[str]) -> None:
        """Records marked delivered that the store turned out not to hold: deliver them again."""
        self._update("requeue", [{"id": i} for i in identifiers])

    def recently_delivered(self, limit: int) -> list[Record]:
        """The records most recently marked delivered (not held), newest first."""
        return _document(self._read("recently_delivered", limit=limit))

    def last_delivered_at(self) -> float | None:
        rows = self._read("last_delivered_at")
        return float(rows[0][0]) if rows and rows[0][0] is not None else None

    def open_pulls(self, limit: int = 1000) -> list[int]:
        """Pull request numbers the journal still believes open."""
        return [int(row[0]) for row in self._read("open_pulls", limit=limit)]

    def set_pull_states(self, states: dict[int, str]) -> None:
        """Record what the store said about pull requests (merged, closed)."""
        self._update("set_pull_states", [{"state": state, "number": n} for n, state in states.items()])

    def failures(self) -> tuple[int, str | None]:
        """How many records failed, and the reason of the latest."""
        rows = self._read("failures")
        return int(rows[0][0]), rows[0][1]

    def set_delivery_status(self, status: dict[str, Any]) -> None:
        """What the delivering process last knew of the store (see DeliveryWorker.publish); its write is its heartbeat.

        Safe from any thread: the delivery worker writes it from inside a paced delivery.
        """
        self._update("set_delivery_status", [{"value": json.dumps(status), "written_at": self.clock()}])

    def delivery_status(self) -> tuple[dict[str, Any], float] | None:
        """The last published delivery status and how many seconds ago it was written."""
        rows = self._read("delivery_status")
        if not rows:
            return None
        value: dict[str, Any] = json.loads(rows[0][0])
        return value, max(0.0, self.clock() - float(rows[0][1]))
