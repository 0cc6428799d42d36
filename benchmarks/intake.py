"""How many submissions a second the receiver takes in, beside the prototype it replaces and a bare ceiling.

    python benchmarks/intake.py [--clients 1,8,64] [--seconds 10] [--quick]

Three servers on this machine, one after another in the same run, fed the same
kind of traffic by the same load generator (benchmarks/loadgen.py):

- the prototype (shared/seeds/backend.py beside this checkout, or the file
  PROTOTYPE_BACKEND names; Flask and flask-restx, which
  commits and pushes every submission before answering), run from a temporary
  copy against a clone of a local bare repository, in its own virtualenv made
  the first time under ~/.cache (never in this repository);
- the receiver, `python -m receiver serve` with its embedded default (a local
  bare git repository, the journal beside it) and the per-client limit off;
- the ceiling, a Starlette endpoint on uvicorn with the receiver's uvicorn
  settings that only parses the JSON body and answers 201: what this Python,
  uvicorn and machine allow before the receiver does any work.

Every request is a distinct valid submission made from the captured labeling
page post (tests/captured/post_six_placed.json), so none is a duplicate. For
each server and client count it prints accepted answers (2xx) a second, p50
and p99 latency of the answered requests, and errors; then the receiver's
share of the ceiling, how long its backlog took to drain after each run (the
local store's commit rate under that load), and the CPU each side used.

Target: the receiver takes >= 3,000 submissions/s from 64 clients with p99 < 50 ms.

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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import LoadResult, Submissions, build_request, run_load

ROOT = Path(__file__).resolve().parents[1]
CAPTURE = ROOT / "tests" / "captured" / "post_six_placed.json"
PROTOTYPE = Path(os.environ.get("PROTOTYPE_BACKEND") or ROOT.parent / "shared" / "seeds" / "backend.py")
HOST = "127.0.0.1"
SECRET = "benchmark-secret"

TARGET_RATE = 3000.0
TARGET_P99_MS = 50.0
TARGET_CLIENTS = 64

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
    prototype_clients: tuple[int, ...]
    prototype_seconds: float
    # Upper bounds on requests per run: the pool is pre-serialised, and a
    # run ends early if it empties, so these also bound every run's count.
    pool_rate: int = 12000
    prototype_pool: int = 2000
    #: RECEIVER_RATE_LIMIT of the receiver: "0" measures intake alone; a limit never reached
    #: (like 1000000000/hour) measures intake with the shared limiter's check on every post.
    rate_limit: str = "0"


@dataclass
class Server:
    name: str
    port: int
    path: str
    process: subprocess.Popen[bytes]
    log: Path
    headers: dict[str, str] = field(default_factory=dict)
    origin: Path | None = None

    def cpu_seconds(self) -> float:
        """User and system time of the server and its reaped children (the prototype's git calls)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = sum(int(v) for v in fields[11:15])
        return ticks / os.sysconf("SC_CLK_TCK")


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
    server_cpu: float
    drain: Drain | None = None
    pushed: int | None = None


# -- processes and folders ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _get_json(port: int, path: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=timeout) as answer:
        return json.load(answer)


def _wait_ready(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{_tail(server.log)}")
        try:
            _get_json(server.port, "/health", timeout=1.0)
            return
        except (OSError, ValueError):
            time.sleep(0.1)
    raise RuntimeError(f"{server.name} did not answer /health within {timeout:.0f} s:\n{_tail(server.log)}")


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def _started(name: str, argv: Sequence[str], *, cwd: Path, env: dict[str, str], port: int, path: str, headers: dict[str, str] | None = None) -> Iterator[Server]:
    log = cwd / f"{name}.log"
    with open(log, "wb") as sink:
        # A session of its own, so stopping the server also stops whatever it
        # spawned (the prototype's git processes) and nothing else.
        process = subprocess.Popen(list(argv), cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    server = Server(name, port, path, process, log, headers or {})
    try:
        _wait_ready(server)
        yield server
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


def start_prototype(stack: contextlib.ExitStack, base: Path, python: Path) -> Server:
    base.mkdir()
    shutil.copy(PROTOTYPE, base / "backend.py")
    (base / "run_prototype.py").write_text(PROTOTYPE_RUNNER)
    home = _prototype_home(base)
    env = _clean_environ() | {"HOME": str(home), "API_SECRET": SECRET, "GITHUB_BRANCH": "main"}
    port = _free_port()
    argv = [str(python), str(base / "run_prototype.py"), str(base), HOST, str(port)]
    server = stack.enter_context(
        _started("prototype", argv, cwd=base, env=env, port=port, path="/api/annotations", headers={"Authorization": f"Bearer {SECRET}"})
    )
    server.origin = base / "remote.git"
    return server


def pushed(server: Server) -> int:
    """Annotation files on the prototype's origin: what it really stored, whatever it answered."""
    assert server.origin is not None
    listing = subprocess.run(
        ["git", f"--git-dir={server.origin}", "ls-tree", "-r", "--name-only", "main", "annotations/"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return sum(1 for name in listing.splitlines() if name.endswith(".json"))


def start_receiver(stack: contextlib.ExitStack, base: Path, rate_limit: str = "0") -> Server:
    base.mkdir()
    env = _clean_environ() | {"RECEIVER_RATE_LIMIT": rate_limit}
    port = _free_port()
    argv = [sys.executable, "-m", "receiver", "serve", "--port", str(port)]
    return stack.enter_context(_started("receiver", argv, cwd=base, env=env, port=port, path="/api/labels"))


def start_ceiling(stack: contextlib.ExitStack, base: Path) -> Server:
    base.mkdir()
    (base / "ceiling.py").write_text(CEILING_APP)
    port = _free_port()
    argv = [sys.executable, "-m", "uvicorn", "ceiling:app", "--app-dir", str(base), "--host", HOST, "--port", str(port), *UVICORN_FLAGS]
    return stack.enter_context(_started("ceiling", argv, cwd=base, env=_clean_environ(), port=port, path="/api/labels"))


# -- measuring ------------------------------------------------------------------


def _requests(server: Server, submissions: Submissions, count: int) -> list[bytes]:
    return [build_request(HOST, server.port, server.path, body, server.headers) for body in submissions.take(count)]


def measure(server: Server, submissions: Submissions, clients: int, seconds: float, pool: int, grace: float) -> Measured:
    requests = _requests(server, submissions, pool)
    before = server.cpu_seconds()
    load = run_load(HOST, server.port, requests, clients=clients, seconds=seconds, grace=grace)
    return Measured(server.name, load, server.cpu_seconds() - before)


def warm_up(server: Server, submissions: Submissions, count: int) -> None:
    """A few requests first, so imports, caches and the first git call are not measured."""
    run_load(HOST, server.port, _requests(server, submissions, count), clients=min(4, count), seconds=30.0, grace=30.0)


def _journal(server: Server) -> tuple[int, int]:
    journal = _get_json(server.port, "/health")["journal"]
    return int(journal["backlog"]), int(journal["delivered"])


def wait_drained(server: Server, accepted: int, delivered_before: int, load_seconds: float, timeout: float) -> Drain:
    """Poll /health until the journal's backlog is empty; the commit rate counts the load and the drain."""
    backlog, _ = _journal(server)
    started = time.monotonic()
    at_end = backlog
    while backlog > 0 and time.monotonic() - started < timeout:
        time.sleep(0.2)
        backlog, _ = _journal(server)
    seconds = time.monotonic() - started
    _, delivered = _journal(server)
    delivered -= delivered_before
    return Drain(accepted, at_end, seconds, delivered, delivered / (load_seconds + seconds), backlog == 0)


# -- reporting ------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _errors(load: LoadResult) -> str:
    if not load.errors:
        return "0"
    parts = []
    if load.server_errors:
        parts.append(f"{load.server_errors} 5xx")
    other = sum(n for s, n in load.statuses.items() if not 200 <= s < 300 and s < 500)
    if other:
        parts.append(f"{other} 4xx")
    if load.transport_errors:
        parts.append(", ".join(f"{n} {name}" for name, n in sorted(load.transport_errors.items())))
    if load.unfinished:
        parts.append(f"{load.unfinished} unanswered")
    return f"{load.errors} ({'; '.join(parts)})"


def _verdict(m: Measured) -> str:
    if m.server != "receiver" or m.load.clients != TARGET_CLIENTS:
        return ""
    rate_ok = m.load.accepted_per_second >= TARGET_RATE
    p99 = m.load.percentile_ms(0.99)
    p99_ok = p99 is not None and p99 < TARGET_P99_MS
    return (
        f"≥ {TARGET_RATE:,.0f}/s: {'met' if rate_ok else 'missed'}; "
        f"p99 < {TARGET_P99_MS:.0f} ms: {'met' if p99_ok else 'missed'}"
    )


def _uvicorn_version() -> str:
    return importlib.metadata.version("uvicorn")


def _http_parser() -> str:
    """What uvicorn's `--http auto` picks in this interpreter: httptools when installed, else h11 (pure Python)."""
    return "httptools" if importlib.util.find_spec("httptools") else "h11"


def report(results: list[Measured], profile: Profile) -> str:
    ceiling = {m.load.clients: m.load.accepted_per_second for m in results if m.server == "ceiling"}
    out = [
        (
            f"Intake, {os.cpu_count()} cores, {profile.seconds:g} s a run ({profile.prototype_seconds:g} s for the prototype); "
            f"target: receiver ≥ {TARGET_RATE:,.0f} accepted/s at {TARGET_CLIENTS} clients with p99 < {TARGET_P99_MS:.0f} ms."
        ),
        (
            f"uvicorn {_uvicorn_version()} with the {_http_parser()} HTTP parser for the receiver and the ceiling; "
            "latencies are of every answered request, errors included."
        ),
        "",
        "| server | clients | accepted/s | p50 ms | p99 ms | errors | share of ceiling | target |",
        "|---|---:|---:|---:|---:|---|---:|---|",
    ]
    order = {"prototype": 0, "receiver": 1, "ceiling": 2}
    for m in sorted(results, key=lambda m: (m.load.clients, order[m.server])):
        share = ""
        if m.server == "receiver" and ceiling.get(m.load.clients):
            share = f"{m.load.accepted_per_second / ceiling[m.load.clients]:.0%}"
        out.append(
            f"| {m.server} | {m.load.clients} | {m.load.accepted_per_second:,.1f} | {_ms(m.load.percentile_ms(0.5))} "
            f"| {_ms(m.load.percentile_ms(0.99))} | {_errors(m.load)} | {share} | {_verdict(m)} |"
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
            "Receiver backlog after each run (GET /health journal.backlog until 0):",
            "",
            "| clients | accepted | backlog at end of load | drained in s | commits/s over load and drain |",
            "|---:|---:|---:|---:|---:|",
        ]
        for m in drains:
            assert m.drain is not None
            d = m.drain
            drained = f"{d.seconds:,.1f}" if d.drained else f"not drained after {d.seconds:,.0f}"
            out.append(f"| {m.load.clients} | {d.accepted:,} | {d.backlog_at_end:,} | {drained} | {d.commit_rate:,.0f} |")
    out += [
        "",
        "CPU during each run (100% = one core; the load generator is this process):",
        "",
        "| server | clients | server CPU | load generator CPU |",
        "|---|---:|---:|---:|",
    ]
    for m in sorted(results, key=lambda m: (order[m.server], m.load.clients)):
        elapsed = max(m.load.elapsed, 1e-9)
        out.append(f"| {m.server} | {m.load.clients} | {m.server_cpu / elapsed:.0%} | {m.load.generator_cpu / elapsed:.0%} |")
    return "\n".join(out)


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
    if args.quick:
        clients = args.clients or (1, 8, 64)
        seconds = args.seconds or 3.0
        return Profile(clients, seconds, tuple(c for c in clients if c <= 8), args.prototype_seconds or 3.0, rate_limit=args.rate_limit)
    clients = args.clients or (1, 8, 64)
    seconds = args.seconds or 10.0
    return Profile(clients, seconds, clients, args.prototype_seconds or min(seconds, 5.0), rate_limit=args.rate_limit)


def run(profile: Profile, venv: Path, servers: Sequence[str]) -> list[Measured]:
    template = json.loads(CAPTURE.read_text(encoding="utf-8"))["body_json"]
    submissions = Submissions(template)
    results: list[Measured] = []
    with contextlib.ExitStack() as stack:
        base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="intake-bench-")))
        if "prototype" in servers and profile.prototype_clients:
            python = prototype_python(venv)
            with contextlib.ExitStack() as scope:
                server = start_prototype(scope, base / "prototype", python)
                warm_up(server, submissions, 3)
                for clients in profile.prototype_clients:
                    print(f"prototype, {clients} client(s) ...", file=sys.stderr)
                    before = pushed(server)
                    # The prototype answers in tens of milliseconds to
                    # seconds; the grace lets its in-flight commits finish.
                    m = measure(server, submissions, clients, profile.prototype_seconds, profile.prototype_pool, grace=60.0)
                    m.pushed = pushed(server) - before
                    results.append(m)
        if "receiver" in servers:
            with contextlib.ExitStack() as scope:
                server = start_receiver(scope, base / "receiver", profile.rate_limit)
                warm_up(server, submissions, 200)
                wait_drained(server, 0, 0, 1.0, timeout=120.0)
                for clients in profile.clients:
                    print(f"receiver, {clients} client(s) ...", file=sys.stderr)
                    _, delivered_before = _journal(server)
                    m = measure(server, submissions, clients, profile.seconds, int(profile.pool_rate * profile.seconds), grace=10.0)
                    m.drain = wait_drained(server, m.load.accepted, delivered_before, m.load.elapsed, timeout=600.0)
                    results.append(m)
        if "ceiling" in servers:
            with contextlib.ExitStack() as scope:
                server = start_ceiling(scope, base / "ceiling")
                warm_up(server, submissions, 200)
                for clients in profile.clients:
                    print(f"ceiling, {clients} client(s) ...", file=sys.stderr)
                    results.append(measure(server, submissions, clients, profile.seconds, int(profile.pool_rate * profile.seconds), grace=10.0))
    return results


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--clients", type=_counts, help="concurrent keep-alive clients, comma-separated (default 1,8,64)")
    parser.add_argument("--seconds", type=float, help="duration of each receiver and ceiling run (default 10; 3 with --quick)")
    parser.add_argument("--prototype-seconds", type=float, help="duration of each prototype run (default 5; 3 with --quick)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: a few seconds each, the prototype only at 1 and 8 clients")
    parser.add_argument(
        "--servers",
        default="prototype,receiver,ceiling",
        help="which servers to measure, comma-separated (default all three)",
    )
    parser.add_argument(
        "--rate-limit",
        default="0",
        help="the receiver's RECEIVER_RATE_LIMIT (default 0, off); 1000000000/hour checks the shared limiter on every post without refusing",
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
    unknown = set(servers) - {"prototype", "receiver", "ceiling"}
    if unknown:
        print(f"intake: unknown server(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    profile = build_profile(args)
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        results = run(profile, args.venv, servers)
    except KeyboardInterrupt:
        print("intake: interrupted; servers stopped, temporary folders removed", file=sys.stderr)
        return 130
    except Interrupted:
        print("intake: terminated; servers stopped, temporary folders removed", file=sys.stderr)
        return 143
    print(report(results, profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
