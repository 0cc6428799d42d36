"""The forgeries of a crowd, over real HTTP against `receiver serve`: one client cannot be a crowd.

Each client is a session from an address of its own (`X-Forwarded-For`, which
the receiver trusts from 127.0.0.1). The attacker holds one address.
"""

from __future__ import annotations

import io
import json
import statistics
from pathlib import Path
from typing import Any

import httpx

from receiver.cli import main as receiver_cli
from receiver.volunteers.videos import Video
from tests.support.servers import ReceiverProcess, wait_until
from tests.support.volunteers import HttpVolunteer
from tests.volunteers.frames.conftest import far_label, honest_label, truth

VIDEO = Video(url="https://videos.example.org/forged.mp4", fps=30.0, frames=20, width=1280, height=720)
ATTACKER = "203.0.113.66"


def serve(tmp_path: Path, **settings: str) -> ReceiverProcess:
    videos = tmp_path / "videos.json"
    videos.write_text(json.dumps([VIDEO.public()]), encoding="utf-8")
    return ReceiverProcess(tmp_path, {"RECEIVER_VIDEOS": str(videos), "RECEIVER_RETIRE_AFTER": "3", **settings})


def progress(server: ReceiverProcess) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(f"{server.url}/api/progress").json()["videos"][0]
    return answer


def test_ninety_labels_of_one_frame_from_one_client_retire_nothing(tmp_path: Path) -> None:
    """All 90 are kept (202, under the default rate limit); the frame counts one label and no other frame moves."""
    with serve(tmp_path) as server, httpx.Client(timeout=30) as http:
        mallory = HttpVolunteer(server.url, ATTACKER, http)
        offer = mallory.next_frame()
        codes = set()
        for n in range(90):
            body = far_label(VIDEO, offer["frame_index"], "mallory-0001")
            body["timestamp"] = f"2026-12-07T10:{n // 60:02d}:{n % 60:02d}.000Z"
            codes.add(mallory.label(body, offer["lease"]).status_code)
        state = progress(server)
        others = HttpVolunteer(server.url, "192.0.2.10", http).next_frame(count="10")
    assert codes == {202}
    assert state == {"url": VIDEO.url, "frames": 20, "retired": 0, "in_progress": 1, "untouched": 19}
    assert others["remaining"] == 20


def test_made_up_sessions_of_one_network_do_not_outvote_two_honest_volunteers(tmp_path: Path) -> None:
    """Three sessions from one address label every frame far off; two honest volunteers label each frame.

    Every frame's consensus stays within 5 px of the honest labels or the frame
    stays unsettled, and `receiver consensus` trusts the forgers less than the
    honest volunteers.
    """
    with serve(tmp_path, RECEIVER_RATE_LIMIT="0") as server, httpx.Client(timeout=30) as http:
        forgers = [HttpVolunteer(server.url, ATTACKER, http) for _ in range(3)]
        for forger in forgers:
            offers = forger.next_frame(count="10")["frames"] + forger.next_frame(count="10")["frames"]
            leases = {item["frame_index"]: item["lease"] for item in offers}
            for frame in range(VIDEO.frames):
                forger.label(far_label(VIDEO, frame, forger.pseudonym), leases.get(frame))
        honest = [HttpVolunteer(server.url, f"192.0.2.{n + 1}", http) for n in range(2 * VIDEO.frames)]
        honest_ids: dict[int, str] = {}
        for volunteer in honest:
            offer = volunteer.next_frame()
            if offer["frame_index"] is None:
                continue
            answer = volunteer.label(honest_label(VIDEO, offer["frame_index"], volunteer.pseudonym, noise=1.0), offer["lease"])
            assert answer.status_code == 202, answer.text
            honest_ids[offer["frame_index"]] = answer.json()["id"]
        reviews = {frame: http.get(f"{server.url}/api/review/{identifier}").json() for frame, identifier in honest_ids.items()}
        wait_until(lambda: http.get(f"{server.url}/health").json()["journal"]["backlog"] == 0, timeout=60, what="every record delivered")
    assert len(honest_ids) == VIDEO.frames
    settled = 0
    for frame, review in reviews.items():
        points = list((review["consensus"] or {}).values())
        if all(point is None for point in points):
            continue  # unsettled: waits for more volunteers or a reviewer
        settled += 1
        for (x, y), point in zip(truth(VIDEO, frame), points):
            assert point is not None and abs(point["x"] - x) < 5 and abs(point["y"] - y) < 5, (frame, point, (x, y))
    table = tmp_path / "consensus.json"
    assert receiver_cli(["consensus", str(tmp_path / "receiver-data" / "annotations.git"), "--out", str(table)], environ={}, out=io.StringIO(), err=io.StringIO()) == 0
    reliability = {v["volunteer"]: v["reliability"] for v in json.loads(table.read_text())["volunteers"]}
    forged = [reliability[f.pseudonym] for f in forgers if f.pseudonym in reliability]
    trusted = [reliability[v.pseudonym] for v in honest if v.pseudonym in reliability]
    assert trusted and (not forged or max(forged) < statistics.median(trusted)), (forged, trusted)
    print(f"{settled} of {len(reviews)} frames settled on the honest labels; forgers' reliability {forged}, honest median {statistics.median(trusted):.3f}")
