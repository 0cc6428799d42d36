"""What the page does with a refusal, and with a video it cannot show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.volunteers.page.conftest import HostedClip, hosted, labeling_receiver
from tests.volunteers.page.driving import click_frame, hook, label_and_submit, pending, wait_for_frame
from tests.volunteers.page.test_frames import received_frames

pytestmark = pytest.mark.browser


def test_a_refused_submission_shows_its_sentence_and_the_page_goes_on(video_host: str, browser: Any, tmp_path: Path) -> None:
    """A 4xx answer is shown as a sentence, leaves nothing waiting, and the next frame can be labelled."""
    clip = hosted(video_host, "clip-25.mp4")
    receiver = labeling_receiver(tmp_path, [clip])
    receiver.environ["RECEIVER_MAX_BODY_BYTES"] = "200"  # every submission of the page is larger
    with receiver:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{receiver.url}/label")
        label_and_submit(page, [(50.0, 200.0)])
        page.wait_for_selector(f'{hook("message")}[data-kind="error"]', timeout=30_000)
        assert page.text_content(hook("message")) == "Not saved: The submission is larger than 200 bytes; send one frame's labels at a time."
        assert pending(page) == 0
        wait_for_frame(page)
        click_frame(page, 100.0, 200.0)
        assert page.text_content(f'{hook("keypoint-left_front_paw")} small') == "placed"


def test_a_video_that_cannot_be_loaded_says_so_and_submits_nothing(video_host: str, browser: Any, tmp_path: Path) -> None:
    """A broken video gives a sentence, Submit stays off, Enter sends nothing."""
    broken = HostedClip(hosted(video_host, "clip-25.mp4").clip, f"{video_host}/broken.mp4")
    with labeling_receiver(tmp_path, [broken]) as receiver:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{receiver.url}/label")
        page.wait_for_selector(f'{hook("message")}[data-kind="error"]', timeout=30_000)
        assert page.text_content(hook("message")) == "The video could not be loaded; this frame cannot be labelled. Skip to the next one."
        assert page.is_disabled(hook("submit"))
        page.keyboard.press("Enter")
        assert page.text_content(hook("message")) == "This frame could not be confirmed, so it cannot be submitted. Skip to the next one."
        assert pending(page) == 0
        assert received_frames(receiver.url) == []


def test_a_video_the_host_does_not_let_other_sites_read_says_so(browser: Any, tmp_path: Path, clip_dir: Path) -> None:
    """Without CORS on the video host the frame cannot be confirmed from the canvas, and the page says so."""
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    from tests.volunteers.page.hosts import serve_in_thread

    app = Starlette(routes=[Mount("/", StaticFiles(directory=clip_dir))])
    with serve_in_thread(app) as host:
        clip = HostedClip(hosted(host, "clip-25.mp4").clip, f"{host.replace('127.0.0.1', 'localhost')}/clip-25.mp4")
        with labeling_receiver(tmp_path, [clip]) as receiver:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{receiver.url}/label")
            page.wait_for_selector(f'{hook("message")}[data-kind="error"]', timeout=30_000)
            assert page.text_content(hook("message")) == "The video could not be loaded; this frame cannot be labelled. Skip to the next one."
            assert page.is_disabled(hook("submit"))
