"""The dashboard: a page a maintainer can look at, drawn from the journal, the frame ledger and the consensus."""

from __future__ import annotations

import json
import os
import random
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from receiver.contract.records import Record
from receiver.volunteers.model_check import ModelFigures
from receiver.volunteers.videos import Video
from receiver.web.dashboard import DashboardFacts, keypoint_agreement, render_dashboard
from tests.e2e.conftest import wait_delivered
from tests.e2e.test_browser import CHROMIUM, FLAGS
from tests.support.servers import ReceiverProcess
from tests.volunteers.frames.conftest import far_label, honest_label

NOW = datetime(2026, 11, 27, 14, 30, tzinfo=timezone.utc)
HEALTH = {
    "message": "Receiving and delivering.",
    "status": "ok",
    "version": "0.1.0",
    "delivery": {"state": "ok"},
    "journal": {"backlog": 0, "queued": 0, "delivered": 3, "held": 0, "failed": 0},
    "failed": {"count": 0, "last_reason": None},
    "store": {"state": "ok"},
}
VIDEOS = [Video(url=f"https://videos.example.org/mouse-{n}.mp4", fps=30.0, frames=300, width=1280, height=720) for n in range(5)]
OUTPUT = Path(os.environ.get("TEST_OUTPUT", Path(__file__).resolve().parents[3] / "test-output"))


def facts(**changes: object) -> DashboardFacts:
    base: dict[str, object] = {"now": NOW, "health": HEALTH, "per_hour": [], "pulls": [], "coverage": [], "agreement": None}
    base.update(changes)
    return DashboardFacts(**base)  # type: ignore[arg-type]


def test_text_from_outside_is_escaped() -> None:
    """A hostile video URL or error message is shown as text, never as markup."""
    hostile = 'https://x.example/"><script>alert(1)</script>'
    page = render_dashboard(facts(coverage=[(hostile, 10, [(10, 2, 1)])], pulls=[(3, "javascript:<b>", "open")]))
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page and "<b>" not in page


def test_the_model_section_shows_each_keypoints_agreement_and_escapes_the_model_name() -> None:
    """A model version is text from a pose file: shown, never markup; the shares and counts are the kept sums."""
    figures = ModelFigures({"<b>v2</b>": {"nose": (3, 4), "tail_base": (4, 4)}}, from_suggestions=5, from_scratch=2)
    page = render_dashboard(facts(model=figures))
    assert "<b>v2</b>" not in page and "&lt;b&gt;v2&lt;/b&gt;" in page
    assert '<tr data-keypoint="nose"><td>nose</td><td>75%</td><td>3 of 4</td></tr>' in page
    assert "7 frame(s) settled" in page


def test_without_predictions_the_page_has_no_model_section() -> None:
    assert "The model and the crowd" not in render_dashboard(facts())


def test_hours_without_submissions_are_drawn_as_empty_bars() -> None:
    """The chart always has the last 24 hours; only the hour with submissions has height."""
    page = render_dashboard(facts(per_hour=[("2026-11-27T14", 12)]))
    assert page.count('class="bar"') == 24
    assert page.count('height="0"') == 23


def test_no_agreement_is_claimed_before_a_frame_settles() -> None:
    """Two volunteers on one frame settle nothing: no bars, a sentence instead."""
    video = VIDEOS[0]
    records = [
        Record.create(honest_label(video, 1, f"volunteer-{n}"), submitter="anonymous", received_at=NOW, receiver_version="0.1.0") for n in range(2)
    ]
    assert keypoint_agreement(records, ["left_front_paw", "right_front_paw", "left_hind_paw", "right_hind_paw", "nose", "tail_base"]) is None
    assert "No frame has settled yet" in render_dashboard(facts())


@pytest.mark.browser
def test_dashboard_after_1000_submissions_over_five_videos(tmp_path: Path) -> None:
    """Delivered count, 24 hourly bars, five coverage pictures and agreement bars, in Chromium; the screenshot is kept."""
    from playwright.sync_api import sync_playwright

    videos_file = tmp_path / "videos.json"
    videos_file.write_text(json.dumps([{"url": v.url, "fps": v.fps, "frames": v.frames, "width": v.width, "height": v.height} for v in VIDEOS]))
    posted = 0
    with ReceiverProcess(tmp_path, {"RECEIVER_VIDEOS": str(videos_file), "RECEIVER_RATE_LIMIT": "0"}) as server:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            rng = random.Random(5)
            for n in range(1000):
                video = VIDEOS[n % 5]
                # Early frames draw many volunteers (retired), later ones few (labelled), the last none.
                frame = int(rng.triangular(0, video.frames * 0.8, 0))
                label = far_label if n % 7 == 0 else honest_label
                body = label(video, frame, f"volunteer-{n:04d}")
                assert http.post("/api/labels", json=body).status_code in (200, 202)
                posted += 1
        wait_delivered(server.url, timeout=120)
        OUTPUT.mkdir(exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(f"{server.url}/dashboard")
            page.screenshot(path=str(OUTPUT / "dashboard.png"), full_page=True)
            delivered = page.get_by_test_id("card-delivered").inner_text()
            bars = page.locator('[data-testid="per-hour"] rect.bar').count()
            coverage = page.get_by_test_id("coverage").count()
            agreement_bars = page.locator('[data-testid="agreement"] rect').count()
            browser.close()
    print(f"dashboard screenshot: {OUTPUT / 'dashboard.png'}")
    assert posted == 1000
    assert delivered.startswith("1000") or delivered.startswith("1,000")
    assert bars == 24 and coverage == 5 and agreement_bars == 6
