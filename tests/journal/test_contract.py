"""The journal's contract, stated once and run on every engine (SQLite and PostgreSQL)."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from receiver.journal import Admission, Journal
from receiver.stores import Delivered, Refused
from tests.journal.conftest import Opener
from tests.support.captured import numbered_record as record


def admit(journal: Journal, *numbers: int) -> list[str]:
    records = [record(n) for n in numbers]
    futures: list[Future[Admission]] = [journal.admit_async(r) for r in records]
    for future in futures:
        future.result(timeout=30)
    return [r.id for r in records]


class TestAdmission:
    def test_a_group_of_admissions_all_land(self, journal: Journal) -> None:
        """Many admissions queued at once are committed together, each reported created."""
        futures = [journal.admit_async(record(n)) for n in range(64)]
        admissions = [f.result(timeout=30) for f in futures]
        assert all(a.created for a in admissions)
        assert journal.counts()["queued"] == 64

    def test_the_same_record_twice_is_kept_once(self, journal: Journal) -> None:
        """A re-post answers with the entry already kept."""
        first = journal.admit_async(record(1)).result(timeout=30)
        again = journal.admit_async(record(1)).result(timeout=30)
        assert first.created and not again.created and again.entry.id == first.entry.id
        assert journal.page()[0] == 1

    def test_the_same_record_in_one_group_is_kept_once(self, journal: Journal) -> None:
        """Two copies in the same group commit: the first is created, the second finds it."""
        futures = [journal.admit_async(record(1)) for _ in range(2)]
        assert [f.result(timeout=30).created for f in futures] == [True, False]

    def test_a_group_mixing_kept_and_new_records_reports_each(self, journal: Journal) -> None:
        """In one group commit, records kept before are found, new ones created, in the order posted."""
        admit(journal, 2, 4)
        futures = [journal.admit_async(record(n)) for n in (1, 2, 3, 4, 3)]
        outcomes = [f.result(timeout=30) for f in futures]
        assert [a.created for a in outcomes] == [True, False, True, False, False]
        assert [a.entry.id for a in outcomes] == [record(n).id for n in (1, 2, 3, 4, 3)]
        assert all(journal.get(a.entry.id) == a.entry for a in outcomes)
        assert journal.counts()["queued"] == 4

    def test_the_same_record_through_two_journals_is_kept_once(self, opener: Opener) -> None:
        """Two receivers on one store admitting the same record keep one copy."""
        one, two = opener(), opener()
        first = one.admit_async(record(1)).result(timeout=30)
        again = two.admit_async(record(1)).result(timeout=30)
        assert first.created and not again.created and one.counts()["queued"] == 1

    def test_an_admission_is_reported_as_kept(self, journal: Journal) -> None:
        """The admission's entry is the row as stored: queued, at its path, with no commit."""
        kept = journal.admit_async(record(1)).result(timeout=30)
        assert (kept.entry.state, kept.entry.commit, kept.entry.path) == ("queued", None, record(1).path)
        assert journal.get(kept.entry.id) == kept.entry

    def test_the_stored_record_is_the_admitted_bytes(self, journal: Journal) -> None:
        """What the journal hands back is byte for byte what it admitted."""
        [identifier] = admit(journal, 1)
        kept = journal.record(identifier)
        assert kept is not None and kept.to_bytes() == record(1).to_bytes()

    def test_an_admission_wakes_the_waiting_worker(self, journal: Journal) -> None:
        """`wait_for_work` returns a newer generation once a record is admitted."""
        generation = journal.wait_for_work(0, 0.0)
        admit(journal, 1)
        assert journal.wait_for_work(generation, 30.0) > generation

    def test_an_admitted_record_survives_a_crash_before_delivery(self, opener: Opener) -> None:
        """Admitted, never delivered, the process gone: a new journal on the same store hands it to the worker."""
        crashed = opener()
        [identifier] = admit(crashed, 1)
        reopened = opener()
        assert [r.id for r in reopened.pending(10)] == [identifier]


class TestReading:
    def test_pages_are_oldest_first_and_counted(self, journal: Journal) -> None:
        admit(journal, 1, 2, 3)
        total, entries = journal.page(offset=1, limit=1)
        assert total == 3 and [e.id for e in entries] == [record(2).id]

    def test_a_page_of_one_video_counts_only_it(self, journal: Journal) -> None:
        """Filtering by video narrows both the rows and the total."""
        admit(journal, 1)
        journal.admit_async(record(2, video_url="https://example.org/other.mp4")).result(timeout=30)
        total, entries = journal.page(video_url="https://example.org/other.mp4")
        assert total == 1 and [e.video_url for e in entries] == ["https://example.org/other.mp4"]

    def test_frame_records_are_one_frames_labels(self, journal: Journal) -> None:
        admit(journal, 1, 2)
        wanted = record(2)
        found = journal.frame_records(wanted.submission["video_url"], wanted.submission["frame_index"])
        assert [r.id for r in found] == [wanted.id]

    def test_the_oldest_queued_is_the_first_admitted(self, journal: Journal) -> None:
        admit(journal, 1, 2)
        assert journal.oldest_queued() == record(1).received_at

    def test_an_unknown_id_is_none(self, journal: Journal) -> None:
        assert journal.get("0" * 32) is None and journal.record("0" * 32) is None


class TestStates:
    def test_delivered_with_a_commit_is_delivered(self, journal: Journal) -> None:
        [identifier] = admit(journal, 1)
        journal.mark_delivered([Delivered(identifier, "annotations/x.json", "a" * 40, True)], now=100.0)
        entry = journal.get(identifier)
        assert entry is not None and entry.state == "delivered" and entry.commit == "a" * 40
        assert journal.pending(10) == [] and journal.last_delivered_at() == 100.0
        assert journal.counts() == {"queued": 0, "delivered": 1, "held": 0, "failed": 0}

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

    def test_a_failed_attempt_keeps_the_record_queued_with_its_error(self, journal: Journal) -> None:
        """The store was unreachable: counted, explained, and handed out again."""
        [identifier] = admit(journal, 1)
        journal.pending(10, now=50.0)
        journal.mark_attempt([identifier], "GitHub answered 502")
        entry = journal.get(identifier)
        assert entry is not None and (entry.state, entry.attempts, entry.last_error) == ("queued", 1, "GitHub answered 502")
        assert [r.id for r in journal.pending(10, now=50.0)] == [identifier]

    def test_a_refused_record_waits_its_backoff(self, journal: Journal) -> None:
        """Refused once: still queued, but not handed out before `retry_at`."""
        [identifier] = admit(journal, 1)
        assert journal.mark_refused([Refused(identifier, "422 no")], max_refusals=3, retry_at=1_000.0) == []
        assert journal.pending(10, now=999.0) == []
        assert [r.id for r in journal.pending(10, now=1_000.0)] == [identifier]
        assert journal.next_due() == 1_000.0

    def test_the_last_allowed_refusal_fails_the_record_with_its_reason(self, journal: Journal) -> None:
        [identifier] = admit(journal, 1)
        assert journal.mark_refused([Refused(identifier, "422 Repository rule violations found")], max_refusals=2, retry_at=0.0) == []
        assert journal.mark_refused([Refused(identifier, "422 Repository rule violations found")], max_refusals=2, retry_at=0.0) == [identifier]
        entry = journal.get(identifier)
        assert entry is not None and entry.state == "failed" and entry.refusals == 2
        assert entry.public()["last_error"] == "422 Repository rule violations found"
        assert journal.failures() == (1, "422 Repository rule violations found")

    def test_a_delivered_record_is_never_failed_by_a_late_refusal(self, journal: Journal) -> None:
        """Refusals only count against queued records."""
        [identifier] = admit(journal, 1)
        journal.mark_delivered([Delivered(identifier, "p", "a" * 40, True)])
        journal.mark_refused([Refused(identifier, "late")], max_refusals=1, retry_at=0.0)
        assert journal.get(identifier).state == "delivered"  # type: ignore[union-attr]


class TestRetry:
    def test_retry_puts_a_failed_record_back_with_a_clean_count(self, journal: Journal) -> None:
        [identifier] = admit(journal, 1)
        journal.mark_refused([Refused(identifier, "no")], max_refusals=1, retry_at=0.0)
        assert journal.retry(failed=True) == 1
        entry = journal.get(identifier)
        assert entry is not None and entry.state == "queued" and entry.refusals == 0

    def test_retry_by_id_puts_a_held_record_back(self, journal: Journal) -> None:
        """A named record held on its branch is queued again; a delivered one is left alone."""
        held, delivered = admit(journal, 1, 2)
        journal.mark_delivered([Delivered(held, "p", None, True, branch="b"), Delivered(delivered, "q", "a" * 40, True)])
        assert journal.retry([held, delivered]) == 1
        assert [r.id for r in journal.pending(10)] == [held]

    def test_an_admission_in_another_process_wakes_the_worker(self, opener: Opener) -> None:
        """The deliver process learns of a record an intake process kept without polling the queue for it."""
        deliverer, intake = opener(), opener()
        generation = deliverer.wait_for_work(0, 0.0)
        admit(intake, 1)
        assert deliverer.wait_for_work(generation, 30.0) > generation

    def test_retry_wakes_the_worker(self, journal: Journal) -> None:
        generation = journal.wait_for_work(0, 0.0)
        journal.retry(failed=True)
        assert journal.wait_for_work(generation, 30.0) > generation

    def test_requeue_sends_a_lost_delivery_back(self, journal: Journal) -> None:
        """A record marked delivered that the store lost is queued again."""
        [identifier] = admit(journal, 1)
        journal.mark_delivered([Delivered(identifier, "p", "a" * 40, True)])
        assert [r.id for r in journal.recently_delivered(10)] == [identifier]
        journal.requeue([identifier])
        assert [r.id for r in journal.pending(10)] == [identifier]
        assert journal.get(identifier).commit is None  # type: ignore[union-attr]


class TestStatus:
    def test_no_status_before_one_is_published(self, journal: Journal) -> None:
        assert journal.delivery_status() is None

    def test_the_latest_published_status_is_read_back(self, opener: Opener) -> None:
        """One process publishes, another reads: the last write wins."""
        writer, reader = opener(), opener()
        writer.set_delivery_status({"state": "retrying"})
        writer.set_delivery_status({"state": "ok", "deliverer": "host:1"})
        published = reader.delivery_status()
        assert published is not None and published[0] == {"state": "ok", "deliverer": "host:1"} and published[1] >= 0.0


class TestClaims:
    def test_pending_is_oldest_first(self, journal: Journal) -> None:
        identifiers = admit(journal, 3, 1, 2)
        assert [r.id for r in journal.pending(10)] == identifiers

    def test_two_claimers_never_get_the_same_record(self, engine: str, opener: Opener) -> None:
        """On PostgreSQL, deliverers claiming at the same time split the queue between them."""
        if engine != "postgresql":
            pytest.skip("SQLite's journal has one deliverer per file (the flock lease); it does not claim")
        one, two = opener(), opener()
        admit(one, *range(40))
        with ThreadPoolExecutor(4) as pool:
            claims = list(pool.map(lambda j: [r.id for r in j.pending(5, now=10.0)], [one, two, one, two, one, two, one, two]))
        taken = [i for claim in claims for i in claim]
        assert len(taken) == 40 and len(set(taken)) == 40

    def test_a_claim_lapses_when_its_deliverer_is_gone(self, engine: str, opener: Opener) -> None:
        """On PostgreSQL, records claimed and never marked are handed out again once the claim lapses."""
        if engine != "postgresql":
            pytest.skip("SQLite's journal has one deliverer per file (the flock lease); it does not claim")
        from receiver.journal.outbox import CLAIM_SECONDS

        gone, survivor = opener(), opener()
        [identifier] = admit(gone, 1)
        assert [r.id for r in gone.pending(10, now=10.0)] == [identifier]
        assert survivor.pending(10, now=10.0 + CLAIM_SECONDS - 1) == []
        assert [r.id for r in survivor.pending(10, now=10.0 + CLAIM_SECONDS)] == [identifier]
