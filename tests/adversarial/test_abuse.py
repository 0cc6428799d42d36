"""Abuse in public mode: a flooding client, slow-body clients, pages from origins not on the allowlist."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.adversarial.conftest import Client, StartReceiver
from tests.adversarial.harness import Profile, Secrets, Tally, submission
from tests.support.servers import ReceiverProcess


def _from(address: str, secrets: Secrets, tally: Tally) -> Client:
    """A client whose connections leave from `address` (anywhere in 127.0.0.0/8 is loopback on Linux)."""
    return Client(secrets, tally, transport=httpx.HTTPTransport(local_address=address))


def test_a_flooding_client_is_limited_while_another_gets_through(start_receiver: StartReceiver, secrets: Secrets, tally: Tally) -> None:
    """127.0.0.2 floods past 10/minute and gets 429 with Retry-After; 127.0.0.1 is still answered 202."""
    server = start_receiver({"RECEIVER_RATE_LIMIT": "10/minute"})
    with _from("127.0.0.2", secrets, tally) as flooder, _from("127.0.0.1", secrets, tally) as neighbour:
        flood = [flooder.post(f"{server.url}/api/labels", json=submission(1, n)) for n in range(40)]
        other = [neighbour.post(f"{server.url}/api/labels", json=submission(2, n)) for n in range(5)]
    statuses = [r.status_code for r in flood]
    assert statuses[:10] == [202] * 10 and set(statuses[10:]) == {429}
    limited = flood[-1]
    assert int(limited.headers["retry-after"]) >= 1 and "wait" in limited.json()["error"]
    assert [r.status_code for r in other] == [202] * 5
    tally.add("submissions accepted", 15)


def test_a_flood_through_a_trusted_proxy_is_limited_by_forwarded_address(start_receiver: StartReceiver, client: Client) -> None:
    """Behind a trusted proxy, X-Forwarded-For names the client: one forwarded address is limited, another is not."""
    server = start_receiver({"RECEIVER_RATE_LIMIT": "5/minute", "RECEIVER_FORWARDED_ALLOW_IPS": "127.0.0.1"})
    flood = [client.post(f"{server.url}/api/labels", json=submission(3, n), headers={"X-Forwarded-For": "203.0.113.7"}) for n in range(12)]
    other = client.post(f"{server.url}/api/labels", json=submission(4, 0), headers={"X-Forwarded-For": "198.51.100.9"})
    assert [r.status_code for r in flood][5:] == [429] * 7
    assert other.status_code == 202


def test_every_address_of_one_ipv6_64_is_one_client(start_receiver: StartReceiver, client: Client, tally: Tally) -> None:
    """300 posts from 300 addresses of 2001:db8:5:6::/64 share one 10/hour bucket; another /64 still gets 202."""
    server = start_receiver({"RECEIVER_RATE_LIMIT": "10/hour", "RECEIVER_FORWARDED_ALLOW_IPS": "127.0.0.1"})
    flood = [
        client.post(f"{server.url}/api/labels", json=submission(7, n), headers={"X-Forwarded-For": f"2001:db8:5:6:{n:x}:{n * 7:x}:1:{n * 13:x}"})
        for n in range(300)
    ]
    other = client.post(f"{server.url}/api/labels", json=submission(8, 0), headers={"X-Forwarded-For": "2001:db8:5:7::1"})
    statuses = [r.status_code for r in flood]
    assert statuses.count(202) == 10 and statuses.count(429) == 290
    assert other.status_code == 202
    tally.add("submissions accepted", 11)


@pytest.fixture
def slow_clients(profile: Profile) -> Iterator[list[socket.socket]]:
    sockets: list[socket.socket] = []
    yield sockets
    for sock in sockets:
        sock.close()


def _open_slow(server: ReceiverProcess, sockets: list[socket.socket], count: int) -> None:
    body = json.dumps(submission(5, 0)).encode()
    head = f"POST /api/labels HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.sendall(head + body[:1])
        sockets.append(sock)


def test_slow_body_clients_do_not_starve_the_others(start_receiver: StartReceiver, client: Client, profile: Profile, slow_clients: list[socket.socket]) -> None:
    """Many connections dribbling a body byte by byte: a normal client is answered 202 between every dribble."""
    server = start_receiver({"RECEIVER_RATE_LIMIT": "0"})
    _open_slow(server, slow_clients, profile.slow_clients)
    answered = []
    for n in range(20):
        for sock in slow_clients:
            try:
                sock.send(b" ")
            except OSError:
                pass  # the server may close a connection that dawdles; that is its right
        answered.append(client.post(f"{server.url}/api/labels", json=submission(6, n)).status_code)
    assert answered == [202] * 20
    assert client.get(f"{server.url}/health").status_code == 200


@pytest.mark.parametrize("origin", ["https://evil.example", "http://localhost.evil.example", "null", "http://127.0.0.1.nip.io:8000"])
def test_preflight_from_an_origin_not_allowed_gets_no_cors_grant(start_receiver: StartReceiver, client: Client, origin: str) -> None:
    """OPTIONS from a page outside the allowlist: no Access-Control-Allow-Origin, not a 2xx."""
    server = start_receiver({"RECEIVER_ALLOWED_ORIGINS": "https://labels.example.org"})
    response = client.options(
        f"{server.url}/api/labels",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
    )
    assert "access-control-allow-origin" not in response.headers
    assert response.status_code >= 400
    allowed = client.options(f"{server.url}/api/labels", headers={"Origin": "https://labels.example.org", "Access-Control-Request-Method": "POST"})
    assert allowed.headers.get("access-control-allow-origin") == "https://labels.example.org"
