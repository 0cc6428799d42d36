"""Secrets stay secret and requests choose no paths: tokens hashed, never in URLs; files only where ids say; no fetching.

Every test here (and in the whole suite) also ends with the scan of every
answer and log line it saw for the tokens, tracebacks and server paths.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from tests.adversarial.conftest import Client, StartReceiver
from tests.adversarial.harness import ANNOTATION_PATH, GITHUB_TOKEN, Secrets, Tally, submission
from tests.e2e.conftest import files_in, git, wait_delivered
from tests.support.servers import FakeGitHubProcess

NO_LIMIT = {"RECEIVER_RATE_LIMIT": "0"}
FAST = {"RECEIVER_GITHUB_WRITE_INTERVAL": "0", "RECEIVER_GITHUB_WRITES_PER_MINUTE": "100000", "RECEIVER_GITHUB_WRITES_PER_HOUR": "100000"}

ODD = [
    "../../../../etc/passwd",
    "/etc/passwd",
    "..\\..\\windows\\system32",
    "refs/heads/main",
    "annotations/../../.git/config",
    "\u202e\u0000gpj.exe",
    "naïve 名前 \U0001f400 \u200b",
    "a" * 60,
    "~/.ssh/id_rsa",
]


def _hostile(n: int, odd: str) -> dict:
    body = submission(7000 + n, n)
    body["video_url"] = f"https://videos.example/{odd.replace(chr(0), '')}/../../x.mp4?path={n}"
    # Label names are the skeleton's own (anything else is refused), so the odd text goes where free text is allowed.
    body["metadata"] = {"path": odd[:60], "branch": "refs/heads/evil", "file": f"/abs/{n}"}
    return body


def test_the_tokens_file_keeps_only_hashes(suite_token: tuple[Path, str]) -> None:
    """The token `receiver tokens add` printed is nowhere in the tokens file."""
    path, token = suite_token
    text = path.read_text(encoding="utf-8")
    assert token not in text and token.removeprefix("rcv_") not in text
    assert re.search(r'"sha256": "[0-9a-f]{64}"', text)


def test_a_tokens_submission_names_its_owner_and_a_wrong_token_is_not_echoed(start_receiver: StartReceiver, client: Client, suite_token: tuple[Path, str]) -> None:
    """The known token files a record under its name; an unknown one gets 403 without itself in the answer."""
    server = start_receiver(NO_LIMIT)
    token = suite_token[1]
    kept = client.post(f"{server.url}/api/labels", json=submission(8, 0), headers={"Authorization": f"Bearer {token}"})
    wrong = client.post(f"{server.url}/api/labels", json=submission(8, 1), headers={"Authorization": f"Bearer {token}x"})
    assert kept.status_code == 202 and client.get(f"{server.url}{kept.json()['status_url']}").json()["submitter"] == "suite-tool"
    assert wrong.status_code == 403 and token not in wrong.text


def test_the_github_token_is_never_in_a_url(github: FakeGitHubProcess, start_receiver: StartReceiver, client: Client, secrets: Secrets) -> None:
    """Every request the receiver made to the fake GitHub carries the token in a header, never in its path or query."""
    server = start_receiver(github.receiver_settings(**FAST))
    for n in range(3):
        assert client.post(f"{server.url}/api/labels", json=submission(9, n)).status_code == 202
    wait_delivered(server.url, timeout=120)
    log = github.log()
    assert len(log) >= 3
    assert all(GITHUB_TOKEN not in str(entry.get("path", "")) + str(entry.get("query", "")) for entry in log)
    secrets.bodies += [str(entry) for entry in log]


@pytest.mark.parametrize("mode", ["direct", "branch"])
def test_no_part_of_a_request_chooses_a_path_or_a_branch(start_receiver: StartReceiver, client: Client, tally: Tally, tmp_path: Path, mode: str) -> None:
    """Traversal, absolute paths and odd unicode in url, names and metadata: files only at annotations/<2>/<16>/<2>/<32>.json, branches only annotations/<id>."""
    server = start_receiver({**NO_LIMIT, "RECEIVER_LOCAL_MODE": mode})
    accepted = []
    for n, odd in enumerate(ODD):
        response = client.post(f"{server.url}/api/labels", json=_hostile(n, odd))
        assert response.status_code in (202, 422), response.text[:300]
        if response.status_code == 202:
            accepted.append(response.json()["id"])
            assert ANNOTATION_PATH.match(response.json()["path"])
        hostile_keys = _hostile(n, odd)
        hostile_keys["metadata"] = {"../branch": "x", "/abs": n}
        assert client.post(f"{server.url}/api/labels", json=hostile_keys).status_code == 422
    wait_delivered(server.url)
    repository = tmp_path / "srv" / "receiver-data" / "annotations.git"
    files = files_in(repository)
    assert len(accepted) >= len(ODD) // 2
    assert sorted(Path(f).stem for f in files) == sorted(accepted)
    assert all(ANNOTATION_PATH.match(f) for f in files), [f for f in files if not ANNOTATION_PATH.match(f)]
    refs = git(repository, "for-each-ref", "--format=%(refname)").split()
    assert all(r == "refs/heads/main" or re.fullmatch(r"refs/heads/annotations/[0-9a-f]{32}", r) for r in refs), refs
    tally.add("submissions accepted", len(accepted))


def test_the_video_url_is_never_fetched(start_receiver: StartReceiver, client: Client) -> None:
    """A video_url pointing at a socket we listen on: accepted, delivered, and the socket never gets a connection."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        server = start_receiver(NO_LIMIT)
        body = submission(10, 0)
        body["video_url"] = f"http://127.0.0.1:{port}/video.mp4"
        accepted = client.post(f"{server.url}/api/labels", json=body)
        assert accepted.status_code == 202
        wait_delivered(server.url)
        assert client.get(f"{server.url}{accepted.json()['status_url']}").json()["status"] == "delivered"
        with pytest.raises(BlockingIOError):
            listener.accept()
