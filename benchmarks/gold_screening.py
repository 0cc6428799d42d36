"""A crowd with random clickers in it: does gold screening keep the settled answers as good as an honest crowd's?

    python benchmarks/gold_screening.py [--frames 60] [--gold 15] [--honest 60] [--clickers 0.3] [--seed 1]

Runs the receiver in-process (its HTTP answers through Starlette's test
client; SQLite journal; one video; K=3) three times with the same seeds:

- **honest**: only careful volunteers (clicks 3 px from the truth);
- **clickers, no gold**: the same volunteers, and new sessions of which
  `--clickers` (30%) click anywhere on the frame; no gold configured;
- **clickers, gold**: the same crowd with `--gold` frames of expert points
  (RECEIVER_GOLD) and screening on.

Every volunteer is a session the receiver issued, from an address of its
own; each step one of them, drawn at random, asks next-frame for one frame
and labels the frame it was leased. Steps stop when every crowd frame is
retired. For each run it prints the median and mean distance (px) between the
settled points of the retired frames and the truth, the labels posted per
retired frame, and the error's ratio to the honest run's: the target is a
ratio no worse than 1.10 with gold screening.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from receiver.contract.records import Record  # noqa: E402
from receiver.settings import Settings  # noqa: E402
from receiver.volunteers.videos import Video  # noqa: E402
from receiver.web.app import create_app  # noqa: E402

WIDTH, HEIGHT = 1280, 720


def truth(frame: int) -> list[tuple[float, float]]:
    rng = random.Random(f"truth#{frame}")
    return [(rng.uniform(100, WIDTH - 100), rng.uniform(100, HEIGHT - 100)) for _ in range(6)]


def label(video: Video, frame: int, points: list[tuple[float, float]]) -> dict[str, Any]:
    captured = json.loads((ROOT / "tests" / "captured" / "post_six_placed.json").read_text())["body"]
    body: dict[str, Any] = json.loads(captured)
    body.update(video_url=video.url, frame_index=frame, total_frames=video.frames, fps=video.fps, frame_width=WIDTH, frame_height=HEIGHT)
    for entry, (x, y) in zip(body["labels"], points):
        entry.update(placed=True, pixel_x=round(min(max(x, 0.0), WIDTH - 1), 1), pixel_y=round(min(max(y, 0.0), HEIGHT - 1), 1))
    return body


@dataclass
class Member:
    http: TestClient
    session: str
    clicker: bool


@dataclass
class Outcome:
    errors: list[float]
    posts: int
    retired: int


def run(frames: int, gold_frames: int, honest: int, clickers: float, seed: int, *, with_clickers: bool, with_gold: bool) -> Outcome:
    video = Video(url="https://videos.example.org/crowd.mp4", fps=30.0, frames=frames, width=WIDTH, height=HEIGHT)
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        gold_path = None
        gold_set = set(range(gold_frames)) if with_gold else set()
        if with_gold:
            when = datetime(2026, 12, 1, tzinfo=timezone.utc)
            documents = [Record.create(label(video, f, truth(f)), submitter="expert", received_at=when, receiver_version="0").document() for f in gold_set]
            gold_path = root / "gold.json"
            gold_path.write_text(json.dumps(documents), encoding="utf-8")
        settings = Settings(
            local_repo=root / "data" / "annotations.git", videos=(video,), rate_limit=None, session_limit=None,
            session_secret="gold-screening-benchmark", gold=gold_path,
        )
        entropy = iter(range(1, 10**9))
        app = create_app(settings, entropy=lambda: next(entropy))
        with TestClient(app) as client:
            size = honest + (round(honest * clickers / (1 - clickers)) if with_clickers else 0)
            crowd = []
            for n in range(size):
                http = TestClient(app, client=(f"10.{n // 250}.{n % 250}.1", 50000))
                session = http.post("/api/sessions").json()["session"]
                crowd.append(Member(http, session, clicker=n >= honest))
            rng.shuffle(crowd)
            posts = 0
            for _ in range(frames * 60):
                member = rng.choice(crowd)
                headers = {"X-Volunteer-Session": member.session}
                answer = member.http.get("/api/next-frame", headers=headers).json()
                if answer.get("frame_index") is None:
                    if answer.get("remaining") == 0:
                        break
                    continue
                frame = answer["frame_index"]
                if member.clicker:
                    points = [(rng.uniform(0, WIDTH), rng.uniform(0, HEIGHT)) for _ in range(6)]
                else:
                    points = [(x + rng.gauss(0, 3.0), y + rng.gauss(0, 3.0)) for x, y in truth(frame)]
                lease = answer.get("lease") or answer["frames"][0].get("lease")
                sent = member.http.post("/api/labels", json=label(video, frame, points), headers={**headers, "X-Volunteer-Lease": lease})
                assert sent.status_code == 202, sent.text
                posts += 1
            tally = app.state.receiver.tally
            errors: list[float] = []
            retired = 0
            for frame in range(frames):
                if frame in gold_set:
                    continue
                agreement = tally.agreement(video.url, frame)
                if agreement is None or not agreement.retired(3):
                    continue
                retired += 1
                for (x, y), point in zip(truth(frame), agreement.centre):
                    if point is not None:
                        errors.append(((point[0] - x) ** 2 + (point[1] - y) ** 2) ** 0.5)
            return Outcome(errors, posts, retired)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--gold", type=int, default=15)
    parser.add_argument("--honest", type=int, default=60)
    parser.add_argument("--clickers", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    runs = {
        "honest": run(args.frames, args.gold, args.honest, args.clickers, args.seed, with_clickers=False, with_gold=False),
        "clickers, no gold": run(args.frames, args.gold, args.honest, args.clickers, args.seed, with_clickers=True, with_gold=False),
        "clickers, gold": run(args.frames, args.gold, args.honest, args.clickers, args.seed, with_clickers=True, with_gold=True),
    }
    base = statistics.mean(runs["honest"].errors)
    print(f"{'run':<20} {'retired':>8} {'posts/frame':>12} {'median px':>10} {'mean px':>8} {'mean vs honest':>15}")
    for name, outcome in runs.items():
        mean = statistics.mean(outcome.errors) if outcome.errors else float("nan")
        median = statistics.median(outcome.errors) if outcome.errors else float("nan")
        per_frame = outcome.posts / max(outcome.retired, 1)
        print(f"{name:<20} {outcome.retired:>8} {per_frame:>12.2f} {median:>10.2f} {mean:>8.2f} {mean / base:>15.2f}")


if __name__ == "__main__":
    main()
