"""A lab's own video files, served by the receiver itself: labeled in the page with no other web server running.

The clip lies in RECEIVER_VIDEO_DIR and its entry is written by `receiver
videos add`, so the page loads it from the receiver's /videos/ (byte ranges,
same origin), or, for what browsers cannot play, labels the frames the
receiver decodes from it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import httpx
import pytest

from receiver.cli import main
from tests.support.clips import block_centres, decode, ffmpeg_available, make_clip
from tests.support.servers import ReceiverProcess, free_port
from tests.volunteers.page.conftest import routes_next_frame
from tests.volunteers.page.driving import hook, label_frames, received_frames

pytestmark = pytest.mark.browser

SUBMISSIONS = 10
FRAMES = 30


def served_receiver(tmp_path: Path, name: str, **clip: Any) -> tuple[ReceiverProcess, dict[str, Any]]:
    """A receiver serving one clip from its video folder, with the entry `receiver videos add` wrote for it."""
    if not ffmpeg_available():
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    if not routes_next_frame():
        pytest.skip("the receiver does not route GET /api/next-frame yet, and the page takes its frames from there")
    folder = tmp_path / "videos"
    folder.mkdir()
    make_clip(folder / name, frames=FRAMES, **clip)
    port = free_port()
    videos = tmp_path / "videos.json"
    environ = {"RECEIVER_VIDEO_DIR": str(folder), "RECEIVER_VIDEOS": str(videos)}
    out, err = io.StringIO(), io.StringIO()
    added = main(["videos", "add", "--base-url", f"http://127.0.0.1:{port}", str(folder / name)], environ=environ, out=out, err=err)
    assert added == 0, err.getvalue()
    (entry,) = json.loads(videos.read_text(encoding="utf-8"))
    receiver = ReceiverProcess(tmp_path / "run", {**environ, "RECEIVER_RATE_LIMIT": "0", "RECEIVER_RETIRE_AFTER": "1"}, port=port)
    return receiver, entry


def test_a_video_in_the_receivers_folder_is_labelled_from_the_receiver_alone(tmp_path: Path, open_label_page: Callable[..., Any]) -> None:
    """An MP4 in RECEIVER_VIDEO_DIR plays from the receiver's /videos/, and every submission names the frame drawn."""
    receiver, entry = served_receiver(tmp_path, "mouse.mp4", fps=Fraction(30000, 1001), gop=12)
    with receiver:
        assert entry["url"] == f"{receiver.url}/videos/mouse.mp4"
        page = open_label_page(receiver.url)
        drawn, sources = label_frames(page, SUBMISSIONS, "served")
        assert received_frames(receiver.url) == drawn
    assert sources == ["video"] * SUBMISSIONS


def test_a_video_in_the_receivers_folder_browsers_cannot_play_is_labelled_from_its_decoded_frames(tmp_path: Path, open_label_page: Callable[..., Any]) -> None:
    """An MJPEG AVI in RECEIVER_VIDEO_DIR is labelled on the receiver's decoded frames, each submission naming the frame drawn."""
    receiver, _ = served_receiver(tmp_path, "mouse.avi", fps=Fraction(25), codec="mjpeg")
    with receiver:
        page = open_label_page(receiver.url)
        drawn, sources = label_frames(page, SUBMISSIONS, "decoded")
        assert received_frames(receiver.url) == drawn
    assert sources == ["receiver"] * SUBMISSIONS


def test_the_review_of_a_frame_browsers_cannot_play_draws_the_receivers_decoded_frame(tmp_path: Path, chromium: Any) -> None:
    """/review/{id} of a submission on an MJPEG AVI shows the frame it names, decoded by the receiver."""
    receiver, entry = served_receiver(tmp_path, "mouse.avi", fps=Fraction(25), codec="mjpeg")
    keypoints = ["left_front_paw", "right_front_paw", "left_hind_paw", "right_hind_paw", "nose", "tail_base"]
    labels = [{"id": k, "placed": k == "nose", "pixel_x": 160.0 if k == "nose" else None, "pixel_y": 200.0 if k == "nose" else None} for k in keypoints]
    payload = {
        "video_url": entry["url"], "frame_index": 17, "total_frames": entry["frames"], "fps": entry["fps"],
        "frame_width": entry["width"], "frame_height": entry["height"],
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "labels": labels, "metadata": {"volunteer": "volunteer-ada"},
    }
    with receiver:
        answer = httpx.post(f"{receiver.url}/api/labels", json=payload, timeout=10)
        assert answer.status_code == 202, answer.text
        context = chromium.new_context(viewport={"width": 1280, "height": 800})
        try:
            page = context.new_page()
            page.goto(f"{receiver.url}/review/{answer.json()['id']}")
            page.wait_for_selector("body[data-ready]", timeout=30_000)
            levels = page.evaluate(
                """(centres) => { const c = document.querySelector('[data-testid="frame"]').getContext('2d');
                     return centres.map(([x, y]) => { const [r, g, b] = c.getImageData(x, y, 1, 1).data; return (r + g + b) / 3; }); }""",
                [list(centre) for centre in block_centres()],
            )
            assert decode(levels) == 17
            assert page.get_attribute(hook("frame"), "data-frame-index") == "17"
        finally:
            context.close()
