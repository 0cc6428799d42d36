"""The consensus report in headless Chromium: its embedded matplotlib plots render, on a desktop and on a phone, with screenshots kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from receiver.consensus import FrameKey, consensus
from receiver.consensus.report import write_report
from tests.consensus.crowd import PAIRS, make_crowd
from tests.e2e.test_browser import CHROMIUM, FLAGS
from tests.export.records import KEYPOINTS, VIDEO

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("width", "height"), [(1280, 1400), (390, 844)])
def test_report_renders_its_plots_within_the_screen(tmp_path: Path, width: int, height: int) -> None:
    """Every embedded plot is drawn and fits the screen's width (the page has a viewport), and a screenshot is written."""
    from playwright.sync_api import sync_playwright

    crowd = make_crowd(5, frames=40, volunteers=20)
    gold = {FrameKey(VIDEO, f): tuple(map(tuple, crowd.truth[f])) for f in range(10)}
    index = write_report(consensus(crowd.records, KEYPOINTS, symmetry=PAIRS, gold=gold), tmp_path / "report")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height}, is_mobile=width < 600, device_scale_factor=1)
            page.goto(index.as_uri())
            plots = page.locator("figure[data-testid^=plot-] svg")
            assert plots.count() == 4
            boxes = [plots.nth(i).bounding_box() for i in range(plots.count())]
            page_width = page.evaluate("document.documentElement.scrollWidth")
            shot = tmp_path / f"report-{width}x{height}.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    print(f"screenshot: {shot}")
    assert all(box is not None and 100 < box["width"] <= width and box["height"] > 50 for box in boxes), boxes
    assert page_width <= width
    assert shot.stat().st_size > 10_000
