"""A newcomer's first minutes, from a fresh clone: the README's set-up and "Try it", in dash, timed.

    python benchmarks/first_hour.py [--keep]

`git clone`s this checkout's HEAD into a temporary folder, then runs the
README's own lines there under dash: the "Two commands" serve command whole
(`python3 -m venv .venv`, `pip install -e .` from the package index, then
`receiver serve`, in the background on a free port), and once it answers,
the "Try it" block (post the captured submission, wait for the commit, show
it). Printed: seconds for the clone, for the set-up until /health answers,
and for "Try it"; whether the commit was found; the start message serve
printed. Unlike tests/acceptance/test_readme_try_it.py it builds its own
venv, so it needs the package index and takes minutes; only committed
changes are in the clone.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.acceptance.test_readme_try_it import SHELL, readme_section  # noqa: E402
from tests.support.servers import free_port  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code in (200, 503)
    except httpx.TransportError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="leave the clone in place and print where it is")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="first-hour-"))
    clone = work / "pose-receiver"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECEIVER_", "GITHUB_", "VIRTUAL_ENV"))}
    env["RECEIVER_PORT"] = str(port)
    started = time.monotonic()
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    cloned = time.monotonic()
    setup = readme_section("Two commands")[0]
    (try_it,) = readme_section("Try it")
    server = subprocess.Popen([SHELL, "-c", setup.replace("&& .venv/bin/receiver", "&& exec .venv/bin/receiver")], cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        while not _answers(port):
            if server.poll() is not None:
                print(f"the README's set-up exited with {server.returncode} before serving")
                return 1
            time.sleep(0.5)
        served = time.monotonic()
        env["PATH"] = f"{clone / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        ran = subprocess.run([SHELL, "-c", try_it.replace("localhost:8000", f"localhost:{port}")], cwd=clone, env=env, capture_output=True, text=True, timeout=300)
        tried = time.monotonic()
    finally:
        server.terminate()
        printed, _ = server.communicate(timeout=60)
    found = re.search(r"^commit [0-9a-f]{40}$", ran.stdout, re.MULTILINE) is not None
    print(f"clone                      {cloned - started:8.1f} s")
    print(f"set-up until /health       {served - cloned:8.1f} s   (venv, pip install -e ., receiver serve)")
    print(f"Try it until the commit    {tried - served:8.1f} s   commit found: {'yes' if found else 'NO'}")
    # pip's own lines come first; show what serve said once it listened.
    start = printed.find("receiver serve:")
    print("serve printed:\n" + "".join(f"  | {line}\n" for line in printed[max(start, 0) :].splitlines() if line.strip()))
    if args.keep:
        print(f"clone kept in {clone}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if found and ran.returncode == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
