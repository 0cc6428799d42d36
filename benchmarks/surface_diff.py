"""What a user can see of the receiver, at two revisions, and the difference: empty when a change moved code only.

    python benchmarks/surface_diff.py [--before REV] [--after REV]

The surface is every `--help` text (`receiver --help` and each subcommand's,
nested ones included), `GET /openapi.json`, and the stored bytes of the captured
labeling-page submissions: each is posted to the app over HTTP (Starlette's
TestClient, a clock fixed at one instant so receipts agree), delivered into a
local bare repository, and read back with git. `--before` defaults to `HEAD`,
`--after` to the working tree. Prints a unified diff and exits 1 when the two
surfaces differ, 0 when they are the same.
"""

from __future__ import annotations

import argparse
import difflib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
from revisions import tree_of
CAPTURED = ROOT / "tests" / "captured"

# Runs inside a tree's own interpreter path, so it names only what both layouts share:
# the CLI's `build_parser`/`main`, the settings, and `create_app` wherever the tree keeps it.
PROBE = r'''
import argparse, contextlib, io, json, subprocess, sys, tempfile, time
from datetime import datetime, timezone
from pathlib import Path

from receiver.cli import build_parser, main
from receiver.settings import Settings
try:
    from receiver.web.app import create_app
except ImportError:
    from receiver.app import create_app
from starlette.testclient import TestClient

def commands(parser, prefix):
    yield prefix
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, prefix + [name])

def help_text(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        main(argv + ["--help"], environ={}, out=out, err=err)
    return out.getvalue() + err.getvalue()

surface = {"help": {}, "stored": {}}
for argv in commands(build_parser(), []):
    surface["help"][" ".join(["receiver"] + argv)] = help_text(argv)

bodies = json.loads(sys.argv[1])
with tempfile.TemporaryDirectory() as folder:
    repo = Path(folder) / "annotations.git"
    settings = Settings(local_repo=repo, journal=Path(folder) / "journal.sqlite3")
    instant = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    app = create_app(settings, now=lambda: instant)
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        surface["openapi"] = client.get("/openapi.json").json()
        ids = []
        for name, body in bodies.items():
            answer = client.post("/api/labels", content=body.encode(), headers={"Content-Type": "application/json"})
            surface.setdefault("answers", {})[name] = [answer.status_code, sorted(answer.json())]
            if answer.status_code < 300:
                ids.append(answer.json()["id"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            states = [client.get(f"/api/submissions/{i}").json().get("status") for i in ids]
            if all(s == "delivered" for s in states):
                break
            time.sleep(0.1)
    listing = subprocess.run(["git", "--git-dir", str(repo), "ls-tree", "-r", "--name-only", "HEAD"], capture_output=True, text=True, check=True)
    for path in listing.stdout.split():
        blob = subprocess.run(["git", "--git-dir", str(repo), "show", f"HEAD:{path}"], capture_output=True, text=True, check=True)
        surface["stored"][path] = blob.stdout
print(json.dumps(surface, indent=1, sort_keys=True))
'''




def surface(tree: Path, bodies: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(bodies)],
        cwd=tree,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tree), "HOME": str(tree)},
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"the probe failed in {tree}:\n{done.stderr[-3000:]}")
    return done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="HEAD", help="git revision to compare from (default HEAD)")
    parser.add_argument("--after", default=None, help="git revision to compare to (default: the working tree)")
    args = parser.parse_args()
    bodies = {}
    for path in sorted(CAPTURED.glob("post_*.json")):
        bodies[path.stem] = json.loads(path.read_text(encoding="utf-8"))["body"]
    with tempfile.TemporaryDirectory() as folder:
        before = surface(tree_of(args.before, Path(folder)), bodies)
        after = surface(tree_of(args.after, Path(folder)), bodies)
    facts = json.loads(after)
    print(f"compared {len(facts['help'])} help texts, /openapi.json and {len(facts['stored'])} stored files")
    diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(), args.before, args.after or "working tree", lineterm=""))
    print("\n".join(diff) if diff else "no difference")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
