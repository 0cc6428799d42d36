"""Faults under load: kill -9 again and again, GitHub failing, slow and refusing, the journal's disk full.

Whatever happens, a 2xx means kept: every acknowledged id ends in the data
repository exactly once, and what cannot be kept is refused with 503 and
Retry-After rather than acknowledged.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.adversarial.conftest import Client, StartReceiver
from tests.adversarial.harness import Outcome, Profile, Secrets, Tally, journal_intact, load, submission
from tests.e2e.conftest import ids_in, wait_delivered
from tests.support.servers import FakeGitHubProcess, wait_until

NO_LIMIT = {"RECEIVER_RATE_LIMIT": "0"}
FAST = {"RECEIVER_GITHUB_WRITE_INTERVAL": "0", "RECEIVER_GITHUB_WRITES_PER_MINUTE": "100000", "RECEIVER_GITHUB_WRITES_PER_HOUR": "100000"}


def _received(url: str) -> int:
    try:
        journal = httpx.get(f"{url}/health", timeout=5).json()["journal"]
    except httpx.TransportError:
        return 0
    return int(journal["queued"] + journal["delivered"])


def _tally_repository(tally: Tally, accepted: list[str], stored: dict[str, int]) -> tuple[set[str], list[str]]:
    lost = set(accepted) - set(stored)
    duplicated = [i for i, n in stored.items() if n > 1]
    tally.add("submissions accepted", len(set(accepted)))
    tally.add("lost", len(lost))
    tally.add("duplicated", len(duplicated))
    return lost, duplicated


def test_repeated_kill_9_during_load_loses_and_duplicates_nothing(start_receiver: StartReceiver, secrets: Secrets, profile: Profile, tally: Tally, tmp_path: Path) -> None:
    """Kill -9 at a random moment of each load round, restart, repeat: every 2xx in git exactly once, fsck clean."""
    chance = random.Random(20261125)
    accepted: list[str] = []
    server_errors: list[int] = []
    port = None
    for round_ in range(profile.kills):
        server = start_receiver(NO_LIMIT, port=port)
        port = server.port
        before = _received(server.url)
        stop = threading.Event()
        outcome: list[Outcome] = []
        loader = threading.Thread(target=lambda: outcome.append(asyncio.run(load(server.url, secrets, profile.load_clients, profile.load_per_client, stop=stop, offset=round_ * 1000))))
        loader.start()
        threshold = before + chance.randint(1, profile.load_clients * profile.load_per_client // 2)
        wait_until(lambda: _received(server.url) >= threshold or not loader.is_alive(), timeout=120, what=f"{threshold} records kept")
        server.kill()
        stop.set()
        loader.join()
        accepted += outcome[0].accepted
        server_errors += outcome[0].server_errors
        tally.add("kills survived")
        tally.add("faults injected")
    final = start_receiver(NO_LIMIT, port=port)
    wait_delivered(final.url)
    final.stop()
    repository = tmp_path / "srv" / "receiver-data" / "annotations.git"
    lost, duplicated = _tally_repository(tally, accepted, ids_in(repository))
    tally.add("5xx", len(server_errors))
    assert server_errors == [] and not lost and not duplicated, (server_errors[:5], len(lost), duplicated[:5])
    assert len(accepted) > 0
    subprocess.run(["git", f"--git-dir={repository}", "fsck", "--strict", "--no-dangling"], check=True, capture_output=True)
    assert journal_intact(tmp_path / "srv" / "receiver-data" / "journal.sqlite3")


FAULTS = [
    {"kind": "status", "status": 503, "count": None},
    {"kind": "status", "status": 502, "count": None, "method": "POST"},
    {"kind": "delay", "delay": 3, "count": 6},
    {"kind": "drop", "count": None},
    {"kind": "status", "status": 500, "count": None, "after": True, "method": "PUT"},
]


def test_github_failing_slow_and_refusing_under_load_delivers_each_record_once(
    github: FakeGitHubProcess, start_receiver: StartReceiver, secrets: Secrets, profile: Profile, tally: Tally
) -> None:
    """Each fault on while clients post (server errors, slowness, dropped connections, writes done but unheard): all 2xx end as one PR each."""
    server = start_receiver(github.receiver_settings(**FAST, GITHUB_TOKEN=github.token))
    accepted: list[str] = []
    for round_ in range(profile.fault_rounds):
        for n, fault in enumerate(FAULTS):
            github.control("POST", "faults", fault)
            tally.add("faults injected")
            outcome = asyncio.run(load(server.url, secrets, 4, max(3, profile.load_per_client // 8), offset=5000 + round_ * 100 + n * 10))
            assert outcome.server_errors == [] and outcome.other == [] and outcome.transport_errors == 0
            accepted += outcome.accepted
            github.control("DELETE", "faults")
    wait_delivered(server.url, timeout=300)
    pulls = github.state()["pulls"]
    heads = [p["head_ref"].removeprefix("annotations/") for p in pulls]
    stored = {identifier: heads.count(identifier) for identifier in set(heads)}
    lost, duplicated = _tally_repository(tally, accepted, stored)
    assert not lost and not duplicated, (len(lost), duplicated[:5])


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 512 KiB tmpfs for the journal alone (root only; skipped where mounting is not allowed)."""
    mountpoint = tmp_path / "small-disk"
    mountpoint.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mountpoint)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root and CAP_SYS_ADMIN)")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def test_a_full_journal_disk_answers_503_with_retry_after_and_acknowledges_only_what_it_kept(
    small_disk: Path, start_receiver: StartReceiver, client: Client, tally: Tally, tmp_path: Path
) -> None:
    """Post until the journal's disk is full: 503 + Retry-After from then on, and every 2xx is listed by the receiver."""
    server = start_receiver({**NO_LIMIT, "RECEIVER_JOURNAL": str(small_disk / "journal.sqlite3")})
    client.allow_503 = True
    tally.add("faults injected")
    accepted: list[str] = []
    refusals: list[httpx.Response] = []
    for n in range(5000):
        response = client.post(f"{server.url}/api/labels", json=submission(9000 + n // 300, n))
        if response.status_code == 202:
            accepted.append(response.json()["id"])
        elif response.status_code == 503:
            refusals.append(response)
            if len(refusals) >= 5:
                break
        else:
            raise AssertionError(f"{response.status_code}: {response.text[:200]}")
    assert len(refusals) == 5, "the 512 KiB disk never filled"
    assert all(r.headers.get("retry-after", "").isdigit() and r.json()["error"] for r in refusals)
    assert client.get(f"{server.url}/health").status_code == 200
    listed = client.get(f"{server.url}/api/annotations", params={"per_page": 500}).json()
    ids = {a["id"] for a in listed["annotations"]}
    assert listed["count"] == len(accepted) and set(accepted) <= ids | set(accepted[500:])
    tally.add("submissions accepted", len(accepted))
    server.stop()
    assert journal_intact(small_disk / "journal.sqlite3")
