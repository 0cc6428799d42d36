"""The page at phone and desktop sizes, and the review view of a submission among others."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from receiver.contract.schemas import SUBMISSION, load_schema
from tests.volunteers.page.conftest import OUTPUT, HostedClip, hosted, labeling_receiver
from tests.volunteers.page.driving import click_frame, hook, wait_for_frame

SIZES = [(390, 844), (1280, 800)]


def screen(browser: Any, width: int, height: int) -> Any:
    """A page at this size: narrower than a tablet, a touch phone (taps, no keys shown), else a desktop with a mouse."""
    phone = width < 760
    return browser.new_context(viewport={"width": width, "height": height}, has_touch=phone, is_mobile=phone).new_page()

pytestmark = pytest.mark.browser

RECORD_RGB = (255, 45, 149)  # review.js RECORD_COLOUR
KEYPOINTS = ["left_front_paw", "right_front_paw", "left_hind_paw", "right_hind_paw", "nose", "tail_base"]


def schema_has_visible() -> bool:
    return "visible" in load_schema(SUBMISSION)["$defs"]["label"]["properties"]


#: A mouse-like pose, in the order the page asks for keypoints (the skeleton's).
POSE = [(95.0, 190.0), (95.0, 228.0), (205.0, 185.0), (205.0, 232.0), (50.0, 210.0), (250.0, 208.0)]


def controls(page: Any) -> list[Any]:
    hooks = ["frame", "hidden", "undo", "zoom-out", "zoom-level", "zoom-in", "zoom-reset", "skip", "submit", "pending", "progress", "message"]
    return [page.locator(hook(name)) for name in hooks] + [page.locator(hook(f"keypoint-{k}")) for k in KEYPOINTS] + [page.locator("summary")]


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_every_control_of_the_page_is_reachable_and_clickable(width: int, height: int, video_host: str, browser: Any, tmp_path: Path) -> None:
    """At 390x844 and 1280x800 each control is within the page's width, scrolls into view and takes a click."""
    with labeling_receiver(tmp_path, [hosted(video_host, "clip-29.97.mp4")]) as receiver:
        page = screen(browser, width, height)
        page.goto(f"{receiver.url}/label")
        wait_for_frame(page)
        for x, y in POSE:
            click_frame(page, x, y)
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=OUTPUT / f"label-{width}x{height}.png")
        for control in controls(page):
            control.scroll_into_view_if_needed()
            box = control.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, control
            assert page.evaluate("() => document.documentElement.scrollWidth") <= width
            control.click(trial=True, timeout=5_000)


def submission(clip: HostedClip, frame: int, volunteer: str, points: dict[str, tuple[float, float]], hidden: frozenset[str] = frozenset()) -> dict[str, Any]:
    labels = []
    for name in KEYPOINTS:
        label: dict[str, Any] = {"id": name, "placed": name in points, "pixel_x": None, "pixel_y": None}
        if name in points:
            label["pixel_x"], label["pixel_y"] = points[name]
        if name in hidden:
            label["visible"] = False
        labels.append(label)
    return {
        "video_url": clip.url, "frame_index": frame, "total_frames": clip.clip.frames, "fps": float(clip.clip.fps),
        "frame_width": clip.clip.width, "frame_height": clip.clip.height,
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "labels": labels, "metadata": {"volunteer": volunteer},
    }


def post(url: str, body: dict[str, Any]) -> str:
    answer = httpx.post(f"{url}/api/labels", json=body, timeout=10)
    assert answer.status_code == 202, answer.text
    identifier: str = answer.json()["id"]
    return identifier


RECORD_POINTS = {"left_front_paw": (95.0, 80.0), "right_front_paw": (95.0, 150.0), "left_hind_paw": (205.0, 75.0),
                 "right_hind_paw": (205.0, 160.0), "nose": (50.0, 110.0), "tail_base": (250.0, 115.0)}


def test_review_view_draws_each_keypoint_where_the_record_puts_it(video_host: str, browser: Any, tmp_path: Path) -> None:
    """A submission with two other volunteers' labels: each of its keypoints is drawn at its coordinates, the others listed."""
    clip = hosted(video_host, "clip-29.97.mp4")
    hidden = frozenset({"right_hind_paw"}) if schema_has_visible() else frozenset()
    with labeling_receiver(tmp_path, [clip]) as receiver:
        record = post(receiver.url, submission(clip, 42, "volunteer-ada", RECORD_POINTS, hidden))
        for number, (dx, dy) in ((1, (6.0, 3.0)), (2, (4.0, -5.0))):
            moved = {k: (x + dx, y + dy) for k, (x, y) in RECORD_POINTS.items()}
            post(receiver.url, submission(clip, 42, f"volunteer-{number}xyz", moved))
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{receiver.url}/review/{record}")
        page.wait_for_selector("body[data-ready]", timeout=30_000)
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=OUTPUT / "review-1280x800.png")
        colours = page.evaluate(
            """(points) => { const c = document.querySelector('[data-testid="frame"]').getContext('2d');
                 return points.map(([x, y]) => Array.from(c.getImageData(Math.round(x), Math.round(y), 1, 1).data.slice(0, 3))); }""",
            list(RECORD_POINTS.values()),
        )
        for name, colour in zip(RECORD_POINTS, colours):
            assert all(abs(a - b) <= 12 for a, b in zip(colour, RECORD_RGB)), (name, colour)
        assert page.locator(f'{hook("others")} li').count() == 2
        assert page.get_attribute(hook("frame"), "data-frame-index") == "42"
        if hidden:
            assert page.text_content(hook("label-right_hind_paw")) == "Right Hind Paw: (205, 160) · hidden"


def within_screen(page: Any, name: str, width: int, height: int) -> None:
    box = page.locator(hook(name)).bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0, name
    assert box["x"] + box["width"] <= width and box["y"] + box["height"] <= height, (name, box)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_question_about_unplaced_keypoints_fits_the_screen(width: int, height: int, video_host: str, browser: Any, tmp_path: Path) -> None:
    """Two of six placed and Submit pressed: the question, its tick box and both answers are on screen and take a click."""
    with labeling_receiver(tmp_path, [hosted(video_host, "clip-29.97.mp4")]) as receiver:
        page = screen(browser, width, height)
        page.goto(f"{receiver.url}/label")
        wait_for_frame(page)
        for x, y in POSE[:2]:
            click_frame(page, x, y)
        page.click(hook("submit"))
        for name in ["confirm", "confirm-text", "confirm-remember", "confirm-back", "confirm-send"]:
            within_screen(page, name, width, height)
            page.locator(hook(name)).click(trial=True, timeout=5_000)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=OUTPUT / f"label-confirm-{width}x{height}.png")


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_zoom_level_is_on_screen_beside_the_frame(width: int, height: int, video_host: str, browser: Any, tmp_path: Path) -> None:
    """Zoomed in twice on the pose, the level reads 156% on screen, within the page's width, with Whole frame beside it."""
    with labeling_receiver(tmp_path, [hosted(video_host, "clip-29.97.mp4")]) as receiver:
        page = screen(browser, width, height)
        page.goto(f"{receiver.url}/label")
        wait_for_frame(page)
        for x, y in POSE:
            click_frame(page, x, y)
        canvas = page.locator(hook("frame")).bounding_box()
        page.mouse.move(canvas["x"] + canvas["width"] / 2, canvas["y"] + canvas["height"] * 0.85)
        page.mouse.wheel(0, -120)
        page.mouse.wheel(0, -120)
        page.wait_for_function("() => document.querySelector('[data-testid=\"zoom-level\"]').textContent === '156%'")
        page.locator(hook("zoom-reset")).scroll_into_view_if_needed()
        for name in ["zoom-level", "zoom-reset"]:
            within_screen(page, name, width, height)
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=OUTPUT / f"label-zoom-{width}x{height}.png")


BLANK_RGB = (0x77, 0x77, 0x77)  # review.js BLANK_COLOUR


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_review_view_without_its_video_draws_the_points_on_a_plain_frame_of_its_size(width: int, height: int, video_host: str, browser: Any, tmp_path: Path) -> None:
    """A submission whose video cannot be loaded: its points in pink on a grey 320x240 frame, and a sentence about the video."""
    broken = HostedClip(hosted(video_host, "clip-25.mp4").clip, f"{video_host}/broken.mp4")
    with labeling_receiver(tmp_path, [broken]) as receiver:
        record = post(receiver.url, submission(broken, 42, "volunteer-ada", RECORD_POINTS))
        page = screen(browser, width, height)
        page.goto(f"{receiver.url}/review/{record}")
        page.wait_for_selector("body[data-ready]", timeout=30_000)
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=OUTPUT / f"review-no-video-{width}x{height}.png")
        assert page.evaluate("() => { const c = document.querySelector('[data-testid=\"frame\"]'); return [c.width, c.height]; }") == [320, 240]
        colours = page.evaluate(
            """(points) => { const c = document.querySelector('[data-testid="frame"]').getContext('2d');
                 return points.map(([x, y]) => Array.from(c.getImageData(Math.round(x), Math.round(y), 1, 1).data.slice(0, 3))); }""",
            [*RECORD_POINTS.values(), (5.0, 5.0), (315.0, 235.0)],
        )
        for name, colour in zip(RECORD_POINTS, colours):
            assert all(abs(a - b) <= 12 for a, b in zip(colour, RECORD_RGB)), (name, colour)
        assert [tuple(c) for c in colours[-2:]] == [BLANK_RGB, BLANK_RGB]
        assert page.get_attribute(hook("frame"), "data-source") == "none"
        assert page.get_attribute(hook("message"), "data-kind") == "warn"
        assert page.text_content(hook("message")).startswith(
            "The video could not be shown in this browser (it may have moved, or this browser cannot play it), "
            "so the keypoints are drawn on a plain background the size of the frame, 320×240.")
        assert page.text_content(hook("label-nose")) == "Nose: (50, 110)"
