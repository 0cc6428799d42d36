"""`receiver serve` delivering to the fake GitHub over real HTTP: PRs per submission, outages, a crash mid-delivery."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.e2e.conftest import FAST, wait_delivered
from tests.e2e.test_serve import load
from tests.support.captured import captured_posts
from tests.support.servers import FakeGitHubProcess, ReceiverProcess, wait_until


def added_files(github: FakeGitHubProcess, pull: dict, main: set[str]) -> set[str]:
    files = github.state(pull["head_ref"])["files"]
    return {p for p in files if p not in main}


def test_200_submissions_give_200_pull_requests(github: FakeGitHubProcess, tmp_path: Path) -> None:
    """Captured and generated payloads from concurrent clients: one PR each, one file each, at most 3 writes each."""
    with ReceiverProcess(tmp_path, github.receiver_settings(**FAST)) as server:
        for request in captured_posts():
            assert httpx.post(f"{server.url}/api/labels", content=request.body, headers={"Content-Type": "application/json"}).status_code == 202
        outcome = asyncio.run(load(server.url, 13, 15))
        wait_delivered(server.url, timeout=300)
        accepted = len(outcome["accepted"]) + len(captured_posts())
        status = httpx.get(f"{server.url}/api/submissions/{outcome['accepted'][0]}").json()
    assert accepted == 200
    state = github.state()
    main = set(state["files"])
    pulls = state["pulls"]
    assert len(pulls) == 200 and all(p["state"] == "open" and p["head_ref"].startswith("annotations/") for p in pulls)
    for pull in pulls[:: 20]:
        added = added_files(github, pull, main)
        assert len(added) == 1 and next(iter(added)).startswith("annotations/")
    writes = [e for e in github.log() if e["content_creating"]]
    assert len(writes) <= 3 * 200
    assert status["pull_number"] and status["pull_url"] and status["branch"].startswith("annotations/")
    assert status["pull_state"] == "open"


def test_outage_keeps_accepting_and_delivers_after_recovery(github: FakeGitHubProcess, tmp_path: Path) -> None:
    """5xx, then dropped connections: 202s go on, /health shows the backlog, all arrive once GitHub is back."""
    github.control("POST", "faults", {"kind": "status", "status": 503, "count": None})
    with ReceiverProcess(tmp_path, github.receiver_settings(**FAST)) as server:
        first = asyncio.run(load(server.url, 4, 5))
        wait_until(lambda: httpx.get(f"{server.url}/health").json()["store"]["state"] == "retrying", what="the store to be retrying")
        github.control("DELETE", "faults")
        github.control("POST", "faults", {"kind": "drop", "count": None})
        second = asyncio.run(load(server.url, 4, 5, offset=100))
        health = httpx.get(f"{server.url}/health").json()
        github.control("DELETE", "faults")
        wait_delivered(server.url, timeout=300)
    assert len(first["accepted"]) == len(second["accepted"]) == 20
    assert health["status"] == "degraded" and health["journal"]["backlog"] > 0
    pulls = github.state()["pulls"]
    assert len(pulls) == 40
    assert len({p["head_ref"] for p in pulls}) == 40


def test_kill_9_between_branch_and_pull_gives_one_of_each(github: FakeGitHubProcess, tmp_path: Path) -> None:
    """The PR request hangs, the receiver dies; after restart there is one branch and one PR for the record."""
    github.control("POST", "faults", {"kind": "delay", "delay": 60, "count": 1, "method": "POST", "path": r".*/pulls$"})
    body = captured_posts()[0].body
    server = ReceiverProcess(tmp_path, github.receiver_settings(**FAST)).start()
    accepted = httpx.post(f"{server.url}/api/labels", content=body, headers={"Content-Type": "application/json"}).json()
    wait_until(lambda: any(e["method"] == "PUT" and "/contents/" in e["path"] for e in github.log()), what="the file to be written on the branch")
    server.kill()
    github.control("DELETE", "faults")
    with ReceiverProcess(tmp_path, github.receiver_settings(**FAST), port=server.port) as restarted:
        wait_delivered(restarted.url, timeout=120)
        status = httpx.get(f"{restarted.url}{accepted['status_url']}").json()
    state = github.state()
    branch = f"refs/heads/annotations/{accepted['id']}"
    assert [r for r in state["refs"] if r.startswith("refs/heads/annotations/")] == [branch]
    pulls_for_branch = [p for p in state["pulls"] if p["head_ref"] == f"annotations/{accepted['id']}"]
    assert len(pulls_for_branch) == 1 and pulls_for_branch[0]["state"] == "open"
    assert status["status"] == "delivered" and status["pull_number"] == pulls_for_branch[-1]["number"]
