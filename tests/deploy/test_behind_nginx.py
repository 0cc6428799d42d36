"""Three `receiver serve` processes behind nginx (deploy/nginx.conf), one PostgreSQL journal and one bare repository.

Under 64 concurrent connections through nginx the delivering receiver is
killed with SIGKILL and later restarted: nginx hands its requests to the
others, another receiver takes delivery over, and every accepted submission
lands in the repository exactly once. The per-client limit sees the real
client address through nginx, and only through nginx.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from receiver.volunteers.sessions import SessionKeys
from tests.e2e.conftest import ids_in, wait_delivered
from tests.support.captured import captured_body, numbered_submission
from tests.support.nginx import NginxProcess
from tests.support.pgcluster import Cluster
from tests.support.servers import ReceiverProcess, wait_until

CONNECTIONS = 64
OPERATOR = "behind-nginx-operator-token"
#: The Must-show bound between the kill and another receiver delivering. Generous on purpose: the machine is
#: shared, and a survivor notices the freed advisory lock on its next poll, well inside this.
TAKEOVER_SECONDS = 10.0


@dataclass
class Deployment:
    receivers: list[ReceiverProcess]
    nginx: NginxProcess
    repository: Path


@contextlib.contextmanager
def deployment(tmp_path: Path, cluster: Cluster, nginx_binary: Path, count: int, settings: Mapping[str, str]) -> Iterator[Deployment]:
    """`count` receivers sharing a fresh journal database and one bare repository, with nginx in front."""
    repository = tmp_path / "shared" / "annotations.git"
    environ = {
        "RECEIVER_JOURNAL": cluster.database(),
        "RECEIVER_LOCAL_REPO": str(repository),
        # nginx reaches the receivers from loopback: its X-Forwarded-For is trusted from there only.
        "RECEIVER_FORWARDED_ALLOW_IPS": "127.0.0.1",
        # /health names the deliverer only to an operator holding this token.
        "RECEIVER_METRICS_TOKEN": OPERATOR,
        **settings,
    }
    receivers = [ReceiverProcess(tmp_path / f"receiver-{n}", environ) for n in range(count)]
    with contextlib.ExitStack() as stack:
        for receiver in receivers:
            stack.enter_context(receiver)
        nginx = stack.enter_context(NginxProcess(nginx_binary, tmp_path / "nginx", [f"127.0.0.1:{r.port}" for r in receivers]))
        yield Deployment(receivers, nginx, repository)


def holder(server: ReceiverProcess) -> str:
    """How /health names a receiver that holds the delivery lock."""
    assert server.process is not None
    return f"{socket.gethostname()}:{server.process.pid}"


def health(server: ReceiverProcess) -> dict:  # type: ignore[type-arg]
    answer: dict = httpx.get(f"{server.url}/health", headers={"Authorization": f"Bearer {OPERATOR}"}, timeout=5).json()  # type: ignore[type-arg]
    return answer


@dataclass
class Load:
    """What the clients saw: the ids of 2xx answers, and every other outcome."""

    accepted: list[str] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)


#: What a connection sends with a body besides it: nothing, or a volunteer's session and the body's frame lease.
Headers = Callable[[int, dict[str, Any]], dict[str, str]]


async def _post_until(url: str, load: Load, stop: threading.Event, headers: Headers | None = None) -> None:
    async def one_connection(client: int) -> None:
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
            n = 0
            while not stop.is_set():
                # Distinct submissions: client and sequence number make one number, its own record.
                body = numbered_submission(client + CONNECTIONS * n)
                n += 1
                try:
                    response = await http.post("/api/labels", json=body, headers=headers(client, body) if headers else None)
                except httpx.TransportError as exc:
                    load.transport_errors.append(type(exc).__name__)
                    continue
                if 200 <= response.status_code < 300:
                    load.accepted.append(response.json()["id"])
                else:
                    load.refused.append((response.status_code, response.text[:200]))

    await asyncio.gather(*(one_connection(c) for c in range(CONNECTIONS)))


@contextlib.contextmanager
def loaded(url: str, headers: Headers | None = None) -> Iterator[Load]:
    """64 connections posting through `url` until the block ends (then they finish the request in flight)."""
    load, stop = Load(), threading.Event()
    thread = threading.Thread(target=asyncio.run, args=(_post_until(url, load, stop, headers),), daemon=True)
    thread.start()
    try:
        yield load
    finally:
        stop.set()
        thread.join(timeout=120)


@pytest.fixture
def three(tmp_path: Path, postgres_cluster: Cluster, nginx_binary: Path) -> Iterator[Deployment]:
    """Three receivers behind nginx, the per-client limit off (the load comes from one address)."""
    with deployment(tmp_path, postgres_cluster, nginx_binary, 3, {"RECEIVER_RATE_LIMIT": "0"}) as deployed:
        yield deployed


def test_killing_the_deliverer_under_load_through_nginx_loses_nothing_and_another_takes_over(three: Deployment) -> None:
    """SIGKILL the deliverer under 64 connections: another delivers within 10 s, all 2xx land once, /health agrees."""
    with loaded(three.nginx.url) as load:
        wait_until(lambda: len(load.accepted) >= 300, timeout=120, interval=0.1, what="300 submissions accepted through nginx")
        wait_until(lambda: health(three.receivers[0])["deliverer"] is not None, timeout=30, interval=0.1, what="a deliverer")
        named = health(three.receivers[0])["deliverer"]
        victim = next(r for r in three.receivers if holder(r) == named)
        survivors = [r for r in three.receivers if r is not victim]

        delivered_at_kill = health(survivors[0])["journal"]["delivered"]
        victim.kill()
        # A monotonic clock in a test, for once: the takeover bound is what this deployment promises.
        killed_at = time.monotonic()

        def taken_over() -> bool:
            views = [health(r) for r in survivors]
            named_now = {v["deliverer"] for v in views}
            return len(named_now) == 1 and named_now <= {holder(r) for r in survivors} and views[0]["journal"]["delivered"] > delivered_at_kill

        wait_until(taken_over, timeout=60, interval=0.1, what="a survivor to take delivery over and deliver")
        takeover_seconds = time.monotonic() - killed_at
        accepted_at_takeover = len(load.accepted)

        victim.start()  # the same port: nginx sends it traffic again once its fail_timeout is over
        wait_until(lambda: len(load.accepted) >= accepted_at_takeover + 300, timeout=120, interval=0.1, what="300 more accepted after the restart")

    wait_delivered(three.nginx.url)
    landed = ids_in(three.repository)
    views = [health(r) for r in three.receivers]
    print(f"takeover {takeover_seconds:.2f} s after the kill; {len(load.accepted)} accepted, {len(landed)} files")
    assert takeover_seconds < TAKEOVER_SECONDS
    assert load.refused == [] and load.transport_errors == []
    assert set(load.accepted) <= set(landed) and set(landed.values()) == {1}
    assert len({v["deliverer"] for v in views}) == 1 and views[0]["deliverer"] in {holder(r) for r in three.receivers}


def test_three_receivers_under_load_keep_one_frame_tally_that_counts_every_label_once(
    tmp_path: Path, postgres_cluster: Cluster, nginx_binary: Path
) -> None:
    """64 volunteers labelling 300 frames through three receivers: each frame counts one label per volunteer who labelled it, up to its cap."""
    body = captured_body()
    videos = tmp_path / "videos.json"
    geometry = {"url": body["video_url"], "fps": body["fps"], "frames": 300, "width": body["frame_width"], "height": body["frame_height"]}
    videos.write_text(json.dumps([geometry]))
    url = postgres_cluster.database()
    settings = {
        "RECEIVER_JOURNAL": url,
        "RECEIVER_RATE_LIMIT": "0",
        "RECEIVER_VIDEOS": str(videos),
        "RECEIVER_SESSION_LIMIT": "0",
        "RECEIVER_SESSION_SECRET": SECRET,
    }
    with deployment(tmp_path, postgres_cluster, nginx_binary, 3, settings) as three, loaded(three.nginx.url, leased(three.nginx.url)) as load:
        # About five labels a frame, many of them admitted at once on different receivers.
        wait_until(lambda: len(load.accepted) >= 1500, timeout=120, interval=0.1, what="1,500 submissions accepted through nginx")
    assert load.refused == [] and load.transport_errors == []
    with psycopg.connect(url) as connection:
        tally = {frame: labels for frame, labels in connection.execute("SELECT frame, labels FROM frames WHERE labels > 0").fetchall()}
        voices: dict[int, set[str]] = {}
        for frame, document in connection.execute("SELECT frame_index, document FROM records").fetchall():
            voices.setdefault(frame, set()).add(json.loads(bytes(document))["receipt"]["volunteer"])
        touched = connection.execute("SELECT touched FROM videos").fetchone()
    assert tally == {frame: min(len(names), CAP) for frame, names in voices.items()} and touched == (len(voices),)


SECRET = "behind-nginx-tests-secret"
#: Labels judged per frame at K=3 (three times K).
CAP = 9


def leased(url: str) -> Headers:
    """Each connection a volunteer with a session of its own, each label sent with its frame's lease (made with the receivers' secret)."""
    keys = SessionKeys(SECRET, lifetime=86400.0)
    tokens = [httpx.post(f"{url}/api/sessions", timeout=30).json()["session"] for _ in range(CONNECTIONS)]
    sessions = [keys.verify(token, time.time()) for token in tokens]

    def headers(client: int, body: dict[str, Any]) -> dict[str, str]:
        ticket = keys.ticket(sessions[client], body["video_url"], body["frame_index"], time.time() + 3600)
        return {"X-Volunteer-Session": tokens[client], "X-Volunteer-Lease": ticket}

    return headers


LIMITED = {"RECEIVER_RATE_LIMIT": "3/minute"}


def client_from(address: str, base_url: str) -> httpx.Client:
    """A client whose connections leave from `address` (any 127.x.y.z is this machine's loopback)."""
    return httpx.Client(base_url=base_url, transport=httpx.HTTPTransport(local_address=address), timeout=30)


@pytest.fixture
def limited(tmp_path: Path, postgres_cluster: Cluster, nginx_binary: Path) -> Iterator[Deployment]:
    """Two receivers behind nginx, each client allowed 3 submissions a minute."""
    with deployment(tmp_path, postgres_cluster, nginx_binary, 2, LIMITED) as deployed:
        yield deployed


def statuses(http: httpx.Client, first: int, count: int, headers: Mapping[str, str] | None = None) -> list[int]:
    return [http.post("/api/labels", json=numbered_submission(first + n), headers=headers).status_code for n in range(count)]


def test_the_limit_behind_nginx_counts_each_real_client_address(limited: Deployment) -> None:
    """Through nginx, one client spends its own 3 a minute; another address still gets in."""
    with client_from("127.0.0.2", limited.nginx.url) as one, client_from("127.0.0.3", limited.nginx.url) as other:
        assert statuses(one, 0, 4) == [202, 202, 202, 429]
        assert statuses(other, 100, 1) == [202]


def test_a_client_behind_nginx_cannot_escape_the_limit_by_sending_x_forwarded_for(limited: Deployment) -> None:
    """nginx replaces a client's X-Forwarded-For with the address it saw, so a forged one changes nothing."""
    with client_from("127.0.0.2", limited.nginx.url) as one:
        forged = [one.post("/api/labels", json=numbered_submission(n), headers={"X-Forwarded-For": f"10.0.0.{n}"}).status_code for n in range(4)]
    assert forged == [202, 202, 202, 429]


def test_x_forwarded_for_is_honoured_only_from_nginx_s_address(limited: Deployment) -> None:
    """Straight to a receiver from another address, X-Forwarded-For is ignored: the peer address is limited."""
    direct = limited.receivers[0].url
    with client_from("127.0.0.4", direct) as one:
        forged = [one.post("/api/labels", json=numbered_submission(n), headers={"X-Forwarded-For": f"10.0.1.{n}"}).status_code for n in range(4)]
    assert forged == [202, 202, 202, 429]
