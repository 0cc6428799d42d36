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
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from receiver.cli import main
from tests.support.clips import ffmpeg_available, make_clip
from tests.support.servers import ReceiverProcess, free_port
from tests.volunteers.page.conftest import routes_next_frame
from tests.volunteers.page.driving import label_frames, received_frames

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
