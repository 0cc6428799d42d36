"""Group commit: what the writer is handed, and what every waiter gets back."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from receiver.contract.records import Record
from receiver.journal.connector import JournalUnavailable
from receiver.journal.grouping import GroupCommit
from tests.support.captured import numbered_record as record


class Writer:
    """A write function that records each group it is given; the first group can be held back."""

    def __init__(self, *, hold_first: bool = False, fail: bool = False) -> None:
        self.groups: list[list[str]] = []
        self.first_started = threading.Event()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()
        self.fail = fail

    def __call__(self, records: Sequence[Record]) -> list[str]:
        self.groups.append([r.id for r in records])
        self.first_started.set()
        self.release.wait(10)
        if self.fail:
            raise JournalUnavailable("disk full")
        return [f"kept {r.id}" for r in records]


def running(writer: Writer, *, max_group: int = 512) -> GroupCommit[str]:
    commit: GroupCommit[str] = GroupCommit(writer, max_group=max_group, on_written=lambda outcomes: None)
    commit.start()
    return commit


def test_admissions_made_while_the_writer_is_busy_go_together_in_the_next_group() -> None:
    writer = Writer(hold_first=True)
    commit = running(writer)

    async def scenario() -> list[str]:
        first = asyncio.ensure_future(commit.admit(record(0)))
        await asyncio.get_running_loop().run_in_executor(None, writer.first_started.wait, 10)
        rest = [asyncio.ensure_future(commit.admit(record(n))) for n in range(1, 40)]
        await asyncio.sleep(0.05)
        writer.release.set()
        return await asyncio.gather(first, *rest)

    try:
        answers = asyncio.run(scenario())
    finally:
        commit.stop()
    assert answers == [f"kept {record(n).id}" for n in range(40)]
    assert [len(group) for group in writer.groups] == [1, 39]


def test_a_group_is_never_larger_than_the_limit() -> None:
    writer = Writer()
    commit = running(writer, max_group=8)

    async def scenario() -> list[str]:
        return await asyncio.gather(*(commit.admit(record(n)) for n in range(30)))

    try:
        answers = asyncio.run(scenario())
    finally:
        commit.stop()
    assert len(answers) == 30 and max(len(group) for group in writer.groups) <= 8
    assert sorted(i for group in writer.groups for i in group) == sorted(record(n).id for n in range(30))


def test_a_failed_write_answers_every_waiter_of_the_group_with_the_failure() -> None:
    commit = running(Writer(fail=True))

    async def scenario() -> list[object]:
        return await asyncio.gather(*(commit.admit(record(n)) for n in range(5)), return_exceptions=True)

    try:
        answers = asyncio.run(scenario())
    finally:
        commit.stop()
    assert all(isinstance(answer, JournalUnavailable) for answer in answers)


def test_the_loop_keeps_handing_over_after_a_failed_group() -> None:
    writer = Writer(fail=True)
    commit = running(writer)

    async def scenario() -> str:
        with pytest.raises(JournalUnavailable):
            await commit.admit(record(1))
        writer.fail = False
        return await commit.admit(record(2))

    try:
        assert asyncio.run(scenario()) == f"kept {record(2).id}"
    finally:
        commit.stop()


def test_a_cancelled_waiter_leaves_the_rest_of_its_group_answered() -> None:
    writer = Writer(hold_first=True)
    commit = running(writer)

    async def scenario() -> str:
        gone = asyncio.ensure_future(commit.admit(record(1)))
        stays = asyncio.ensure_future(commit.admit(record(2)))
        await asyncio.get_running_loop().run_in_executor(None, writer.first_started.wait, 10)
        gone.cancel()
        writer.release.set()
        return await stays

    try:
        assert asyncio.run(scenario()) == f"kept {record(2).id}"
    finally:
        commit.stop()
    assert writer.groups == [[record(1).id, record(2).id]]


def test_threads_without_a_loop_are_answered_through_futures() -> None:
    commit = running(Writer())
    try:
        futures = [commit.submit(record(n)) for n in range(3)]
        assert [f.result(timeout=10) for f in futures] == [f"kept {record(n).id}" for n in range(3)]
    finally:
        commit.stop()


def test_stopping_writes_what_was_queued_first() -> None:
    writer = Writer(hold_first=True)
    commit = running(writer)
    futures = [commit.submit(record(n)) for n in range(3)]
    writer.first_started.wait(10)
    writer.release.set()
    commit.stop()
    assert all(f.done() and f.result() == f"kept {record(n).id}" for n, f in enumerate(futures))


def test_an_unexpected_error_in_a_write_answers_its_group_and_keeps_the_writer_alive() -> None:
    calls: list[int] = []

    def flaky(records: Sequence[Record]) -> list[str]:
        calls.append(len(records))
        if len(calls) == 1:
            raise KeyError("a bug")
        return [f"kept {r.id}" for r in records]

    commit: GroupCommit[str] = GroupCommit(flaky, max_group=8, on_written=lambda outcomes: None)
    commit.start()
    try:
        with pytest.raises(JournalUnavailable):
            commit.submit(record(1)).result(timeout=10)
        assert commit.submit(record(2)).result(timeout=10) == f"kept {record(2).id}"
    finally:
        commit.stop()
