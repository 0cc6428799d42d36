"""Roles over real processes: intake alone, deliver alone, and serve's supervised deliverer beside N intake workers."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.e2e.conftest import ids_in, wait_delivered
from tests.e2e.test_serve import load
from tests.support.captured import captured_body
from tests.support.servers import ReceiverProcess, wait_until

REPO = "receiver-data/annotations.git"
#: /health names the deliverer only to the metrics token's holder.
METRICS_TOKEN = "metrics-secret-for-tests"
DETAILS = {"Authorization": f"Bearer {METRICS_TOKEN}"}
NO_LIMIT = {"RECEIVER_RATE_LIMIT": "0", "RECEIVER_METRICS_TOKEN": METRICS_TOKEN}


def children(pid: int) -> dict[int, str]:
    """The live child processes of `pid`, with their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found[int(entry.name)] = command
    return found


def delivery(url: str) -> dict:  # type: ignore[type-arg]
    answer: dict = httpx.get(f"{url}/health", headers=DETAILS, timeout=5).json()["delivery"]  # type: ignore[type-arg]
    return answer


def deliverer_pid(url: str) -> int | None:
    name = delivery(url).get("deliverer")
    return None if name is None else int(name.rsplit(":", 1)[1])


def post(url: str, count: int, first_frame: int = 0) -> list[str]:
    ids = []
    for n in range(first_frame, first_frame + count):
        response = httpx.post(f"{url}/api/labels", json={**captured_body(), "frame_index": n}, timeout=10)
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids


def stored(workdir: Path) -> dict[str, int]:
    repository = workdir / REPO
    return dict(ids_in(repository)) if repository.exists() else {}


def start_deliverer(workdir: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECEIVER_", "GITHUB_"))}
    log = open(workdir / "deliverer.log", "ab")
    try:
        return subprocess.Popen([sys.executable, "-m", "receiver", "serve", "--role", "deliver"], cwd=workdir, env=env, stdout=log, stderr=log)
    finally:
        log.close()


def test_intake_alone_accepts_and_never_delivers(tmp_path: Path) -> None:
    """--role intake: 202s, the records wait in the journal, no repository is made, /health says delivery is dead."""
    with ReceiverProcess(tmp_path, {**NO_LIMIT, "RECEIVER_ROLE": "intake"}) as intake:
        post(intake.url, 5)
        health = httpx.get(f"{intake.url}/health", timeout=5).json()
    assert health["journal"]["queued"] == 5 and health["journal"]["delivered"] == 0
    assert health["status"] == "degraded" and health["delivery"]["state"] == "dead"
    assert "no delivering process" in health["delivery"]["reason"]
    assert not (tmp_path / REPO).exists()


def test_deliver_alone_drains_the_journal_an_intake_process_filled(tmp_path: Path) -> None:
    """--role deliver (no HTTP) delivers what an intake process took in, each record once, and /health names it."""
    with ReceiverProcess(tmp_path, {**NO_LIMIT, "RECEIVER_ROLE": "intake"}) as intake:
        accepted = post(intake.url, 20)
        deliverer = start_deliverer(tmp_path)
        try:
            wait_delivered(intake.url)
            named = deliverer_pid(intake.url)
            state = delivery(intake.url)["state"]
        finally:
            deliverer.send_signal(signal.SIGTERM)
            code = deliverer.wait(timeout=30)
    assert stored(tmp_path) == {identifier: 1 for identifier in accepted}
    assert named == deliverer.pid and state == "ok"
    assert code == 0


def test_two_workers_run_two_intake_processes_and_one_deliverer(tmp_path: Path) -> None:
    """RECEIVER_WORKERS=2: two intake children of serve and one deliverer, the deliverer is not an intake process, everything lands once."""
    with ReceiverProcess(tmp_path, {**NO_LIMIT, "RECEIVER_WORKERS": "2"}) as server:
        assert server.process is not None
        wait_until(lambda: deliverer_pid(server.url) is not None, timeout=30, what="the deliverer to report")
        processes = children(server.process.pid)
        outcome = asyncio.run(load(server.url, 8, 25))
        wait_delivered(server.url)
        named = deliverer_pid(server.url)
        hostname = delivery(server.url)["deliverer"].rsplit(":", 1)[0]
    deliverers = [pid for pid, command in processes.items() if "--role deliver" in command]
    intake = [pid for pid, command in processes.items() if "spawn_main" in command]  # uvicorn's worker processes
    assert len(intake) == 2 and deliverers == [named] and named not in intake
    assert hostname == socket.gethostname()
    assert len(outcome["accepted"]) == 200 and outcome["server_errors"] == []
    assert stored(tmp_path) == {identifier: 1 for identifier in outcome["accepted"]}


def test_a_killed_deliverer_is_restarted_and_delivery_resumes(tmp_path: Path) -> None:
    """SIGKILL the deliver process: serve starts another, which delivers what came in meanwhile, each record once."""
    with ReceiverProcess(tmp_path, {**NO_LIMIT, "RECEIVER_WORKERS": "2"}) as server:
        assert server.process is not None
        serve_pid = server.process.pid
        wait_until(lambda: deliverer_pid(server.url) is not None, timeout=30, what="the deliverer to report")
        first = deliverer_pid(server.url)
        assert first is not None
        before = post(server.url, 10)
        wait_delivered(server.url)
        os.kill(first, signal.SIGKILL)
        after = post(server.url, 10, first_frame=100)
        wait_until(lambda: deliverer_pid(server.url) not in (None, first), timeout=60, what="a new deliverer to report")
        wait_delivered(server.url)
        second = deliverer_pid(server.url)
        alive = children(serve_pid)
    assert second in alive and "--role deliver" in alive[second]
    assert stored(tmp_path) == {identifier: 1 for identifier in before + after}


def test_a_deliverer_that_cannot_open_the_repository_says_why_on_health_and_resumes_once_it_can(tmp_path: Path) -> None:
    """The repository moved away and a folder of something else in its place: the restarted deliverer keeps trying, /health
    gives the reason (naming no path), intake keeps accepting, and putting the repository back delivers everything once."""
    repository = tmp_path / REPO
    with ReceiverProcess(tmp_path, NO_LIMIT) as server:
        wait_until(lambda: deliverer_pid(server.url) is not None, timeout=30, what="the deliverer to report")
        before = post(server.url, 3)
        wait_delivered(server.url)
        first = deliverer_pid(server.url)
        assert first is not None
        repository.rename(tmp_path / "elsewhere.git")
        repository.mkdir()
        (repository / "notes.txt").write_text("not a repository")
        os.kill(first, signal.SIGKILL)
        during = post(server.url, 2, first_frame=50)
        wait_until(lambda: delivery(server.url)["state"] == "retrying", timeout=30, what="the new deliverer to report why it waits")
        health = httpx.get(f"{server.url}/health", headers=DETAILS, timeout=5).json()
        (repository / "notes.txt").unlink()
        repository.rmdir()
        (tmp_path / "elsewhere.git").rename(repository)
        wait_delivered(server.url, timeout=60)
        after = delivery(server.url)
        log = server.log()
    assert health["status"] == "degraded" and health["journal"]["queued"] == 2
    reason = health["delivery"]["reason"]
    assert reason.startswith("the local store cannot be opened: its path holds a folder that is not empty and no git repository")
    assert str(tmp_path) not in reason and "annotations.git" not in reason
    assert health["delivery"]["deliverer"] not in (None, f"{socket.gethostname()}:{first}")
    assert after["state"] == "ok"
    assert stored(tmp_path) == {identifier: 1 for identifier in before + during}
    assert "Traceback" not in log and "no git repository; move that away" in log


def test_each_worker_process_freezes_what_it_built_and_collects_young_objects_less_often(tmp_path: Path) -> None:
    """The factory uvicorn runs in every worker of `serve --workers N` tunes that process before it serves."""
    probe = (
        "import gc, sys\n"
        "from receiver.web.app import app_from_environment\n"
        "app_from_environment()\n"
        "print(gc.get_freeze_count(), gc.get_threshold()[0], sys.getswitchinterval())\n"
    )
    environ = {**os.environ, "RECEIVER_ROLE": "intake", "RECEIVER_LOCAL_REPO": str(tmp_path / "annotations.git")}
    result = subprocess.run([sys.executable, "-c", probe], env=environ, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True)
    frozen, young, switch = result.stdout.split()
    assert int(frozen) > 10_000 and int(young) == 10_000 and float(switch) == 0.0005
