"""Every way GitHub can answer badly, through the delivery worker: never "delivered" unless the bytes are held.

Each fault is played by the fake on the calls of one submission's delivery.
While it lasts, the record stays queued (retry later) or ends failed with
GitHub's reason (refused); once it is cleared (and failed records retried),
the record is delivered with its file in exactly one pull request.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.github_fake import FakeClock, Fault
from tests.stores.contract import GitHubWorld, Harness, journal_at, run_worker
from tests.support.captured import numbered_record as record
from tests.support.github_world import REPO, RULE_VIOLATION, fake_world

INVALID = {"message": "Validation Failed", "errors": [{"resource": "Commit", "code": "custom", "field": "path", "message": "path is invalid"}]}

#: name -> (fault fields, what the record becomes while the fault lasts). A write whose answer was
#: lost happened all the same: the next attempt observes the file on the branch and adopts it.
FAULTS: dict[str, tuple[dict[str, Any], str]] = {
    "422 ruleset violation": (RULE_VIOLATION, "failed"),
    "422 validation failed": ({"kind": "status", "status": 422, **INVALID, "method": "PUT", "path": "/contents/"}, "failed"),
    "409 conflict": ({"kind": "status", "status": 409, "message": "Git Repository is empty.", "method": "POST", "path": "/git/refs$"}, "queued"),
    "404 not found": ({"kind": "status", "status": 404, "method": "POST", "path": "/pulls$"}, "failed"),
    "403 without retry-after": ({"kind": "status", "status": 403, "message": "Resource not accessible by integration", "method": "PUT", "path": "/contents/"}, "failed"),
    "403 with retry-after": ({"kind": "status", "status": 403, "message": "You have exceeded a secondary rate limit", "headers": {"retry-after": "60"}, "method": "PUT", "path": "/contents/"}, "queued"),
    "429 with retry-after": ({"kind": "status", "status": 429, "headers": {"retry-after": "30"}, "method": "POST", "path": "/pulls$"}, "queued"),
    "500": ({"kind": "status", "status": 500, "method": "POST", "path": "/pulls$"}, "queued"),
    "a delay": ({"kind": "delay", "delay": 30.0, "method": "PUT", "path": "/contents/"}, "delivered"),
    "a dropped connection": ({"kind": "drop", "method": "POST", "path": "/git/refs$"}, "queued"),
    "a dropped answer after the write": ({"kind": "drop", "method": "PUT", "path": "/contents/", "after": True}, "delivered"),
    "an unreadable 200 body": ({"kind": "body", "status": 200, "body": "<html>unicorn</html>", "method": "GET", "path": "/git/ref/"}, "queued"),
    "an unreadable body after the write": ({"kind": "body", "status": 201, "body": '{"content": 1', "method": "PUT", "path": "/contents/", "after": True}, "delivered"),
}


@pytest.fixture
def world() -> Iterator[GitHubWorld]:
    clock = FakeClock()
    with fake_world(clock) as fake:
        yield GitHubWorld(fake, clock)


@pytest.fixture
def harness(world: GitHubWorld, tmp_path: Path) -> Iterator[Harness]:
    for journal in journal_at(tmp_path / "journal.sqlite3"):
        yield Harness(world, journal)


@pytest.mark.parametrize("name", list(FAULTS))
def test_fault_never_reports_delivered_without_the_bytes(world: GitHubWorld, harness: Harness, name: str) -> None:
    """While the fault lasts, the journal's state and GitHub's content agree."""
    fields, expected = FAULTS[name]
    world.fake.add_fault(Fault(**{"count": None, **fields}))
    rec = record(11)
    harness.admit(rec)
    run_worker(harness.worker(world.store(), max_refusals=3), world.clock, steps=12)
    entry = harness.journal.get(rec.id)
    assert entry is not None
    assert entry.state == expected
    assert (entry.state == "delivered") == world.holds(rec)
    if entry.state != "delivered":
        assert entry.last_error
    if expected == "failed":
        assert fields.get("message", "") in (entry.last_error or "")


@pytest.mark.parametrize("name", list(FAULTS))
def test_after_the_fault_the_record_is_in_exactly_one_pull(world: GitHubWorld, harness: Harness, name: str) -> None:
    """Fault cleared, failed records retried: delivered, one file in one pull request."""
    fields, _ = FAULTS[name]
    world.fake.add_fault(Fault(**{"count": None, **fields}))
    rec = record(12)
    harness.admit(rec)
    worker = harness.worker(world.store(), max_refusals=3)
    run_worker(worker, world.clock, steps=12)
    world.clear()
    harness.journal.retry(failed=True)
    run_worker(worker, world.clock)
    entry = harness.journal.get(rec.id)
    assert entry is not None and entry.state == "delivered" and world.holds(rec)
    pulls = [p for p in world.fake.pulls(REPO, "all") if p.head_ref == rec.branch]
    assert len(pulls) == 1 and entry.pull_number == pulls[0].number
