"""The consensus report in headless Chromium: its SVG plots load and render, with a screenshot kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from receiver.consensus import FrameKey, consensus
from receiver.consensus.report import write_report
from tests.consensus.crowd import PAIRS, make_crowd
from tests.e2e.test_browser import CHROMIUM, FLAGS
from tests.export.records import KEYPOINTS, VIDEO

pytestmark = pytest.mark.browser


def test_report_renders_its_plots_in_chromium(tmp_path: Path) -> None:
    """Every plot image of the report has a natural size in the browser, and a screenshot is written."""
    from playwright.sync_api import sync_playwright

    crowd = make_crowd(5, frames=40, volunteers=20)
    gold = {FrameKey(VIDEO, f): tuple(map(tuple, crowd.truth[f])) for f in range(10)}
    index = write_report(consensus(crowd.records, KEYPOINTS, symmetry=PAIRS, gold=gold), tmp_path / "report")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.goto(index.as_uri())
            plots = page.locator("img[data-testid^=plot-]")
            assert plots.count() == 4
            widths = page.eval_on_selector_all("img[data-testid^=plot-]", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    print(f"screenshot: {shot}")
    assert widths == [560, 560, 560, 560]
    assert shot.stat().st_size > 10_000
