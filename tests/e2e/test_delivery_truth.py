"""Over real HTTP: `receiver serve` against `python -m tests.github_fake` never claims what did not happen.

A ruleset refusal ends records failed with GitHub's reason (never
delivered) until `receiver retry --failed`; an unreadable answer turns
/health degraded within the stall setting; reading submission status spends
no GitHub request.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import httpx

from receiver.cli import main
from tests.e2e.conftest import FAST, wait_delivered
from tests.e2e.test_serve import load
from tests.support.github_world import RULE_VIOLATION
from tests.support.servers import FakeGitHubProcess, ReceiverProcess, wait_until


def statuses(url: str, ids: list[str]) -> list[dict]:  # type: ignore[type-arg]
    return [httpx.get(f"{url}/api/submissions/{i}", timeout=10).json() for i in ids]


def test_ruleset_refusal_ends_failed_and_retry_delivers_each_once(github: FakeGitHubProcess, tmp_path: Path) -> None:
    """422 'Repository rule violations found' on every file write: failed with that reason; retry after the fix delivers."""
    github.control("POST", "faults", RULE_VIOLATION)
    settings = github.receiver_settings(**FAST, RECEIVER_MAX_ATTEMPTS="2", RECEIVER_JOURNAL=str(tmp_path / "journal.sqlite3"))
    with ReceiverProcess(tmp_path, settings) as server:
        ids = asyncio.run(load(server.url, 4, 3))["accepted"]
        assert len(ids) == 12

        def all_failed() -> bool:
            seen = statuses(server.url, ids)
            assert not any(s["status"] == "delivered" for s in seen), "a refused record was reported delivered"
            return all(s["status"] == "failed" for s in seen)

        wait_until(all_failed, timeout=120, interval=0.2, what="every refused record to fail")
        failed = statuses(server.url, ids)
        health = httpx.get(f"{server.url}/health").json()
        assert github.state()["pulls"] == []
        github.control("DELETE", "faults")
        out, err = io.StringIO(), io.StringIO()
        assert main(["retry", "--failed"], environ=settings, out=out, err=err) == 0
        wait_delivered(server.url, timeout=120)
        delivered = statuses(server.url, ids)
    assert all("Repository rule violations found" in s["last_error"] for s in failed)
    assert health["failed"]["count"] == 12 and "Repository rule violations found" in health["failed"]["last_reason"]
    assert all(s["status"] == "delivered" for s in delivered)
    state = github.state()
    heads = [p["head_ref"] for p in state["pulls"]]
    assert sorted(heads) == sorted(f"annotations/{i}" for i in ids)
    for status in delivered[:4]:
        files = github.state(status["branch"])["files"]
        assert status["path"] in files and status["path"] not in state["files"]


def test_unreadable_answers_turn_health_degraded_then_everything_is_delivered(github: FakeGitHubProcess, tmp_path: Path) -> None:
    """A 200 whose body is HTML: /health says stalled within the stall setting; cleared, every record arrives."""
    github.control("POST", "faults", {"kind": "body", "status": 200, "body": "<html>unicorn</html>", "count": None, "method": "GET"})
    settings = github.receiver_settings(**FAST, RECEIVER_STALL_SECONDS="2")
    with ReceiverProcess(tmp_path, settings) as server:
        ids = asyncio.run(load(server.url, 2, 3))["accepted"]

        def stalled() -> bool:
            health = httpx.get(f"{server.url}/health").json()
            return health["status"] == "degraded" and health["delivery"]["state"] == "stalled"

        wait_until(stalled, timeout=30, interval=0.2, what="/health to say stalled")
        health = httpx.get(f"{server.url}/health").json()
        github.control("DELETE", "faults")
        wait_delivered(server.url, timeout=120)
        after = httpx.get(f"{server.url}/health").json()
        delivered = statuses(server.url, ids)
    assert "could not be read" in health["delivery"]["reason"] and health["journal"]["backlog"] == len(ids)
    assert after["status"] == "ok"
    assert all(s["status"] == "delivered" for s in delivered)
    assert len(github.state()["pulls"]) == len(ids)


def test_status_reads_spend_no_github_request(github: FakeGitHubProcess, tmp_path: Path) -> None:
    """100 GETs of delivered records' status add nothing to the fake's log but the worker's own refresh."""
    with ReceiverProcess(tmp_path, github.receiver_settings(**FAST)) as server:
        ids = asyncio.run(load(server.url, 2, 5))["accepted"]
        wait_delivered(server.url, timeout=120)
        before = len(github.log())
        for n in range(100):
            assert httpx.get(f"{server.url}/api/submissions/{ids[n % len(ids)]}").json()["pull_state"] == "open"
        added = github.log()[before:]
    # The worker's refresh is one list request a minute, whatever the number of GETs.
    assert len(added) <= 1
    assert all(entry["method"] == "GET" and entry["path"].endswith("/pulls") for entry in added)
