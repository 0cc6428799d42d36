"""Two `receiver serve` processes on one PostgreSQL journal and one store, over real HTTP: one delivers, the other takes over."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ids_in, wait_delivered
from tests.journal.strangers import hold_every_nameable_lock, stranger_url
from tests.support.captured import numbered_submission
from tests.support.pgcluster import Cluster
from tests.support.servers import ReceiverProcess, wait_until


def post(server: ReceiverProcess, n: int) -> str:
    response = httpx.post(f"{server.url}/api/labels", json=numbered_submission(n), timeout=30)
    assert response.status_code == 202, response.text
    identifier: str = response.json()["id"]
    return identifier


#: /health names the deliverer only to the metrics token's holder.
METRICS_TOKEN = "metrics-secret-for-tests"
DETAILS = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def deliverer(server: ReceiverProcess) -> str | None:
    named: str | None = httpx.get(f"{server.url}/health", headers=DETAILS, timeout=10).json()["deliverer"]
    return named


def holder(server: ReceiverProcess) -> str:
    assert server.process is not None
    return f"{socket.gethostname()}:{server.process.pid}"


@pytest.fixture
def receivers(tmp_path: Path, postgres_cluster: Cluster) -> Iterator[tuple[ReceiverProcess, ReceiverProcess, Path]]:
    """Two receivers in their own folders, sharing the journal database and one bare repository."""
    repository = tmp_path / "shared" / "annotations.git"
    environ = {"RECEIVER_JOURNAL": postgres_cluster.database(), "RECEIVER_LOCAL_REPO": str(repository), "RECEIVER_RATE_LIMIT": "0", "RECEIVER_METRICS_TOKEN": METRICS_TOKEN}
    one, two = ReceiverProcess(tmp_path / "one", environ), ReceiverProcess(tmp_path / "two", environ)
    with one, two:
        yield one, two, repository


def test_one_receiver_delivers_and_the_other_takes_over_when_it_is_killed(receivers: tuple[ReceiverProcess, ReceiverProcess, Path]) -> None:
    """Both take submissions, exactly one delivers; after its kill -9 the other is named on /health and delivers; each 2xx lands once."""
    one, two, repository = receivers
    accepted = [post(one if n % 2 else two, n) for n in range(40)]
    wait_delivered(one.url)
    elected = deliverer(one)
    assert elected is not None and elected == deliverer(two) and elected in {holder(one), holder(two)}
    killed, survivor = (one, two) if elected == holder(one) else (two, one)

    killed.kill()
    accepted += [post(survivor, n) for n in range(40, 80)]
    wait_until(lambda: deliverer(survivor) == holder(survivor), timeout=10, interval=0.2, what="the survivor to take delivery over")
    wait_delivered(survivor.url)

    landed = ids_in(repository)
    assert sorted(landed) == sorted(accepted) and set(landed.values()) == {1}


def test_a_stranger_holding_every_lock_it_can_name_changes_nothing(tmp_path: Path, postgres_cluster: Cluster) -> None:
    """A role that may only connect holds every advisory lock it can name from before the receiver starts:
    the receiver admits an address its limit (3 of 8) and no more, answers each post, and delivers, never called dead."""
    url = postgres_cluster.database()
    repository = tmp_path / "shared" / "annotations.git"
    stranger = hold_every_nameable_lock(stranger_url(postgres_cluster, url), stores=(str(repository.resolve()),))
    try:
        environ = {"RECEIVER_JOURNAL": url, "RECEIVER_LOCAL_REPO": str(repository), "RECEIVER_RATE_LIMIT": "3/hour", "RECEIVER_METRICS_TOKEN": METRICS_TOKEN}
        with ReceiverProcess(tmp_path / "one", environ) as server:
            codes = [httpx.post(f"{server.url}/api/labels", json=numbered_submission(n), timeout=30).status_code for n in range(8)]
            wait_delivered(server.url)
            health = httpx.get(f"{server.url}/health", headers=DETAILS, timeout=10).json()
        assert codes == [202] * 3 + [429] * 5
        assert health["delivery"]["state"] == "ok" and health["deliverer"] is not None
        assert len(ids_in(repository)) == 3
    finally:
        stranger.close()
