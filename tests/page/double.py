"""A stand-in for the receiver's frame endpoints, until the branch that builds them lands.

It answers `GET /api/next-frame`, `GET /api/progress` and `GET /api/review/{id}` in the
shapes the page codes against, from the journal the real app writes (read-only) and
the videos in `RECEIVER_VIDEOS` (a JSON list of {url, fps, frames, width, height}).
`with_frame_endpoints` adds them only when the app does not route them itself, so
the same tests run against the real endpoints once they exist.

`python -m tests.page.double serve --port N` is `receiver serve` with these endpoints added.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from receiver.app import create_app
from receiver.settings import Settings, load_settings

__all__ = ["routes_next_frame", "with_frame_endpoints", "main"]

Video = dict[str, Any]


def routes_next_frame(app: Starlette) -> bool:
    """Whether `app` routes /api/next-frame itself."""
    return any(getattr(route, "path", None) == "/api/next-frame" for route in app.routes)


def _records(journal: Path) -> list[dict[str, Any]]:
    if not journal.exists():
        return []
    with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as connection:
        rows = connection.execute("SELECT document FROM records ORDER BY seq").fetchall()
    return [json.loads(row[0]) for row in rows]


def _volunteer(record: Mapping[str, Any]) -> str | None:
    value = (record["submission"].get("metadata") or {}).get("volunteer")
    return value if isinstance(value, str) else None


class _Frames:
    def __init__(self, settings: Settings, videos: list[Video], retire_after: int) -> None:
        self.journal = settings.journal_path.resolve()
        self.videos = videos
        self.retire_after = retire_after
        # A fixed shuffle: frames come in no particular order, as a real picker's would.
        self.order = {v["url"]: random.Random(v["url"]).sample(range(v["frames"]), v["frames"]) for v in videos}

    def _counts(self) -> tuple[Counter[tuple[str, int]], dict[str, set[tuple[str, int]]], list[dict[str, Any]]]:
        records = _records(self.journal)
        counts: Counter[tuple[str, int]] = Counter()
        by_volunteer: dict[str, set[tuple[str, int]]] = defaultdict(set)
        for record in records:
            key = (record["submission"]["video_url"], record["submission"]["frame_index"])
            counts[key] += 1
            volunteer = _volunteer(record)
            if volunteer:
                by_volunteer[volunteer].add(key)
        return counts, by_volunteer, records

    async def next_frame(self, request: Request) -> Response:
        volunteer = request.query_params.get("volunteer", "")
        count = int(request.query_params.get("count", "1"))
        counts, by_volunteer, _ = self._counts()
        mine = by_volunteer.get(volunteer, set())
        open_frames = [
            (video, index)
            for video in self.videos
            for index in self.order[video["url"]]
            if counts[(video["url"], index)] < self.retire_after and (video["url"], index) not in mine
        ]
        frames = [{"video": v, "frame_index": i, "labels": counts[(v["url"], i)]} for v, i in open_frames[:count]]
        first = frames[0] if frames else None
        return JSONResponse({
            "message": f"Label frame {first['frame_index']}." if first else "Every frame has its labels. Thank you!",
            "video": first["video"] if first else None,
            "frame_index": first["frame_index"] if first else None,
            "labels": first["labels"] if first else 0,
            "retire_after": self.retire_after,
            "remaining": len(open_frames),
            "frames": frames,
        })

    async def progress(self, request: Request) -> Response:
        volunteer = request.query_params.get("volunteer")
        counts, by_volunteer, _ = self._counts()
        videos = []
        for video in self.videos:
            seen = [counts[(video["url"], i)] for i in range(video["frames"])]
            videos.append({
                "url": video["url"], "frames": video["frames"],
                "retired": sum(1 for c in seen if c >= self.retire_after),
                "in_progress": sum(1 for c in seen if 0 < c < self.retire_after),
                "untouched": sum(1 for c in seen if c == 0),
            })
        left = sum(v["frames"] - v["retired"] for v in videos)
        return JSONResponse({
            "message": f"{left} frames still need labels.",
            "videos": videos,
            "frames_left": left,
            "volunteer": {"id": volunteer, "done": len(by_volunteer.get(volunteer, set()))} if volunteer else None,
        })

    async def review(self, request: Request) -> Response:
        identifier = request.path_params["id"]
        _, _, records = self._counts()
        record = next((r for r in records if r["receipt"]["id"] == identifier), None)
        if record is None:
            return JSONResponse({"error": "No submission has this id.", "details": ["No submission has this id."]}, status_code=404)
        submission = record["submission"]
        same = [r for r in records if (r["submission"]["video_url"], r["submission"]["frame_index"]) == (submission["video_url"], submission["frame_index"])]
        others = [r for r in same if r is not record]
        consensus = None
        if len(same) >= 2:
            points: dict[str, list[tuple[float, float]]] = defaultdict(list)
            for r in same:
                for label in r["submission"]["labels"]:
                    if label["placed"]:
                        points[label["id"]].append((label["pixel_x"], label["pixel_y"]))
            consensus = {k: {"x": sum(x for x, _ in v) / len(v), "y": sum(y for _, y in v) / len(v)} for k, v in points.items()}
        video = next((v for v in self.videos if v["url"] == submission["video_url"]), None)
        return JSONResponse({"record": record, "video": video, "others": others, "consensus": consensus})


def with_frame_endpoints(app: Starlette, settings: Settings, environ: Mapping[str, str]) -> Starlette:
    """`app`, plus this double's frame endpoints if the app lacks them."""
    if routes_next_frame(app):
        return app
    videos = json.loads(environ.get("RECEIVER_VIDEOS", "[]"))
    frames = _Frames(settings, videos, int(environ.get("RECEIVER_RETIRE_AFTER", "1")))
    app.router.routes[0:0] = [
        Route("/api/next-frame", frames.next_frame, methods=["GET"]),
        Route("/api/progress", frames.progress, methods=["GET"]),
        Route("/api/review/{id}", frames.review, methods=["GET"]),
    ]
    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="receiver serve, with the frame endpoints' stand-in")
    parser.add_argument("command", choices=("serve",))
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = load_settings(os.environ, overrides={"port": args.port})
    app = with_frame_endpoints(create_app(settings), settings, os.environ)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", timeout_keep_alive=5)


if __name__ == "__main__":
    main()
