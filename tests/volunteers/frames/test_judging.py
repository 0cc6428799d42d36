"""Judging outside the admitting transaction: admission queues a frame, a judgement after it settles it."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from receiver.contract.records import Record
from receiver.journal import Journal
from receiver.volunteers.frames import FrameLedger, SqliteTally
from receiver.volunteers.judging import Judge
from tests.volunteers.frames.conftest import VIDEO, honest_label

KEYPOINTS = ("left_front_paw", "right_front_paw", "left_hind_paw", "right_hind_paw", "nose", "tail_base")
WHEN = datetime(2026, 12, 7, tzinfo=timezone.utc)


@pytest.fixture
def opened(tmp_path: Path) -> Iterator[tuple[Journal, FrameLedger, Path]]:
    path = tmp_path / "journal.sqlite3"
    tally = FrameLedger(SqliteTally(path), (VIDEO,), retire_after=3, keypoints=KEYPOINTS)
    journal = Journal(path, on_admit=tally.admitted).open()
    tally.open()
    yield journal, tally, path
    journal.close()
    tally.close()


def admit(journal: Journal, frame: int, who: str) -> None:
    """A token holder's label: a voice of its own, counted without a session."""
    record = Record.create(honest_label(VIDEO, frame, f"{who}-00001"), submitter=who, received_at=WHEN, receiver_version="0.1.0")
    assert journal.admit_async(record).result(timeout=10).created


def frame_row(path: Path, frame: int) -> tuple[int, int, int]:
    with sqlite3.connect(path) as connection:
        row = connection.execute("SELECT labels, agreeing, retired FROM frames WHERE frame = ?", (frame,)).fetchone()
    return tuple(row)


def queued(path: Path) -> list[tuple[int, int]]:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT video, frame FROM pending_judgements ORDER BY frame").fetchall()


def test_admission_queues_the_frame_and_leaves_judging_for_after(opened: tuple[Journal, FrameLedger, Path]) -> None:
    journal, tally, path = opened
    for who in ("alice", "bob", "carol"):
        admit(journal, 5, who)
    assert queued(path) == [(1, 5)] and frame_row(path, 5) == (0, 0, 0)
    assert tally.judge_pending() == 1
    assert queued(path) == [] and frame_row(path, 5) == (3, 3, 1)


def test_a_read_of_the_tally_judges_what_is_queued_first(opened: tuple[Journal, FrameLedger, Path]) -> None:
    """A 202 already given is never missing from the next answer."""
    journal, tally, path = opened
    for who in ("alice", "bob", "carol"):
        admit(journal, 5, who)
    assert tally.progress().videos[0].retired == 1 and queued(path) == []


def test_the_judge_thread_settles_frames_after_each_admission(opened: tuple[Journal, FrameLedger, Path]) -> None:
    journal, tally, path = opened
    judge = Judge(tally, journal.wait_for_work, journal.wake, poll=30.0).start()
    try:
        for who in ("alice", "bob", "carol"):
            admit(journal, 8, who)
        deadline = time.monotonic() + 10
        while frame_row(path, 8) != (3, 3, 1):
            assert time.monotonic() < deadline, "the judge never settled frame 8"
            time.sleep(0.01)
    finally:
        judge.stop()
    assert queued(path) == []


def test_a_frame_queued_again_while_judged_is_judged_again(opened: tuple[Journal, FrameLedger, Path]) -> None:
    """Each judgement takes the frame off the queue once; a label after it queues the frame anew."""
    journal, tally, path = opened
    admit(journal, 5, "alice")
    tally.judge_pending()
    admit(journal, 5, "bob")
    assert queued(path) == [(1, 5)]
    tally.judge_pending()
    assert frame_row(path, 5) == (2, 2, 0)
