"""A local clip served by the receiver itself (RECEIVER_VIDEO_DIR), listed by `receiver videos add`, labeled in the page with no other web server."""

from __future__ import annotations

import io
import random
from fractions import Fraction
from pathlib import Path
from typing import Any

import httpx
import pytest

from receiver.cli import main
from tests.support.clips import ffmpeg_available, make_clip
from tests.support.servers import ReceiverProcess, free_port, wait_until
from tests.volunteers.page.conftest import routes_next_frame
from tests.volunteers.page.driving import hook, label_and_submit, pending, submitted_drawings, watch_submits

pytestmark = pytest.mark.browser

SUBMISSIONS = 12


def test_a_served_clip_is_labeled_frame_exactly(browser: Any, tmp_path: Path) -> None:
    """Every submission names the frame on the canvas at Submit; the video came from the receiver's /videos/."""
    if not ffmpeg_available():
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    if not routes_next_frame():
        pytest.skip("the receiver does not route GET /api/next-frame yet")
    folder = tmp_path / "videos"
    folder.mkdir()
    make_clip(folder / "mouse.mp4", Fraction(25), 60)
    port = free_port()
    environ = {"RECEIVER_VIDEO_DIR": str(folder), "RECEIVER_PORT": str(port)}
    videos = tmp_path / "videos.json"
    assert main(["videos", "add", "--file", str(videos), str(folder / "mouse.mp4")], environ=environ, out=io.StringIO(), err=io.StringIO()) == 0
    settings = {**environ, "RECEIVER_VIDEOS": str(videos), "RECEIVER_RATE_LIMIT": "0", "RECEIVER_RETIRE_AFTER": "1"}
    chance = random.Random(7)
    with ReceiverProcess(tmp_path / "srv", settings, port=port) as receiver:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        fetched: list[str] = []
        page.on("request", lambda request: fetched.append(request.url))
        page.goto(f"{receiver.url}/label")
        watch_submits(page)
        for _ in range(SUBMISSIONS):
            label_and_submit(page, [(chance.uniform(10, 310), chance.uniform(175, 230)) for _ in range(3)])
        wait_until(lambda: pending(page) == 0, timeout=60, what="the page's queue to empty")
        drawn = submitted_drawings(page)
        body = httpx.get(f"{receiver.url}/api/annotations", params={"per_page": 500}, timeout=10).json()
        assert [a["frame_index"] for a in body["annotations"]] == drawn
        assert len(drawn) == SUBMISSIONS
        assert page.get_attribute(hook("message"), "data-kind") != "error"
        assert f"{receiver.url}/videos/mouse.mp4" in fetched
        assert all(url.startswith(receiver.url) for url in fetched)
