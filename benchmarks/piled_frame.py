"""One frame piled with labels: does it slow everyone else down? Figures for this tree and, side by side, another revision.

    python benchmarks/piled_frame.py [--pile 2000] [--posts 200] [--before REV]

Starts `receiver serve` (one process, SQLite, a 50-frame video, K=3, no rate
limit), piles `--pile` labels on frame 0, each from its own address (a session
each, with frame 0's lease, where the receiver issues sessions; a plain post
naming its own volunteer id where it does not), then measures:

- honest posts of other frames, one at a time: p50 and p99 of the answer time;
- `/health` answered while a second client requests `/api/review/{id}` of the
  piled frame in a loop: p50 and p99.

With `--before REV` the same runs against that revision's code (from
`git archive`), so the two are compared in one run on the same machine. The
targets: honest posts p99 under 100 ms, `/health` p99 under 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
from revisions import tree_of
VIDEO = {"url": "https://videos.example.org/piled.mp4", "fps": 30.0, "frames": 50, "width": 1280, "height": 720}
SECRET = "piled-frame-benchmark-secret"


def body(frame: int, n: int) -> dict[str, Any]:
    captured = json.loads((ROOT / "tests" / "captured" / "post_six_placed.json").read_text())["body"]
    document: dict[str, Any] = json.loads(captured)
    document.update(video_url=VIDEO["url"], frame_index=frame, total_frames=VIDEO["frames"], fps=VIDEO["fps"], frame_width=1280, frame_height=720)
    document["timestamp"] = f"2026-12-07T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}.000Z"
    for i, label in enumerate(document["labels"]):
        label.update(placed=True, pixel_x=100.0 + 50 * i + (n % 7), pixel_y=100.0 + 40 * i + (n % 5))
    document["metadata"] = {"volunteer": f"piler-{n:08d}"}
    return document




def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def pile(http: httpx.Client, url: str, count: int) -> str:
    """`count` labels of frame 0, each from its own address; the id of the last."""
    sessions = http.post(f"{url}/api/sessions", headers={"X-Forwarded-For": "10.255.0.1"}).status_code == 201
    keys = None
    if sessions:
        sys.path.insert(0, str(ROOT))
        from receiver.volunteers.sessions import SessionKeys

        keys = SessionKeys(SECRET, lifetime=86400.0)
    last = ""
    for n in range(count):
        address = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
        headers = {"X-Forwarded-For": address}
        if keys is not None:
            token = http.post(f"{url}/api/sessions", headers=headers).json()["session"]
            session = keys.verify(token, time.time())
            headers.update({"X-Volunteer-Session": token, "X-Volunteer-Lease": keys.ticket(session, VIDEO["url"], 0, time.time() + 3600)})
        answer = http.post(f"{url}/api/labels", json=body(0, n), headers=headers)
        assert answer.status_code == 202, answer.text
        last = answer.json()["id"]
    return last


def measure(tree: Path, piled: int, posts: int, workdir: Path) -> dict[str, float]:
    workdir.mkdir(parents=True)
    videos = workdir / "videos.json"
    videos.write_text(json.dumps([VIDEO]))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECEIVER_", "GITHUB_"))}
    env.update(
        PYTHONPATH=str(tree),
        RECEIVER_VIDEOS=str(videos),
        RECEIVER_RETIRE_AFTER="3",
        RECEIVER_RATE_LIMIT="0",
        RECEIVER_LOG_FORMAT="text",
    )
    if (tree / "receiver" / "volunteers" / "sessions.py").exists():
        env.update(RECEIVER_SESSION_LIMIT="0", RECEIVER_SESSION_SECRET=SECRET)
    url = f"http://127.0.0.1:{port}"
    log = open(workdir / "receiver.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "receiver", "serve", "--port", str(port)], cwd=workdir, env=env, stdout=log, stderr=log)
    try:
        with httpx.Client(timeout=60) as http:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if http.get(f"{url}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"the receiver did not start:\n{(workdir / 'receiver.log').read_text()[-2000:]}")
                time.sleep(0.1)
            started = time.perf_counter()
            last = pile(http, url, piled)
            pile_seconds = time.perf_counter() - started
            honest = []
            for n in range(posts):
                sent = time.perf_counter()
                answer = http.post(f"{url}/api/labels", json=body(1 + n % 49, 10_000_000 + n), headers={"X-Forwarded-For": f"172.16.{n // 256}.{n % 256}"})
                honest.append(time.perf_counter() - sent)
                assert answer.status_code == 202, answer.text
            stop = threading.Event()

            def reviewing() -> None:
                with httpx.Client(timeout=60) as other:
                    while not stop.is_set():
                        other.get(f"{url}/api/review/{last}")

            loop = threading.Thread(target=reviewing)
            loop.start()
            health = []
            try:
                for _ in range(100):
                    sent = time.perf_counter()
                    http.get(f"{url}/health")
                    health.append(time.perf_counter() - sent)
                    time.sleep(0.01)
            finally:
                stop.set()
                loop.join()
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
    return {
        "pile s": pile_seconds,
        "post p50 ms": 1000 * statistics.median(honest),
        "post p99 ms": 1000 * percentile(honest, 0.99),
        "health p50 ms": 1000 * statistics.median(health),
        "health p99 ms": 1000 * percentile(health, 0.99),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pile", type=int, default=2000, help="labels piled on frame 0 (default 2000)")
    parser.add_argument("--posts", type=int, default=200, help="honest posts timed afterwards (default 200)")
    parser.add_argument("--before", help="also run this git revision's code, for comparison")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        rows = {"this tree": measure(ROOT, args.pile, args.posts, Path(folder) / "after")}
        if args.before:
            rows[args.before[:12]] = measure(tree_of(args.before, Path(folder)), args.pile, args.posts, Path(folder) / "before-run")
    names = list(next(iter(rows.values())))
    print(f"{args.pile} labels piled on one frame, then {args.posts} honest posts and 100 /health reads beside a /api/review loop")
    print(f"{'':<14}" + "".join(f"{n:>15}" for n in names))
    for label, row in rows.items():
        print(f"{label:<14}" + "".join(f"{row[n]:>15.1f}" for n in names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
