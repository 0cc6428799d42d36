"""Driving the labeling page as a volunteer does, through its data-testid hooks."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.support.servers import wait_until
from tests.volunteers.page.clips import block_centres

__all__ = [
    "hook", "wait_for_frame", "click_frame", "label_and_submit", "pending", "watch_submits", "submitted_drawings",
    "submitted_sources", "label_frames", "received_frames",
]


def hook(name: str) -> str:
    return f'[data-testid="{name}"]'


def wait_for_frame(page: Any, timeout: float = 30_000) -> int:
    """Wait until a confirmed frame is on the canvas and Submit is enabled; its index."""
    page.wait_for_selector(f'{hook("frame")}:not([data-frame-index=""])[data-frame-index]', timeout=timeout)
    page.wait_for_selector(f"{hook('submit')}:not([disabled])", timeout=timeout)
    return int(page.get_attribute(hook("frame"), "data-frame-index"))


def click_frame(page: Any, x: float, y: float) -> None:
    """Click the frame at frame pixel (x, y) (the view at zoom 1)."""
    canvas = page.locator(hook("frame"))
    box = canvas.bounding_box()
    width, height = page.evaluate(f"() => {{ const c = document.querySelector('{hook('frame')}'); return [c.width, c.height]; }}")
    page.mouse.click(box["x"] + x * box["width"] / width, box["y"] + y * box["height"] / height)


def label_and_submit(page: Any, points: list[tuple[float, float]]) -> int:
    """Place the first keypoints at `points` and press Submit; the frame index the page showed."""
    shown = wait_for_frame(page)
    for x, y in points:
        click_frame(page, x, y)
    page.click(hook("submit"))
    return shown


def pending(page: Any) -> int:
    return int(page.text_content(hook("pending")) or "0")


#: Installs a listener that, when Submit is pressed and before the page acts on it,
#: reads the frame's index back from the canvas pixels (the clip's block code).
#: It also keeps whose pixels the canvas held: "video" or "receiver" (its decoded image).
WATCH_SUBMITS = """(centres) => {
  const drawn = [];
  const sources = [];
  document.documentElement.dataset.drawn = "[]";
  document.addEventListener("click", (event) => {
    if (!event.target.closest('[data-testid="submit"]')) return;
    const canvas = document.querySelector('[data-testid="frame"]');
    sources.push(canvas.dataset.source);
    document.documentElement.dataset.sources = JSON.stringify(sources);
    const context = canvas.getContext("2d");
    let value = 0;
    for (const [x, y] of centres) {
      const [r, g, b] = context.getImageData(x, y, 1, 1).data;
      value = value * 2 + ((r + g + b) / 3 > 128 ? 1 : 0);
    }
    drawn.push(value);
    document.documentElement.dataset.drawn = JSON.stringify(drawn);
  }, {capture: true});
}"""


def watch_submits(page: Any) -> None:
    page.evaluate(WATCH_SUBMITS, [list(c) for c in block_centres()])


def submitted_drawings(page: Any) -> list[int]:
    """The frame index drawn on the canvas at each press of Submit, in order."""
    drawn: list[int] = json.loads(page.get_attribute("html", "data-drawn") or "[]")
    return drawn


def submitted_sources(page: Any) -> list[str]:
    """Whose pixels the canvas held at each press of Submit: "video" or "receiver"."""
    sources: list[str] = json.loads(page.get_attribute("html", "data-sources") or "[]")
    return sources


def label_frames(page: Any, count: int, seed: str) -> tuple[list[int], list[str]]:
    """Label `count` frames as they come, each with three keypoints in the grey band, and wait until all are sent.

    Answers the index drawn and the source at each Submit; a frame that never comes
    fails with the sentence the page shows instead.
    """
    chance = random.Random(seed)
    watch_submits(page)
    for number in range(count):
        try:
            label_and_submit(page, [(chance.uniform(10, 310), chance.uniform(175, 230)) for _ in range(3)])
        except PlaywrightTimeout as exc:
            raise AssertionError(f"submission {number + 1}: no frame to label; the page says {page.text_content(hook('message'))!r}") from exc
    wait_until(lambda: pending(page) == 0, timeout=60, what="the page's queue to empty")
    assert page.get_attribute(hook("message"), "data-kind") != "error"
    return submitted_drawings(page), submitted_sources(page)


def received_frames(url: str) -> list[int]:
    """frame_index of every record the receiver kept, in the order it took them in."""
    body = httpx.get(f"{url}/api/annotations", params={"per_page": 500}, timeout=10).json()
    return [a["frame_index"] for a in body["annotations"]]
