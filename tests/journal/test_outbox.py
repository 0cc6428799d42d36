"""The journal on its own: admissions kept across a crash, and each state a record's delivery can take."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest

from receiver.journal import Admission, Journal
from receiver.stores import Delivered, Refused
from tests.captured import numbered_record as record


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite3") as opened:
        yield opened


def admit(journal: Journal, *numbers: int) -> list[str]:
    records = [record(n) for n in numbers]
    futures: list[Future[Admission]] = [journal.admit_async(r) for r in records]
    for future in futures:
        future.result(timeout=10)
    return [r.id for r in records]


class TestAdmission:
    def test_a_group_of_admissions_all_land(self, journal: Journal) -> None:
        """Many admissions queued at once are committed together, each reported created."""
        futures = [journal.admit_async(record(n)) for n in range(64)]
        admissions = [f.result(timeout=10) for f in futures]
        assert all(a.created for a in admissions)
        assert journal.counts()["queued"] == 64

    def test_the_same_record_twice_is_kept_once(self, journal: Journal) -> None:
        """A re-post answers with the entry already kept."""
        first = journal.admit_async(record(1)).result(timeout=10)
        again = journal.admit_async(record(1)).result(timeout=10)
        assert first.created and not again.created and again.entry.id == first.entry.id

    def test_admitted_record_survives_a_crash_before_delivery(self, tmp_path: Path) -> None:
        """Admitted, never delivered, the process gone: a new journal on the file hands it to the worker."""
        path = tmp_path / "journal.sqlite3"
        crashed = Journal(path).open()
        [identifier] = admit(crashed, 1)
        # No close(): the writer thread's connection is simply abandoned, as in a kill.
        with Journal(path) as reopened:
            assert [r.id for r in reopened.pending(10)] == [identifier]

    def test_an_older_journal_gains_the_new_columns(self, tmp_path: Path) -> None:
        """A journal written before refusals were counted opens and works."""
        path = tmp_path / "journal.sqlite3"
        old = sqlite3.connect(path)
        old.executescript(
            "CREATE TABLE records (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, video_url TEXT NOT NULL,"
            " frame_index INTEGER NOT NULL, submitter TEXT NOT NULL, received_at TEXT NOT NULL, document BLOB NOT NULL,"
            " state TEXT NOT NULL DEFAULT 'queued', path TEXT NOT NULL, commit_sha TEXT, branch TEXT, pull_number INTEGER,"
            " pull_url TEXT, pull_state TEXT, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT);"
        )
        old.close()
        with Journal(path) as journal:
            [identifier] = admit(journal, 1)
            journal.mark_refused([Refused(identifier, "no")], max_refusals=1, retry_at=0.0)
            assert journal.get(identifier).state == "failed"  # type: ignore[union-attr]


class TestStates:
    def test_delivered_with_a_commit_is_delivered(self, journal: Journal) -> None:
        [identifier] = admit(journal, 1)
        journal.mark_delivered([Delivered(identifier, "annotations/x.json", "a" * 40, True)], now=100.0)
        entry = journal.get(identifier)
        assert entry is not None and entry.state == "delivered" and entry.commit == "a" * 40
        assert journal.pending(10) == [] and journal.last_delivered_at() == 100.0

    def test_a_branch_without_a_commit_is_held(self, journal: Journal) -> None:
        """Kept on its branch for review: not delivered, not queued."""
        [identifier] = admit(journal, 1)
        journal.mark_delivered([Delivered(identifier, "annotations/x.json", None, True, branch="annotations/x")])
        assert journal.get(identifier).state == "held"  # type: ignore[union-attr]

    def test_an_open_pull_request_is_open_until_told_otherwise(self, journal: Journal) -> None:
        """The worker's refresh moves the state; nothing else does."""
        [identifier] = admit(journal, 1)
        journal.mark_delivered([Delivered(identifier, "p", "a" * 40, True, "annotations/x", 7, "https://github.test/pull/7")])
        assert journal.open_pulls() == [7]
        journal.set_pull_states({7: "merged"})
        assert journal.get(identifier).pull_state == "merged" and journal.open_pulls() == []  # type: ignore[union-attr]

    def test_a_refused_record_waits_its_backoff(self, journal: Journal) -> None:
        """Refused once: still queued, but not handed out before `retry_at`."""
        [identifier] = admit(journal, 1)
        assert journal.mark_refused([Refused(identifier, "422 no")], max_refusals=3, retry_at=1_000.0) == []
        assert journal.pending(10, now=999.0) == []
        assert [r.id for r in journal.pending(10, now=1_000.0)] == [identifier]
        assert journal.next_due() == 1_000.0

    def test_the_last_allowed_refusal_fails_the_record_with_its_reason(self, journal: Journal) -> None:
        [identifier] = admit(journal, 1)
        for _ in range(2):
            journal.mark_refused([Refused(identifier, "422 Repository rule violations found")], max_refusals=2, retry_at=0.0)
        entry = journal.get(identifier)
        assert entry is not None and entry.state == "failed" and entry.refusals == 2
        assert entry.public()["last_error"] == "422 Repository rule violations found"
        assert journal.failures() == (1, "422 Repository rule violations found")

    def test_retry_puts_a_failed_record_back_with_a_clean_count(self, journal: Journal) -> None:
        [identifier] = admit(journal, 1)
        journal.mark_refused([Refused(identifier, "no")], max_refusals=1, retry_at=0.0)
        assert journal.retry(failed=True) == 1
        entry = journal.get(identifier)
        assert entry is not None and entry.state == "queued" and entry.refusals == 0

    def test_a_delivered_record_is_never_failed_by_a_late_refusal(self, journal: Journal) -> None:
        """Refusals only count against queued records."""
        [identifier] = admit(journal, 1)
        journal.mark_delivered([Delivered(identifier, "p", "a" * 40, True)])
        journal.mark_refused([Refused(identifier, "late")], max_refusals=1, retry_at=0.0)
        assert journal.get(identifier).state == "delivered"  # type: ignore[union-attr]

    def test_requeue_sends_a_lost_delivery_back(self, journal: Journal) -> None:
        """A record marked delivered that the store lost is queued again."""
        [identifier] = admit(journal, 1)
        journal.mark_delivered([Delivered(identifier, "p", "a" * 40, True)])
        assert [r.id for r in journal.recently_delivered(10)] == [identifier]
        journal.requeue([identifier])
        assert [r.id for r in journal.pending(10)] == [identifier]
