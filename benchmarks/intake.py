"""How many submissions a second the receiver takes in, beside a bare ceiling and a FastAPI + pydantic peer.

    python benchmarks/intake.py [--quick] [--repeat 5] [--clients 64] [--seconds 10] [--servers NAME,...]

Setups, all started at once and fed the same kind of traffic by the same load
generator (benchmarks/loadgen.py), measured in rounds: each round measures
each setup once, one after another, so a round compares neighbours on a
machine whose speed drifts (and on a shared machine, with whatever else runs).

- `ceiling`: a Starlette endpoint on uvicorn with the receiver's uvicorn
  settings that only parses the JSON body and answers 201: what this Python,
  uvicorn and machine allow before the receiver does any work;
- `intake-only`: `python -m receiver serve --role intake`, one intake process
  and its SQLite journal (fsynced, synchronous=FULL), nothing delivering;
- `sqlite-1`: `python -m receiver serve` with its embedded default (a local
  bare git repository, the SQLite journal beside it) and the deliver process
  serve runs beside it; `sqlite-2` the same with two intake processes;
- `fastapi`: benchmarks/fastapi_peer.py, the same submit path as FastAPI +
  pydantic would write it, on the receiver's own record and journal. FastAPI
  and pydantic are not receiver dependencies: `pip install fastapi pydantic`
  into the benchmark's Python, or the setup is skipped and the report says so;
- `pg-1`, `pg-2`, `pg-3`, only when named in --servers: one to three receivers
  on one PostgreSQL journal (fsync on) and one bare repository, behind nginx,
  as deploy/README.md describes;
- `prototype`, only when named in --servers: the Flask prototype it replaces
  (shared/seeds/backend.py beside this checkout, or the file PROTOTYPE_BACKEND
  names), in its own virtualenv made the first time under ~/.cache.

Every request is a distinct valid submission made from the captured labeling
page post (tests/captured/post_six_placed.json); the per-client limit is off.
The report gives, at 64 clients and as medians of the rounds (five unless
--repeat says fewer): intake-only's share of the ceiling and its p99 (target
>= 50%, p99 < 25 ms), sqlite-1's accepted/s over the FastAPI peer's (target
>= 2.5x), and the CPU per accepted submission of the intake process (target
<= 110 µs), of the deliverer and of the event-loop thread, with the load
average before and after. Last, each step of the hot path timed alone in this
process (benchmarks/hot_path.py).

All traffic goes to 127.0.0.1; every run is bounded in time and count; the
servers are stopped and the temporary folders removed on the way out, also on
Ctrl-C or an error.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
# The tests' throwaway PostgreSQL cluster and nginx runner, and deploy/'s renderer, are reused as they are.
sys.path.insert(0, str(ROOT))

import hot_path
from loadgen import LoadResult, Submissions, build_request, run_load

from tests.support.nginx import NginxProcess, find_nginx
from tests.support.pgcluster import Cluster, find_binaries

CAPTURE = ROOT / "tests" / "captured" / "post_six_placed.json"
PROTOTYPE = Path(os.environ.get("PROTOTYPE_BACKEND") or ROOT.parent / "shared" / "seeds" / "backend.py")
HOST = "127.0.0.1"
SECRET = "benchmark-secret"

#: `receiver serve --role intake`: the intake process alone, nothing delivering beside it.
INTAKE_ONLY = "intake-only"
#: The receiver with its deliver process beside it, into the local repository.
WITH_DELIVERY = "sqlite-1"
#: The same submit path on FastAPI + pydantic with the receiver's journal (benchmarks/fastapi_peer.py).
PEER = "fastapi"

TARGET_CLIENTS = 64
#: intake-only's accepted/s against the ceiling's in the same round, and its p99.
TARGET_SHARE = 0.5
TARGET_P99_MS = 25.0
#: sqlite-1's accepted/s against the FastAPI peer's in the same round.
TARGET_PEER_RATIO = 2.5
#: CPU of the intake process per accepted submission.
TARGET_INTAKE_US = 110.0

#: The share of the receivers' CPU spent delivering: not a process of its own in the totals.
DELIVERY = "delivery"
#: CPU of the server's event-loop thread (its main thread).
LOOP = "loop"
SETUPS = ("prototype", "ceiling", INTAKE_ONLY, WITH_DELIVERY, PEER, "sqlite-2", "pg-1", "pg-2", "pg-3")
DEFAULT_SETUPS = ("ceiling", INTAKE_ONLY, WITH_DELIVERY, PEER)
PEER_INSTALL = "pip install fastapi pydantic"

# The uvicorn settings `receiver serve` passes (receiver/cli.py), given to the
# ceiling too so the two differ only in what the endpoint does.
UVICORN_FLAGS = [
    "--timeout-keep-alive", "5",
    "--limit-concurrency", "1000",
    "--backlog", "2048",
    "--proxy-headers",
    "--forwarded-allow-ips", "127.0.0.1",
    "--no-access-log",
]

CEILING_APP = '''\
"""Parse the JSON body and answer 201: the least any intake endpoint does."""

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def labels(request: Request) -> Response:
    json.loads(await request.body())
    return Response(b'{"message":"received"}', status_code=201, media_type="application/json")


async def health(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


app = Starlette(routes=[Route("/api/labels", labels, methods=["POST"]), Route("/health", health)])
'''

# The prototype guards its own `app.run(debug=True, port=5000)` behind
# __main__; importing it and calling run ourselves chooses the port and keeps
# the debugger's reloader (a second process) out of the measurement.
PROTOTYPE_RUNNER = '''\
import sys

sys.path.insert(0, sys.argv[1])
import backend

backend.app.run(host=sys.argv[2], port=int(sys.argv[3]), threaded=True)
'''


class Interrupted(Exception):
    """SIGTERM arrived; unwind so every server is stopped and every folder removed."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(f"signal {signum}")


@dataclass(frozen=True)
class Profile:
    clients: tuple[int, ...]
    seconds: float
    repeat: int
    prototype_clients: tuple[int, ...]
    prototype_seconds: float
    # Upper bounds on requests per run: the pool is pre-serialised, and a
    # run ends early if it empties, so these also bound every run's count.
    pool_rate: int = 12000
    prototype_pool: int = 2000
    #: RECEIVER_RATE_LIMIT of the receivers: "0" measures intake alone; a limit never reached
    #: (like 1000000000/hour) measures intake with the shared limiter's check on every post.
    rate_limit: str = "0"


# -- processes and their CPU ----------------------------------------------------


def _process_table() -> dict[int, tuple[int, float]]:
    """Every process's parent and CPU seconds (its own, plus its reaped children's: a server's git calls)."""
    tick = os.sysconf("SC_CLK_TCK")
    table: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited while we looked
        table[int(entry.name)] = (int(fields[1]), sum(int(v) for v in fields[11:15]) / tick)
    return table


def _deliverers(roots: Sequence[int], table: dict[int, tuple[int, float]]) -> list[int]:
    """The `receiver serve --role deliver` processes below `roots`."""
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, stack = [], [child for root in roots for child in children.get(root, ())]
    while stack:
        pid = stack.pop()
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # exited while we looked
        if b"--role" in argv and argv[argv.index(b"--role") + 1 : argv.index(b"--role") + 2] == [b"deliver"]:
            found.append(pid)
        else:
            stack.extend(children.get(pid, ()))
    return found


def _thread_cpu(pid: int) -> float:
    """CPU seconds of the process's main thread: uvicorn runs the event loop there."""
    try:
        fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(v) for v in fields[11:13]) / os.sysconf("SC_CLK_TCK")


def _tree_cpu(roots: Sequence[int], table: dict[int, tuple[int, float]]) -> float:
    """CPU seconds of `roots` and every live descendant (uvicorn's workers, nginx's, PostgreSQL's backends)."""
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    total, stack = 0.0, list(roots)
    while stack:
        pid = stack.pop()
        if pid in table:
            total += table[pid][1]
            stack.extend(children.get(pid, ()))
    return total


@dataclass
class Target:
    """One setup under load: where the load goes, and which process trees count as whose CPU."""

    name: str
    port: int
    path: str
    roles: dict[str, list[int]]
    headers: dict[str, str] = field(default_factory=dict)
    origin: Path | None = None
    journal: bool = True
    #: The process whose main thread runs the event loop that answers (a single-process server).
    loop_pid: int | None = None

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds per role so far; "delivery" is the part of "receivers" spent in deliver processes and their git calls."""
        table = _process_table()
        spent = {role: _tree_cpu(pids, table) for role, pids in self.roles.items()}
        deliverers = _deliverers(self.roles.get("receivers", []), table)
        if deliverers:  # a receiver on PostgreSQL delivers from a thread of its own process: not told apart
            spent[DELIVERY] = _tree_cpu(deliverers, table)
        if self.loop_pid is not None:
            spent[LOOP] = _thread_cpu(self.loop_pid)
        return spent


@dataclass
class Drain:
    accepted: int
    backlog_at_end: int
    seconds: float
    delivered: int
    commit_rate: float
    drained: bool


@dataclass
class Measured:
    server: str
    load: LoadResult
    cpu: dict[str, float]
    drain: Drain | None = None
    pushed: int | None = None
    #: Which round of paired runs (every setup measured once per round, one after another).
    round: int = 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _get_json(port: int, path: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=timeout) as answer:
        return json.load(answer)


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_ready(name: str, process: subprocess.Popen[bytes], port: int, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{_tail(log)}")
        try:
            _get_json(port, "/health", timeout=1.0)
            return
        except (OSError, ValueError):
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not answer /health within {timeout:.0f} s:\n{_tail(log)}")


@contextlib.contextmanager
def _started(name: str, argv: Sequence[str], *, cwd: Path, env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    log = cwd / f"{name}.log"
    with open(log, "wb") as sink:
        # A session of its own, so stopping the server also stops whatever it
        # spawned (workers, the prototype's git processes) and nothing else.
        process = subprocess.Popen(list(argv), cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_ready(name, process, port, log)
        yield process
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def _clean_environ() -> dict[str, str]:
    """This process's environment without any receiver settings a developer may have exported."""
    return {k: v for k, v in os.environ.items() if not k.startswith("RECEIVER_") and k != "GITHUB_TOKEN"}


def _git(*args: str, cwd: Path | None = None) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def prototype_python(venv: Path) -> Path:
    """The prototype's interpreter, with flask and flask-restx installed into `venv` the first time."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import flask, flask_restx"]
    if python.exists() and subprocess.run(probe, check=False, capture_output=True).returncode == 0:
        return python
    print(f"Installing flask and flask-restx for the prototype into {venv} (once) ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "flask", "flask-restx"], check=True)
    return python


def _prototype_home(base: Path) -> Path:
    """A HOME whose label-data-repo is a clone of a local bare repository, as the prototype expects."""
    remote, seed, home = base / "remote.git", base / "seed", base / "home"
    identity = ["-c", "user.name=benchmark", "-c", "user.email=benchmark@example.invalid"]
    _git("init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    _git("clone", "--quiet", str(remote), str(seed))
    (seed / "annotations").mkdir()
    (seed / "annotations" / ".gitkeep").touch()
    _git("add", ".", cwd=seed)
    _git(*identity, "commit", "--quiet", "-m", "init", cwd=seed)
    _git("push", "--quiet", "origin", "HEAD:main", cwd=seed)
    clone = home / "label-data-repo"
    _git("clone", "--quiet", str(remote), str(clone))
    _git("config", "user.name", "annotator", cwd=clone)
    _git("config", "user.email", "annotator@example.invalid", cwd=clone)
    return home


def start_prototype(stack: contextlib.ExitStack, base: Path, python: Path) -> Target:
    base.mkdir()
    shutil.copy(PROTOTYPE, base / "backend.py")
    (base / "run_prototype.py").write_text(PROTOTYPE_RUNNER)
    home = _prototype_home(base)
    env = _clean_environ() | {"HOME": str(home), "API_SECRET": SECRET, "GITHUB_BRANCH": "main"}
    port = _free_port()
    argv = [str(python), str(base / "run_prototype.py"), str(base), HOST, str(port)]
    process = stack.enter_context(_started("prototype", argv, cwd=base, env=env, port=port))
    return Target(
        "prototype", port, "/api/annotations", {"server": [process.pid]},
        headers={"Authorization": f"Bearer {SECRET}"}, origin=base / "remote.git", journal=False,
    )


def pushed(server: Target) -> int:
    """Annotation files on the prototype's origin: what it really stored, whatever it answered."""
    assert server.origin is not None
    listing = subprocess.run(
        ["git", f"--git-dir={server.origin}", "ls-tree", "-r", "--name-only", "main", "annotations/"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return sum(1 for name in listing.splitlines() if name.endswith(".json"))


def start_ceiling(stack: contextlib.ExitStack, base: Path) -> Target:
    base.mkdir()
    (base / "ceiling.py").write_text(CEILING_APP)
    port = _free_port()
    argv = [sys.executable, "-m", "uvicorn", "ceiling:app", "--app-dir", str(base), "--host", HOST, "--port", str(port), *UVICORN_FLAGS]
    process = stack.enter_context(_started("ceiling", argv, cwd=base, env=_clean_environ(), port=port))
    return Target("ceiling", port, "/api/labels", {"server": [process.pid]}, journal=False, loop_pid=process.pid)


def start_peer(stack: contextlib.ExitStack, base: Path) -> Target:
    """The FastAPI + pydantic peer on uvicorn with the same flags, its journal in `base`."""
    missing = [name for name in ("fastapi", "pydantic") if importlib.util.find_spec(name) is None]
    if missing:
        raise Missing(f"{' and '.join(missing)} not installed in this Python; `{PEER_INSTALL}` (for the benchmark only, not a receiver dependency)")
    base.mkdir()
    port = _free_port()
    env = _clean_environ() | {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "RECEIVER_PEER_JOURNAL": str(base / "journal.sqlite3"),
    }
    argv = [sys.executable, "-m", "uvicorn", "fastapi_peer:app", "--app-dir", str(Path(__file__).resolve().parent), "--host", HOST, "--port", str(port), *UVICORN_FLAGS]
    process = stack.enter_context(_started(PEER, argv, cwd=base, env=env, port=port))
    return Target(PEER, port, "/api/labels", {"server": [process.pid]}, journal=False, loop_pid=process.pid)


def _receiver(stack: contextlib.ExitStack, name: str, cwd: Path, settings: dict[str, str], *options: str) -> tuple[int, int]:
    """One `receiver serve` in `cwd`; its port and pid."""
    cwd.mkdir(parents=True)
    port = _free_port()
    # PYTHONPATH: the receiver is this checkout's, installed or not.
    env = _clean_environ() | {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))} | settings
    argv = [sys.executable, "-m", "receiver", "serve", "--port", str(port), *options]
    process = stack.enter_context(_started(name, argv, cwd=cwd, env=env, port=port))
    return port, process.pid


def start_sqlite(stack: contextlib.ExitStack, base: Path, workers: int, rate_limit: str) -> Target:
    """The embedded default: one `receiver serve`, its SQLite journal beside a local bare repository."""
    port, pid = _receiver(stack, f"sqlite-{workers}", base, {"RECEIVER_RATE_LIMIT": rate_limit, "RECEIVER_WORKERS": str(workers)})
    return Target(f"sqlite-{workers}", port, "/api/labels", {"receivers": [pid]}, loop_pid=pid if workers == 1 else None)


def start_intake_only(stack: contextlib.ExitStack, base: Path, rate_limit: str) -> Target:
    """`receiver serve --role intake`: one intake process and its SQLite journal, nothing delivering (its backlog only grows)."""
    port, pid = _receiver(stack, INTAKE_ONLY, base, {"RECEIVER_RATE_LIMIT": rate_limit, "RECEIVER_WORKERS": "1"}, "--role", "intake")
    return Target(INTAKE_ONLY, port, "/api/labels", {"receivers": [pid]}, journal=False, loop_pid=pid)


@dataclass
class Shared:
    """What the PostgreSQL setups share for the whole run: one cluster (made on first use) and nginx's binary."""

    home: Path
    cluster: Cluster | None = None

    def postgres(self) -> Cluster:
        if self.cluster is None:
            binaries = find_binaries()
            if binaries is None:
                raise Missing("PostgreSQL is not installed (apt-get install postgresql)")
            self.cluster = Cluster(binaries, durable=True).create()
        return self.cluster

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.destroy()


class Missing(Exception):
    """A setup needs software this machine lacks; the setup is skipped and the report says so."""


def start_postgres(stack: contextlib.ExitStack, base: Path, shared: Shared, count: int, rate_limit: str) -> Target:
    """`count` receivers on one fresh PostgreSQL database and one bare repository, nginx in front (deploy/README.md)."""
    binary = find_nginx()
    if binary is None:
        raise Missing("nginx is not installed (apt-get install nginx)")
    cluster = shared.postgres()
    settings = {
        "RECEIVER_JOURNAL": cluster.database(),
        "RECEIVER_LOCAL_REPO": str(base / "shared" / "annotations.git"),
        "RECEIVER_RATE_LIMIT": rate_limit,
        "RECEIVER_FORWARDED_ALLOW_IPS": "127.0.0.1",
    }
    started = [_receiver(stack, f"pg-{count}-receiver-{n}", base / f"receiver-{n}", settings) for n in range(count)]
    nginx = stack.enter_context(NginxProcess(binary, base / "nginx", [f"{HOST}:{port}" for port, _ in started]))
    assert nginx.process is not None
    roles = {"receivers": [pid for _, pid in started], "postgres": [cluster.postmaster_pid()], "nginx": [nginx.process.pid]}
    return Target(f"pg-{count}", nginx.port, "/api/labels", roles)


# -- measuring ------------------------------------------------------------------


def _requests(target: Target, submissions: Submissions, count: int) -> list[bytes]:
    return [build_request(HOST, target.port, target.path, body, target.headers) for body in submissions.take(count)]


def measure(target: Target, submissions: Submissions, clients: int, seconds: float, pool: int, grace: float) -> Measured:
    requests = _requests(target, submissions, pool)
    before = target.cpu_seconds()
    load = run_load(HOST, target.port, requests, clients=clients, seconds=seconds, grace=grace)
    after = target.cpu_seconds()
    return Measured(target.name, load, {role: after[role] - before.get(role, 0.0) for role in after})


def warm_up(target: Target, submissions: Submissions, count: int) -> None:
    """A few requests first, so imports, caches, connections and the first git call are not measured."""
    run_load(HOST, target.port, _requests(target, submissions, count), clients=min(4, count), seconds=30.0, grace=30.0)


def _journal(target: Target) -> tuple[int, int]:
    journal = _get_json(target.port, "/health")["journal"]
    return int(journal["backlog"]), int(journal["delivered"])


def wait_drained(target: Target, accepted: int, delivered_before: int, load_seconds: float, timeout: float) -> Drain:
    """Poll /health until the journal's backlog is empty; the commit rate counts the load and the drain."""
    backlog, _ = _journal(target)
    started = time.monotonic()
    at_end = backlog
    while backlog > 0 and time.monotonic() - started < timeout:
        time.sleep(0.2)
        backlog, _ = _journal(target)
    seconds = time.monotonic() - started
    _, delivered = _journal(target)
    delivered -= delivered_before
    return Drain(accepted, at_end, seconds, delivered, delivered / (load_seconds + seconds), backlog == 0)


# -- reporting ------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _errors(loads: Sequence[LoadResult]) -> str:
    total = sum(load.errors for load in loads)
    if not total:
        return "0"
    parts = []
    server = sum(load.server_errors for load in loads)
    if server:
        parts.append(f"{server} 5xx")
    other = sum(n for load in loads for s, n in load.statuses.items() if not 200 <= s < 300 and s < 500)
    if other:
        parts.append(f"{other} 4xx")
    transport = sum(sum(load.transport_errors.values()) for load in loads)
    if transport:
        parts.append(f"{transport} transport")
    unfinished = sum(load.unfinished for load in loads)
    if unfinished:
        parts.append(f"{unfinished} unanswered")
    return f"{total} ({'; '.join(parts)})"


@dataclass(frozen=True)
class Row:
    """One setup at one client count: medians over its repeated runs."""

    server: str
    clients: int
    runs: list[Measured]

    @property
    def rate(self) -> float:
        return statistics.median(m.load.accepted_per_second for m in self.runs)

    def percentile_ms(self, fraction: float) -> float | None:
        values = [v for m in self.runs if (v := m.load.percentile_ms(fraction)) is not None]
        return statistics.median(values) if values else None

    def cpu_us_per_submission(self, role: str) -> float | None:
        """CPU microseconds of `role` per accepted submission over all runs of the row; "intake" is the receivers' or server's CPU without delivery."""
        accepted = sum(m.load.accepted for m in self.runs)
        if not accepted:
            return None
        if role == "intake":
            spent = sum(m.cpu.get("receivers", m.cpu.get("server", 0.0)) - m.cpu.get(DELIVERY, 0.0) for m in self.runs)
        elif any(role in m.cpu for m in self.runs):
            spent = sum(m.cpu.get(role, 0.0) for m in self.runs)
        else:
            return None
        return spent * 1e6 / accepted


def rows(results: Sequence[Measured]) -> list[Row]:
    grouped: dict[tuple[str, int], list[Measured]] = {}
    for m in results:
        grouped.setdefault((m.server, m.load.clients), []).append(m)
    order = {name: n for n, name in enumerate(SETUPS)}
    return [Row(s, c, runs) for (s, c), runs in sorted(grouped.items(), key=lambda kv: (kv[0][1], order[kv[0][0]]))]


def paired(results: Sequence[Measured], clients: int, server: str, reference: str) -> list[float]:
    """`server`'s accepted/s over `reference`'s, round by round (both measured minutes apart at most), at `clients`."""
    rounds: dict[int, dict[str, float]] = {}
    for m in results:
        if m.load.clients == clients:
            rounds.setdefault(m.round, {})[m.server] = m.load.accepted_per_second
    return [r[server] / r[reference] for r in rounds.values() if server in r and r.get(reference)]


def _uvicorn_version() -> str:
    return importlib.metadata.version("uvicorn")


def _http_parser() -> str:
    """What uvicorn's `--http auto` picks in this interpreter: httptools when installed, else h11 (pure Python)."""
    return "httptools" if importlib.util.find_spec("httptools") else "h11"


def _loop() -> str:
    return "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def targets(results: Sequence[Measured], repeat: int) -> list[str]:
    """The issue's targets at the target client count, each with its figure and whether it was met."""
    table = {r.server: r for r in rows(results) if r.clients == TARGET_CLIENTS}
    out = [f"Targets at {TARGET_CLIENTS} clients, medians of {repeat} paired round(s) (every setup measured once per round, one after another):"]
    shares = paired(results, TARGET_CLIENTS, INTAKE_ONLY, "ceiling")
    if shares and INTAKE_ONLY in table:
        share = statistics.median(shares)
        p99 = table[INTAKE_ONLY].percentile_ms(0.99)
        out.append(f"- {INTAKE_ONLY} ≥ {TARGET_SHARE:.0%} of the ceiling: {share:.0%} (rounds: {', '.join(f'{x:.0%}' for x in shares)}): {_met(share >= TARGET_SHARE)}; "
                   f"p99 < {TARGET_P99_MS:.0f} ms: {_ms(p99)} ms: {_met(p99 is not None and p99 < TARGET_P99_MS)}")
    ratios = paired(results, TARGET_CLIENTS, WITH_DELIVERY, PEER)
    if ratios:
        ratio = statistics.median(ratios)
        out.append(f"- {WITH_DELIVERY} (delivery running) ≥ {TARGET_PEER_RATIO:g}x the FastAPI peer: {ratio:.2f}x (rounds: {', '.join(f'{x:.2f}' for x in ratios)}): {_met(ratio >= TARGET_PEER_RATIO)}")
    for name in (INTAKE_ONLY, WITH_DELIVERY):
        if name in table and (cost := table[name].cpu_us_per_submission("intake")) is not None:
            out.append(f"- intake CPU ≤ {TARGET_INTAKE_US:.0f} µs per accepted submission, {name}: {cost:.0f} µs: {_met(cost <= TARGET_INTAKE_US)}")
    if len(out) == 1:
        out.append("- not measured: run the ceiling, intake-only, sqlite-1 and fastapi setups at 64 clients")
    return out


def report(results: list[Measured], profile: Profile, skipped: dict[str, str], load: tuple[tuple[float, ...], tuple[float, ...]]) -> str:
    table = rows(results)
    out = [
        (
            f"Intake, {os.cpu_count()} cores, {profile.seconds:g} s a run, {profile.repeat} round(s); "
            f"load average (1, 5, 15 min) {', '.join(f'{x:.2f}' for x in load[0])} before, {', '.join(f'{x:.2f}' for x in load[1])} after: "
            "a shared machine's figures move with what else runs; the paired ratios move less."
        ),
        (
            f"uvicorn {_uvicorn_version()} with the {_http_parser()} HTTP parser and {_loop()} for every server; the load generator is "
            "benchmarks/loadgen.py (Python, in this process, on the same cores); latencies are of every answered request, errors included. "
            f"{INTAKE_ONLY} is `receiver serve --role intake` (nothing delivers; its backlog only grows), {WITH_DELIVERY} is `receiver serve` "
            f"with its deliver process into the local repository, {PEER} is benchmarks/fastapi_peer.py (FastAPI + pydantic, the receiver's SQLite journal, fsynced)."
        ),
        "",
        *targets(results, profile.repeat),
        "",
        "| setup | clients | accepted/s | p50 ms | p99 ms | errors | share of the ceiling (median of rounds) |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for r in table:
        shares = paired(results, r.clients, r.server, "ceiling") if r.server not in ("ceiling", "prototype") else []
        share = f"{statistics.median(shares):.0%}" if shares else ""
        out.append(
            f"| {r.server} | {r.clients} | {r.rate:,.1f} | {_ms(r.percentile_ms(0.5))} | {_ms(r.percentile_ms(0.99))} "
            f"| {_errors([m.load for m in r.runs])} | {share} |"
        )
    for name, why in skipped.items():
        out.append(f"| {name} | - | skipped: {why} | | | | |")
    costed = [r for r in table if r.server != "prototype"]
    if costed:
        out += [
            "",
            "CPU µs per accepted submission (all runs of the row). intake: the serving process (for receivers without their deliver "
            "processes); delivery: the deliver process and its git calls; loop thread: the serving process's main thread, where uvicorn "
            "runs the event loop, and its share of the serving process's CPU:",
            "",
            "| cost | setup | clients | intake process | delivery | loop thread | loop share | PostgreSQL | nginx |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in sorted(costed, key=lambda r: (r.clients, SETUPS.index(r.server))):
            intake, loop = r.cpu_us_per_submission("intake"), r.cpu_us_per_submission(LOOP)
            share = f"{loop / intake:.0%}" if intake and loop is not None else "-"
            out.append(
                f"| cost | {r.server} | {r.clients} | {_us(intake)} | {_us(r.cpu_us_per_submission(DELIVERY))} | {_us(loop)} | {share} "
                f"| {_us(r.cpu_us_per_submission('postgres'))} | {_us(r.cpu_us_per_submission('nginx'))} |"
            )
    stored = [m for m in results if m.pushed is not None]
    if stored:
        out += [
            "",
            "Prototype: what it answered against what reached its origin (a 500 may still have been pushed):",
            "",
            "| clients | requests answered | 2xx | 5xx | files pushed to origin |",
            "|---:|---:|---:|---:|---:|",
        ]
        for m in stored:
            out.append(f"| {m.load.clients} | {len(m.load.latencies):,} | {m.load.accepted:,} | {m.load.server_errors:,} | {m.pushed:,} |")
    drains = [m for m in results if m.drain is not None]
    if drains:
        out += [
            "",
            "Backlog after each run (GET /health journal.backlog until 0):",
            "",
            "| backlog | setup | clients | accepted | backlog at end of load | drained in s | commits/s over load and drain |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for m in drains:
            assert m.drain is not None
            d = m.drain
            drained = f"{d.seconds:,.1f}" if d.drained else f"not drained after {d.seconds:,.0f}"
            out.append(f"| backlog | {m.server} | {m.load.clients} | {d.accepted:,} | {d.backlog_at_end:,} | {drained} | {d.commit_rate:,.0f} |")
    out += [
        "",
        "CPU during each run (100% = one core; the load generator is this process):",
        "",
        "| setup | clients | server CPU | load generator CPU |",
        "|---|---:|---:|---:|",
    ]
    for r in sorted(table, key=lambda r: (SETUPS.index(r.server), r.clients)):
        elapsed = max(sum(m.load.elapsed for m in r.runs), 1e-9)
        server = sum(sum(v for role, v in m.cpu.items() if role not in (DELIVERY, LOOP)) for m in r.runs)
        generator = sum(m.load.generator_cpu for m in r.runs)
        out.append(f"| {r.server} | {r.clients} | {server / elapsed:.0%} | {generator / elapsed:.0%} |")
    return "\n".join(out)


def _us(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


# -- the command ----------------------------------------------------------------


def _counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, like 1,8,64, not {text!r}") from exc
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("client counts must be 1 or more")
    return counts


def build_profile(args: argparse.Namespace) -> Profile:
    clients = args.clients or (TARGET_CLIENTS,)
    if args.quick:
        return Profile(clients, args.seconds or 2.0, args.repeat or 1, tuple(c for c in clients if c <= 8) or (1,), args.prototype_seconds or 3.0,
                       rate_limit=args.rate_limit)
    return Profile(clients, args.seconds or 10.0, args.repeat or 5, clients, args.prototype_seconds or min(args.seconds or 10.0, 5.0),
                   rate_limit=args.rate_limit)


def _start(name: str, stack: contextlib.ExitStack, base: Path, shared: Shared, profile: Profile, venv: Path) -> Target:
    if name == "prototype":
        return start_prototype(stack, base, prototype_python(venv))
    if name == "ceiling":
        return start_ceiling(stack, base)
    if name == INTAKE_ONLY:
        return start_intake_only(stack, base, profile.rate_limit)
    if name == PEER:
        return start_peer(stack, base)
    kind, _, count = name.partition("-")
    if kind == "sqlite":
        return start_sqlite(stack, base, int(count), profile.rate_limit)
    return start_postgres(stack, base, shared, int(count), profile.rate_limit)


def run(profile: Profile, venv: Path, servers: Sequence[str], skipped: dict[str, str]) -> list[Measured]:
    """Every setup started at once, then measured in rounds: each round measures each setup once, one after another.

    A round takes a minute or so, so the ratios within a round compare setups on the same machine in the same state:
    their median over the rounds is what the targets are read from.
    """
    template = json.loads(CAPTURE.read_text(encoding="utf-8"))["body_json"]
    submissions = Submissions(template)
    results: list[Measured] = []
    with contextlib.ExitStack() as stack:
        base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="intake-bench-")))
        shared = Shared(base / "postgres")
        stack.callback(shared.close)
        targets: list[Target] = []
        for name in servers:
            try:
                target = _start(name, stack, base / name, shared, profile, venv)
            except Missing as exc:
                print(f"{name}: skipped, {exc}", file=sys.stderr)
                skipped[name] = str(exc)
                continue
            if name == "prototype":
                results += _measure_prototype(target, submissions, profile)
            else:
                targets.append(target)
        for target in targets:
            warm_up(target, submissions, 200)
            if target.journal:
                wait_drained(target, 0, 0, 1.0, timeout=120.0)
        for clients in profile.clients:
            for attempt in range(profile.repeat):
                for target in targets:
                    print(f"{target.name}, {clients} client(s), round {attempt + 1} of {profile.repeat} ...", file=sys.stderr)
                    delivered_before = _journal(target)[1] if target.journal else 0
                    m = measure(target, submissions, clients, profile.seconds, int(profile.pool_rate * profile.seconds), grace=10.0)
                    m.round = attempt
                    if target.journal:
                        # Each run starts with an empty backlog, so one run's delivery does not slow the next one's intake.
                        m.drain = wait_drained(target, m.load.accepted, delivered_before, m.load.elapsed, timeout=600.0)
                    results.append(m)
    return results


def _measure_prototype(target: Target, submissions: Submissions, profile: Profile) -> list[Measured]:
    results: list[Measured] = []
    warm_up(target, submissions, 3)
    for clients in profile.prototype_clients:
        print(f"prototype, {clients} client(s) ...", file=sys.stderr)
        before = pushed(target)
        # The prototype answers in tens of milliseconds to seconds; the grace lets its in-flight commits finish.
        m = measure(target, submissions, clients, profile.prototype_seconds, profile.prototype_pool, grace=60.0)
        m.pushed = pushed(target) - before
        results.append(m)
    return results


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--clients", type=_counts, help=f"concurrent keep-alive clients, comma-separated (default {TARGET_CLIENTS})")
    parser.add_argument("--seconds", type=float, help="duration of each run (default 10; 2 with --quick)")
    parser.add_argument("--repeat", type=int, help="paired rounds, whose medians are shown (default 5, what the targets ask for; 1 with --quick)")
    parser.add_argument("--prototype-seconds", type=float, help="duration of each prototype run (default 5; 3 with --quick)")
    parser.add_argument("--quick", action="store_true", help="a short run: 2 s each, one round (what benchmarks/run_all.py runs)")
    parser.add_argument(
        "--servers",
        default=",".join(DEFAULT_SETUPS),
        help=f"setups to measure, comma-separated, in order (default {','.join(DEFAULT_SETUPS)}; also: {', '.join(s for s in SETUPS if s not in DEFAULT_SETUPS)})",
    )
    parser.add_argument(
        "--rate-limit",
        default="0",
        help="the receivers' RECEIVER_RATE_LIMIT (default 0, off); 1000000000/hour checks the shared limiter on every post without refusing",
    )
    parser.add_argument(
        "--venv",
        type=Path,
        default=Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pose-receiver-bench" / "venv-prototype",
        help="virtualenv for the prototype's flask and flask-restx (made if missing)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = set(servers) - set(SETUPS)
    if unknown:
        print(f"intake: unknown setup(s): {', '.join(sorted(unknown))}; known: {', '.join(SETUPS)}", file=sys.stderr)
        return 2
    profile = build_profile(args)
    signal.signal(signal.SIGTERM, _on_sigterm)
    skipped: dict[str, str] = {}
    before = os.getloadavg()
    try:
        results = run(profile, args.venv, servers, skipped)
    except KeyboardInterrupt:
        print("intake: interrupted; servers stopped, temporary folders removed", file=sys.stderr)
        return 130
    except Interrupted:
        print("intake: terminated; servers stopped, temporary folders removed", file=sys.stderr)
        return 143
    print(report(results, profile, skipped, (before, os.getloadavg())))
    requests = 5000 if args.quick else 20000
    print()
    print(
        f"Where a request's time goes, each step of the hot path timed alone in this process ({requests:,} submissions; "
        "benchmarks/hot_path.py). Under load the same steps cost more, and the HTTP server, the framework and the "
        "kernel's sockets come on top: compare with the CPU per accepted submission above."
    )
    print()
    print(hot_path.table(hot_path.stages(requests)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
