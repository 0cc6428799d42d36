"""The page's volunteer session: issued by the receiver, sent with every request, renewed when refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ids_in, wait_delivered
from tests.support.servers import wait_until
from tests.volunteers.page.conftest import hosted, labeling_receiver
from tests.volunteers.page.driving import label_and_submit, pending

pytestmark = pytest.mark.browser

POINTS = [(40.0, 200.0), (160.0, 190.0), (280.0, 215.0)]
SESSION_KEY = "pose-receiver.session.v1"


def kept_session(page: Any) -> dict[str, str] | None:
    raw = page.evaluate(f"() => localStorage.getItem({json.dumps(SESSION_KEY)})")
    return None if raw is None else dict(json.loads(raw))


def statuses(url: str, repository: Path) -> list[dict[str, Any]]:
    return [httpx.get(f"{url}/api/submissions/{identifier}", timeout=10).json() for identifier in ids_in(repository)]


def test_the_page_labels_as_the_session_the_receiver_issued_and_its_labels_count(video_host: str, browser: Any, tmp_path: Path) -> None:
    """Two frames labelled: both records are assigned, under the pseudonym the page keeps."""
    clip = hosted(video_host, "clip-25.mp4")
    with labeling_receiver(tmp_path, [clip]) as receiver:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{receiver.url}/label")
        for _ in range(2):
            label_and_submit(page, POINTS)
        wait_until(lambda: pending(page) == 0, timeout=30, what="both labels sent")
        wait_delivered(receiver.url)
        session = kept_session(page)
        found = statuses(receiver.url, tmp_path / "receiver-data" / "annotations.git")
    assert session is not None and session["token"].startswith("s1.")
    assert len(found) == 2
    assert all(status["assigned"] is True and status["volunteer"] == session["pseudonym"] for status in found)


def test_a_forged_session_in_the_browser_is_replaced_and_no_label_is_lost(video_host: str, browser: Any, tmp_path: Path) -> None:
    """A session the receiver never issued: refused (401), forgotten, a new one asked for, and the labels arrive."""
    clip = hosted(video_host, "clip-25.mp4")
    forged = {"token": "s1.AAAAAAAAAAAAAAAAAAAAAA.1.AAAAAAAAAAAAAAAAAAAAAA", "pseudonym": "v-aaaaaaaaaa"}
    with labeling_receiver(tmp_path, [clip]) as receiver:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.add_init_script(f"if (!sessionStorage.getItem('seeded')) {{ sessionStorage.setItem('seeded', '1'); localStorage.setItem({json.dumps(SESSION_KEY)}, {json.dumps(json.dumps(forged))}); }}")
        page = context.new_page()
        refused = []
        page.on("response", lambda response: refused.append(response.url) if response.status == 401 else None)
        page.goto(f"{receiver.url}/label")
        for _ in range(2):
            label_and_submit(page, POINTS)
        wait_until(lambda: pending(page) == 0, timeout=60, what="both labels sent")
        wait_delivered(receiver.url)
        session = kept_session(page)
        found = statuses(receiver.url, tmp_path / "receiver-data" / "annotations.git")
        context.close()
    assert refused, "the forged session was never refused"
    assert session is not None and session["token"] != forged["token"]
    assert len(found) == 2 and all(status["volunteer"] == session["pseudonym"] for status in found)
