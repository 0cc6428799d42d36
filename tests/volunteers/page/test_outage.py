"""Every click is kept: labeling goes on while the receiver is away, and nothing is lost or doubled."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from receiver.cli import main
from tests.e2e.conftest import ids_in, wait_delivered
from tests.support.servers import wait_until
from tests.volunteers.page.conftest import hosted, labeling_receiver
from tests.volunteers.page.driving import hook, label_and_submit, pending, wait_for_frame
from tests.volunteers.page.hosts import static_host
from tests.volunteers.page.test_frames import received_frames

pytestmark = pytest.mark.browser

OUTAGE_SECONDS = 30.0
POINTS = [(40.0, 200.0), (160.0, 190.0), (280.0, 215.0)]


def test_submissions_made_while_the_receiver_is_stopped_arrive_exactly_once(video_host: str, browser: Any, tmp_path: Path) -> None:
    """Stopped 30 s mid-session, with a reload while labels wait: every submission lands once in the repository."""
    clip = hosted(video_host, "clip-25.mp4")
    receiver = labeling_receiver(tmp_path / "receiver", [clip]).start()
    site = tmp_path / "site"
    assert main(["page", "build", str(site), "--receiver-url", receiver.url]) == 0
    try:
        with static_host(site) as page_url:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{page_url}/index.html")
            shown = [label_and_submit(page, POINTS) for _ in range(3)]
            wait_until(lambda: pending(page) == 0 and page.text_content(hook("ahead")) == "3", timeout=30, what="the first labels sent and three frames ready")
            wait_for_frame(page)

            receiver.stop()
            stopped_at = time.monotonic()
            shown += [label_and_submit(page, POINTS) for _ in range(3)]
            wait_until(lambda: pending(page) == 3, timeout=30, what="three submissions waiting in the page")
            page.reload()
            wait_until(lambda: pending(page) == 3, timeout=30, what="the reloaded page to show the three waiting submissions")

            time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped_at)))
            receiver = labeling_receiver(tmp_path / "receiver", [clip], port=receiver.port).start()
            wait_until(lambda: pending(page) == 0, timeout=60, what="the waiting submissions to be sent")
            wait_delivered(receiver.url)
            ids = ids_in(tmp_path / "receiver" / "receiver-data" / "annotations.git")
            assert sorted(received_frames(receiver.url)) == sorted(shown)
            assert len(ids) == 6
            assert set(ids.values()) == {1}
    finally:
        receiver.stop()


def test_the_wait_between_retries_grows_but_never_passes_five_seconds(browser: Any, tmp_path: Path) -> None:
    """The outbox's backoff doubles from half a second and stops at 5 s, so a returning receiver hears within seconds."""
    site = tmp_path / "site"
    assert main(["page", "build", str(site), "--receiver-url", "http://127.0.0.1:9"]) == 0
    with static_host(site) as page_url:
        page = browser.new_page()
        page.goto(f"{page_url}/review.html")
        waits = page.evaluate("async () => { const { backoff } = await import('./outbox.js'); return [1, 2, 3, 5, 8, 40].map(backoff); }")
    assert waits[0] <= 500 and waits[1] > waits[0]
    assert max(waits) <= 5000
    assert waits[-1] >= 4000
