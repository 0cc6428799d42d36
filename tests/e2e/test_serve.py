"""`receiver serve` on its embedded default, over real HTTP: captured requests, re-posts, load, crashes."""

from __future__ import annotations

import asyncio
import http.client
import json
import select
import socket
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import commits, git, ids_in, wait_delivered
from tests.support.captured import captured_body, captured_requests
from tests.support.servers import ReceiverProcess, wait_until

REPO = "receiver-data/annotations.git"
NO_LIMIT = {"RECEIVER_RATE_LIMIT": "0"}


def replay(port: int, raw: object) -> http.client.HTTPResponse:
    """Send a captured request byte for byte (its request line, headers in order, body)."""
    lines = [raw.request_line] + [f"{k}: {v}" for k, v in raw.headers if k.lower() != "connection"] + ["Connection: close"]
    payload = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + raw.body
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(payload)
    response = http.client.HTTPResponse(sock)
    response.begin()
    response.body = response.read()  # type: ignore[attr-defined]
    sock.close()
    return response


@pytest.fixture
def server(tmp_path: Path) -> ReceiverProcess:
    with ReceiverProcess(tmp_path) as running:
        yield running


def test_captured_requests_get_what_a_browser_needs(server: ReceiverProcess, tmp_path: Path) -> None:
    """Preflight 2xx with CORS headers; each POST 202 with CORS; the records land in git, fsck clean."""
    accepted = []
    for raw in captured_requests():
        response = replay(server.port, raw)
        assert response.getheader("access-control-allow-origin") == "http://localhost:8765", raw.name
        if raw.method == "OPTIONS":
            assert 200 <= response.status < 300
            assert "POST" in response.getheader("access-control-allow-methods", "")
        else:
            assert response.status == 202, response.body
            accepted.append(json.loads(response.body)["id"])
    wait_delivered(server.url)
    repository = tmp_path / REPO
    assert sorted(ids_in(repository)) == sorted(accepted)
    subprocess.run(["git", f"--git-dir={repository}", "fsck", "--strict", "--no-dangling"], check=True, capture_output=True)
    stored = json.loads(git(repository, "show", f"main:{httpx.get(server.url + '/api/submissions/' + accepted[0]).json()['path']}"))
    assert stored["receipt"]["id"] == accepted[0] and stored["receipt"]["submitter"] == "anonymous"


def test_repost_gives_existing_record_and_no_new_commit(server: ReceiverProcess, tmp_path: Path) -> None:
    raw = next(r for r in captured_requests() if r.name == "post_six_placed")
    first = replay(server.port, raw)
    wait_delivered(server.url)
    before = commits(tmp_path / REPO)
    again = replay(server.port, raw)
    wait_delivered(server.url)
    assert (first.status, again.status) == (202, 200)
    answer = json.loads(again.body)
    assert answer["id"] == json.loads(first.body)["id"] and answer["status"] == "delivered" and answer["commit"]
    assert commits(tmp_path / REPO) == before


def test_status_reaches_delivered_with_commit(server: ReceiverProcess, tmp_path: Path) -> None:
    accepted = httpx.post(f"{server.url}/api/labels", json=captured_body()).json()
    wait_delivered(server.url)
    status = httpx.get(server.url + accepted["status_url"]).json()
    assert status["status"] == "delivered"
    assert git(tmp_path / REPO, "cat-file", "-t", status["commit"]).strip() == "commit"


def submission(client: int, n: int) -> dict:
    body = captured_body()
    body["frame_index"] = (client * 1000 + n) % 300
    body["timestamp"] = f"2026-11-25T08:{client % 60:02d}:{n % 60:02d}.{client:03d}Z"
    body["labels"][0]["pixel_x"] = n % 1280
    body["labels"][1]["pixel_x"] = n // 1280
    return body


async def load(
    url: str, clients: int, per_client: int, stop: threading.Event | None = None, *, offset: int = 0, resend: int = 0
) -> dict[str, list]:
    """`clients` concurrent clients, each posting `per_client` distinct submissions; answers by kind.

    With `resend`, a client whose post got no answer (a timeout, a dropped connection) sends the same
    submission again, up to that many times, as the labeling page does: the receiver answers a re-post
    with the record it already has, so nothing may be stored twice. Each such try is kept in `resent`.
    """
    outcome: dict[str, list] = {"accepted": [], "server_errors": [], "other": [], "transport_errors": [], "resent": []}

    async def one_client(client: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            for n in range(per_client):
                if stop is not None and stop.is_set():
                    return
                for attempt in range(resend + 1):
                    try:
                        response = await http.post("/api/labels", json=submission(client + offset, n))
                        break
                    except httpx.TransportError as exc:
                        failure = (client, n, type(exc).__name__, str(exc)[:120])
                        outcome["resent" if attempt < resend else "transport_errors"].append(failure)
                else:
                    continue
                if response.status_code in (200, 201, 202):
                    outcome["accepted"].append(response.json()["id"])
                elif response.status_code >= 500:
                    outcome["server_errors"].append(response.status_code)
                else:
                    outcome["other"].append((response.status_code, response.text[:200]))

    await asyncio.gather(*(one_client(c) for c in range(clients)))
    return outcome


def test_32_clients_times_100_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    """3,200 concurrent submissions: no 5xx, and the repository holds each accepted record exactly once.

    On a machine whose cores other jobs share, a post can outlast the client's 30 s timeout; the client
    sends it again, as the page does, and the re-post must not be stored twice.
    """
    with ReceiverProcess(tmp_path, NO_LIMIT) as server:
        outcome = asyncio.run(load(server.url, 32, 100, resend=3))
        wait_delivered(server.url)
    if outcome["resent"]:
        print(f"sent again after no answer: {outcome['resent'][:10]}")
    assert outcome["server_errors"] == [] and outcome["other"] == [] and outcome["transport_errors"] == []
    assert len(outcome["accepted"]) == 3200
    stored = ids_in(tmp_path / REPO)
    assert set(stored) == set(outcome["accepted"])
    assert max(stored.values()) == 1


def received(url: str) -> int:
    journal = httpx.get(f"{url}/health", timeout=5).json()["journal"]
    return int(journal["queued"] + journal["delivered"])


def test_kill_9_during_load_loses_nothing_that_got_a_2xx(tmp_path: Path) -> None:
    """Crash the server mid-load, restart it: every acknowledged submission is in git exactly once."""
    server = ReceiverProcess(tmp_path, NO_LIMIT).start()
    stop = threading.Event()
    result: dict[str, list] = {}

    def run_load() -> None:
        result.update(asyncio.run(load(server.url, 16, 200, stop)))

    loader = threading.Thread(target=run_load)
    loader.start()
    wait_until(lambda: len(result.get("accepted", [])) > 0 or received(server.url) > 500, timeout=60, what="500 records")
    server.kill()
    stop.set()
    loader.join()
    assert result["server_errors"] == []
    restarted = ReceiverProcess(tmp_path, NO_LIMIT, port=server.port).start()
    try:
        wait_delivered(restarted.url)
    finally:
        restarted.stop()
    stored = ids_in(tmp_path / REPO)
    missing = set(result["accepted"]) - set(stored)
    assert not missing, f"{len(missing)} acknowledged submissions lost"
    assert max(stored.values()) == 1
    subprocess.run(["git", f"--git-dir={tmp_path / REPO}", "fsck", "--strict", "--no-dangling"], check=True, capture_output=True)


def test_several_worker_processes_share_one_journal_and_one_deliverer(tmp_path: Path) -> None:
    """RECEIVER_WORKERS=2: every accepted submission is delivered exactly once, and /health speaks for the deliverer."""
    with ReceiverProcess(tmp_path, {**NO_LIMIT, "RECEIVER_WORKERS": "2"}) as server:
        outcome = asyncio.run(load(server.url, 8, 25))
        wait_delivered(server.url)
        health = httpx.get(f"{server.url}/health").json()
    assert len(outcome["accepted"]) == 200 and outcome["server_errors"] == []
    stored = ids_in(tmp_path / REPO)
    assert set(stored) == set(outcome["accepted"]) and max(stored.values()) == 1
    assert health["store"]["name"] == "local" and health["store"]["state"] == "ok"


def test_a_refusal_is_sent_after_the_body_so_closing_never_resets_the_connection(tmp_path: Path) -> None:
    """A 429 sent before the body arrived, then a close with request bytes still coming in, makes the
    kernel reset the connection: the client may read "connection reset" instead of the 429."""
    with ReceiverProcess(tmp_path, {"RECEIVER_RATE_LIMIT": "1/hour"}) as server:
        assert httpx.post(f"{server.url}/api/labels", json=captured_body()).status_code == 202
        body = json.dumps({**captured_body(), "frame_index": 1}).encode()
        head = (
            f"POST /api/labels HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(head)
            answered_early, _, _ = select.select([sock], [], [], 0.5)
            sock.sendall(body)
            answer = b""
            while chunk := sock.recv(65536):  # to the server's close: a reset raises here
                answer += chunk
    assert not answered_early, "the receiver answered before the body arrived"
    assert answer.startswith(b"HTTP/1.1 429 ")


def test_two_worker_processes_allow_the_limit_once(tmp_path: Path) -> None:
    """RECEIVER_WORKERS=2 and 10/hour: 40 posts on fresh connections (spread over both processes) get exactly 10 accepted."""
    with ReceiverProcess(tmp_path, {"RECEIVER_RATE_LIMIT": "10/hour", "RECEIVER_WORKERS": "2"}) as server:
        codes = []
        for n in range(40):
            body = {**captured_body(), "frame_index": n}
            codes.append(httpx.post(f"{server.url}/api/labels", json=body, headers={"Connection": "close"}).status_code)
    assert codes.count(202) == 10 and codes.count(429) == 30
