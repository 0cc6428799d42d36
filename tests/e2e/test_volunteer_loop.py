"""`receiver serve` with two worker processes over real HTTP: both hand out frames from one shared tally."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from receiver.volunteers.videos import Video
from tests.support.servers import ReceiverProcess
from tests.volunteers.frames.conftest import honest_label

VIDEO = Video(url="https://videos.example.org/loop.mp4", fps=30.0, frames=6, width=1280, height=720)


def test_two_workers_share_the_tally_and_never_hand_out_a_retired_frame(tmp_path: Path) -> None:
    """Labels posted to whichever worker answers retire frames for both; a fresh connection never gets one back."""
    videos = tmp_path / "videos.json"
    videos.write_text(json.dumps([VIDEO.public()]), encoding="utf-8")
    environ = {"RECEIVER_WORKERS": "2", "RECEIVER_VIDEOS": str(videos), "RECEIVER_RETIRE_AFTER": "1", "RECEIVER_RATE_LIMIT": "0"}
    with ReceiverProcess(tmp_path, environ) as server:
        for frame in range(4):
            # A new connection each time, so the kernel spreads requests over both workers.
            answer = httpx.post(f"{server.url}/api/labels", json=honest_label(VIDEO, frame, f"volunteer-{frame:04d}"))
            assert answer.status_code == 202, answer.text
        picks = [httpx.get(f"{server.url}/api/next-frame", params={"volunteer": "newcomer-0001", "count": "6"}).json() for _ in range(12)]
        progress = [httpx.get(f"{server.url}/api/progress").json()["videos"][0] for _ in range(6)]
    assert all(sorted(item["frame_index"] for item in pick["frames"]) == [4, 5] for pick in picks)
    assert all(p == {"url": VIDEO.url, "frames": 6, "retired": 4, "in_progress": 0, "untouched": 2} for p in progress)
