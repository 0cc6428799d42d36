"""`receiver serve` with two worker processes over real HTTP: both hand out frames from one shared tally."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from receiver.volunteers.videos import Video
from tests.support.servers import ReceiverProcess
from tests.support.volunteers import HttpVolunteer
from tests.volunteers.frames.conftest import honest_label

VIDEO = Video(url="https://videos.example.org/loop.mp4", fps=30.0, frames=6, width=1280, height=720)


def test_two_workers_share_the_tally_and_never_hand_out_a_retired_frame(tmp_path: Path) -> None:
    """Labels posted to whichever worker answers retire frames for both; a fresh connection never gets one back."""
    videos = tmp_path / "videos.json"
    videos.write_text(json.dumps([VIDEO.public()]), encoding="utf-8")
    environ = {"RECEIVER_WORKERS": "2", "RECEIVER_VIDEOS": str(videos), "RECEIVER_RETIRE_AFTER": "1", "RECEIVER_RATE_LIMIT": "0"}
    with ReceiverProcess(tmp_path, environ) as server, httpx.Client(timeout=30) as http:
        labelled = []
        for n in range(4):
            # A new connection each time, so the kernel spreads requests over both workers.
            with httpx.Client(timeout=30) as fresh:
                volunteer = HttpVolunteer(server.url, f"192.0.2.{n + 1}", fresh)
                offer = volunteer.next_frame()
                answer = volunteer.label(honest_label(VIDEO, offer["frame_index"], f"volunteer-{n:04d}"), offer["lease"])
            assert answer.status_code == 202 and answer.json()["assigned"] is True, answer.text
            labelled.append(offer["frame_index"])
        newcomer = HttpVolunteer(server.url, "192.0.2.99", http)
        picks = [newcomer.next_frame(count="6") for _ in range(12)]
        progress = [httpx.get(f"{server.url}/api/progress").json()["videos"][0] for _ in range(6)]
    rest = sorted(set(range(6)) - set(labelled))
    assert len(set(labelled)) == 4
    assert all(sorted(item["frame_index"] for item in pick["frames"]) == rest for pick in picks)
    assert all(p == {"url": VIDEO.url, "frames": 6, "retired": 4, "in_progress": 0, "untouched": 2} for p in progress)
