"""Progress: this volunteer's labelled frames and the frames still open, moving as the volunteer labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import wait_until
from tests.volunteers.page.conftest import hosted, labeling_receiver
from tests.volunteers.page.driving import hook, label_and_submit, wait_for_frame
from tests.volunteers.page.test_views import POSE

pytestmark = pytest.mark.browser


def progress(page: Any) -> tuple[str, str]:
    return str(page.text_content(hook("progress-mine"))), str(page.text_content(hook("progress-open")))


def test_progress_counts_this_volunteers_frames_and_the_frames_still_open(video_host: str, browser: Any, tmp_path: Path) -> None:
    """0 labelled and 150 of 150 open at first; after each kept label (each retires its frame here) both move."""
    with labeling_receiver(tmp_path, [hosted(video_host, "clip-25.mp4")]) as receiver:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{receiver.url}/label")
        wait_for_frame(page)
        wait_until(lambda: progress(page)[0] != "", timeout=30, what="the first progress")
        assert progress(page) == ("You have labelled 0 frames", "· 150 of 150 frames still need labels")
        label_and_submit(page, POSE)
        wait_until(lambda: progress(page)[0] == "You have labelled 1 frame", timeout=30, what="the first label to count")
        assert progress(page)[1] == "· 149 of 150 frames still need labels"
        label_and_submit(page, POSE)
        wait_until(lambda: progress(page)[0] == "You have labelled 2 frames", timeout=30, what="the second label to count")
        assert progress(page)[1] == "· 148 of 150 frames still need labels"


def test_a_second_volunteer_starts_at_0_while_the_open_frames_are_shared(video_host: str, browser: Any, tmp_path: Path) -> None:
    """Another browser (another session) counts only its own frames, and sees the frames the first one closed."""
    with labeling_receiver(tmp_path, [hosted(video_host, "clip-25.mp4")]) as receiver:
        first = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        first.goto(f"{receiver.url}/label")
        label_and_submit(first, POSE)
        wait_until(lambda: progress(first)[0] == "You have labelled 1 frame", timeout=30, what="the first volunteer's label to count")
        second = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        second.goto(f"{receiver.url}/label")
        wait_for_frame(second)
        wait_until(lambda: progress(second)[0] != "", timeout=30, what="the second volunteer's progress")
        assert progress(second) == ("You have labelled 0 frames", "· 149 of 150 frames still need labels")
