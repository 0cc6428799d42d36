"""Run the fake GitHub as a server: ``python -m tests.github_fake --port 8765 --repo o/r --token T``.

Prints ``fake github listening on URL`` (flushed) once it accepts
connections, so a parent process waits for that line instead of sleeping.
``--token`` may repeat and take ``TOKEN=LOGIN`` (plain ``TOKEN`` means the
first repository's owner). Its clock follows real time, so rate-limit windows
end by themselves; ``--frozen-clock`` starts it frozen at a fixed date, moved
only by ``POST /_fake/clock``. Stops on SIGINT/SIGTERM.

It needs only the receiver's own dependencies (PyGithub brings ``requests``):
``responses``, of the test extra, is imported only by in-process tests.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType

from .app import FakeGitHub
from .clock import FakeClock
from .server import FakeServer

__all__ = ["Arguments", "main", "parse"]


@dataclass(frozen=True)
class Arguments:
    host: str
    port: int
    repos: list[str]
    tokens: list[tuple[str, str]]
    prefix: str
    frozen_clock: bool = False


def parse(argv: Sequence[str]) -> Arguments:
    parser = argparse.ArgumentParser(prog="python -m tests.github_fake", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed)")
    parser.add_argument("--repo", action="append", default=[], help="OWNER/NAME, created with a README on main")
    parser.add_argument("--token", action="append", default=[], help="TOKEN or TOKEN=LOGIN")
    parser.add_argument("--prefix", default="", help="API path prefix, e.g. /api/v3")
    parser.add_argument("--frozen-clock", action="store_true", help="a clock that moves only by POST /_fake/clock (default: real time)")
    args = parser.parse_args(argv)
    repos = args.repo or ["owner/data"]
    default_login = repos[0].split("/")[0]
    tokens = []
    for spec in args.token:
        token, sep, login = spec.partition("=")
        tokens.append((token, login if sep else default_login))
    return Arguments(args.host, args.port, repos, tokens, args.prefix, args.frozen_clock)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse(sys.argv[1:] if argv is None else argv)
    fake = FakeGitHub(clock=FakeClock() if arguments.frozen_clock else FakeClock.real_time())
    for full_name in arguments.repos:
        fake.create_repository(full_name)
    for token, login in arguments.tokens:
        fake.add_token(token, login)
    server = FakeServer(fake, arguments.host, arguments.port, arguments.prefix)

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"fake github listening on {server.url}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
