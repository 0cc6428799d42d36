"""The frame a submission names is the frame the volunteer saw."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.servers import wait_until
from tests.volunteers.page.conftest import hosted, labeling_receiver
from tests.volunteers.page.driving import hook, label_and_submit, pending, submitted_drawings, watch_submits

pytestmark = pytest.mark.browser

SUBMISSIONS = 100


def received_frames(url: str) -> list[int]:
    """frame_index of every record the receiver kept, in the order it took them in."""
    body = httpx.get(f"{url}/api/annotations", params={"per_page": 500}, timeout=10).json()
    return [a["frame_index"] for a in body["annotations"]]


@pytest.mark.parametrize("clip_name", ["clip-29.97.mp4", "clip-25.mp4"])
def test_every_submission_names_the_frame_drawn_when_submit_was_pressed(clip_name: str, video_host: str, browser: Any, tmp_path: Path) -> None:
    """100 of 100 submissions carry the index of the frame on the canvas at Submit (29.97 and 25 fps)."""
    clip = hosted(video_host, clip_name)
    chance = random.Random(clip_name)
    with labeling_receiver(tmp_path, [clip]) as receiver:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{receiver.url}/label")
        watch_submits(page)
        for _ in range(SUBMISSIONS):
            points = [(chance.uniform(10, 310), chance.uniform(175, 230)) for _ in range(3)]
            label_and_submit(page, points)
        wait_until(lambda: pending(page) == 0, timeout=60, what="the page's queue to empty")
        drawn = submitted_drawings(page)
        received = received_frames(receiver.url)
        assert len(drawn) == SUBMISSIONS
        assert received == drawn
        assert page.get_attribute(hook("message"), "data-kind") != "error"
