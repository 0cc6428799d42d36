"""The labeling page and the review view run under the receiver's Content-Security-Policy with nothing refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.servers import wait_until
from tests.volunteers.page.conftest import hosted, labeling_receiver
from tests.volunteers.page.driving import label_and_submit, pending

pytestmark = pytest.mark.browser

#: Records every violation the page reports, before any of the page's own scripts run.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def watched(browser: Any) -> tuple[Any, list[str]]:
    """A new page that records violations by event, and a list the console's policy errors are added to."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.add_init_script(RECORD_VIOLATIONS)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text) if "Content Security Policy" in message.text else None)
    return page, console


def test_labeling_a_frame_from_another_host_reports_no_violation(video_host: str, browser: Any, tmp_path: Path) -> None:
    """The video on another origin plays into the canvas, is read back and submitted: no event, no console error."""
    clip = hosted(video_host, "clip-25.mp4")
    with labeling_receiver(tmp_path, [clip]) as receiver:
        page, console = watched(browser)
        page.goto(f"{receiver.url}/label")
        label_and_submit(page, [(40.0, 200.0), (80.0, 200.0)])
        wait_until(lambda: pending(page) == 0, timeout=60, what="the submission to be sent")
        reported = page.evaluate("window.__violations")
        kept = httpx.get(f"{receiver.url}/api/annotations", timeout=10).json()["count"]
    assert kept == 1
    assert reported == [] and console == []


def test_reviewing_a_submission_reports_no_violation(video_host: str, browser: Any, tmp_path: Path) -> None:
    """The review view draws the submitted frame and its labels: no event, no console error."""
    clip = hosted(video_host, "clip-25.mp4")
    with labeling_receiver(tmp_path, [clip]) as receiver:
        labeler = browser.new_page(viewport={"width": 1280, "height": 800})
        labeler.goto(f"{receiver.url}/label")
        label_and_submit(labeler, [(40.0, 200.0)])
        wait_until(lambda: pending(labeler) == 0, timeout=60, what="the submission to be sent")
        [record] = httpx.get(f"{receiver.url}/api/annotations", timeout=10).json()["annotations"]
        page, console = watched(browser)
        page.goto(f"{receiver.url}/review/{record['id']}")
        page.wait_for_selector('body[data-ready="true"]', timeout=30_000)
        page.wait_for_load_state("networkidle")
        reported = page.evaluate("window.__violations")
    assert reported == [] and console == []
