"""The consensus report from the command line: example frames decoded from a lab's clip, and its plots rendered in headless Chromium."""

from __future__ import annotations

import base64
import io
import random
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from receiver.consensus import FrameKey, consensus
from receiver.consensus.report import write_report
from tests.acceptance.conftest import RunCLI, run_cli
from tests.consensus.crowd import PAIRS, make_crowd
from tests.e2e.test_browser import CHROMIUM, FLAGS
from tests.export.records import HEIGHT, KEYPOINTS, VIDEO, WIDTH, crowd, write_folder
from tests.support.clips import ffmpeg_available, index_in, make_clip

__all__ = ["run_cli"]


@pytest.fixture
def labels(tmp_path: Path) -> Path:
    """Five volunteers on frame 10 of mouse-1.mp4 (one puts the nose 150 px off) and five on frame 3."""
    rng = random.Random(7)
    records = crowd(rng, volunteers=5, noise=2.0, outliers=[4]) + crowd(rng, volunteers=5, noise=2.0, frame_index=3)
    return write_folder(tmp_path / "data", records)


@pytest.fixture
def videos(tmp_path: Path) -> Path:
    """The lab's folder of videos: mouse-1.mp4 as recorded, 12 frames of 1280x720, each showing its own index."""
    if not ffmpeg_available():
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    folder = tmp_path / "videos"
    folder.mkdir()
    make_clip(folder / VIDEO.rsplit("/", 1)[-1], Fraction(25), 12, width=WIDTH, height=HEIGHT)
    return folder


def examples(page: str) -> list[str]:
    return [part.split("</figure>", 1)[0] for part in page.split('<figure data-testid="example">')[1:]]


def embedded(figure: str) -> np.ndarray:
    """The picture an example's SVG embeds, as RGB pixels."""
    data = re.search(r'href="data:image/png;base64,([^"]+)"', figure)
    assert data, "the example embeds no picture"
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data.group(1)))).convert("RGB"))


class TestExampleFrames:
    def test_each_example_shows_its_own_frame_of_the_video(self, tmp_path: Path, labels: Path, videos: Path, run_cli: RunCLI) -> None:
        """--videos: each thumbnail is the labeled frame itself (its drawn index reads back), not a neighbour."""
        result = run_cli("consensus", str(labels), "--report", str(tmp_path / "report"), "--videos", str(videos))
        assert result.code == 0
        page = (tmp_path / "report" / "index.html").read_text()
        disputed, calm = examples(page)
        assert "frame 10: 1 of 5 label(s) with outlying clicks" in disputed and "frame 3: 5 label(s), none outlying" in calm
        assert index_in(embedded(disputed)) == 10 and index_in(embedded(calm)) == 3
        assert "example-no-video" not in page

    def test_without_the_video_the_points_are_drawn_on_grey_with_a_sentence(self, tmp_path: Path, labels: Path, run_cli: RunCLI) -> None:
        result = run_cli("consensus", str(labels), "--report", str(tmp_path / "report"))
        assert result.code == 0
        page = (tmp_path / "report" / "index.html").read_text()
        assert "<image " not in page and len(examples(page)) == 2
        assert (
            f"The video {VIDEO} is not on this machine (mouse-1.mp4 not found; no --videos folder was given), so its points are drawn "
            "on a grey frame of its size: pass the folder that holds it with --videos DIR."
        ) in page

    def test_a_file_that_is_not_a_video_is_named_with_the_reason(self, tmp_path: Path, labels: Path, run_cli: RunCLI) -> None:
        folder = tmp_path / "videos"
        folder.mkdir()
        (folder / "mouse-1.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video")
        result = run_cli("consensus", str(labels), "--report", str(tmp_path / "report"), "--videos", str(folder))
        assert result.code == 0
        page = (tmp_path / "report" / "index.html").read_text()
        assert "<image " not in page and page.count("The video mouse-1.mp4 cannot be read (") == 2
        assert str(tmp_path) not in page

    def test_a_frame_past_the_end_of_the_video_is_named(self, tmp_path: Path, labels: Path, run_cli: RunCLI) -> None:
        """The clip has 12 frames: frame 10 is drawn over its picture; a record of frame 30 is not, and says why."""
        folder = tmp_path / "short"
        folder.mkdir()
        make_clip(folder / "mouse-1.mp4", Fraction(25), 5, width=WIDTH, height=HEIGHT)
        result = run_cli("consensus", str(labels), "--report", str(tmp_path / "report"), "--videos", str(folder))
        assert result.code == 0
        disputed, calm = examples((tmp_path / "report" / "index.html").read_text())
        assert "Frame 10 cannot be had from mouse-1.mp4 (mouse-1.mp4 has frames 0 to 4; there is no frame 10)" in disputed
        assert index_in(embedded(calm)) == 3


@pytest.mark.browser
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


@pytest.mark.browser
@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_example_frames_show_their_pictures_within_the_screen(
    tmp_path: Path, labels: Path, videos: Path, run_cli: RunCLI, width: int, height: int
) -> None:
    """The report the command wrote shows each example's picture in Chromium, no wider than the screen; a screenshot is kept."""
    from playwright.sync_api import sync_playwright

    assert run_cli("consensus", str(labels), "--report", str(tmp_path / "report"), "--videos", str(videos)).code == 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height}, is_mobile=width < 600, device_scale_factor=1)
            page.goto((tmp_path / "report" / "index.html").as_uri())
            thumbnails = page.locator("figure[data-testid=example] svg")
            boxes = [thumbnails.nth(i).bounding_box() for i in range(thumbnails.count())]
            pictures = page.locator("figure[data-testid=example] svg image").count()
            page_width = page.evaluate("document.documentElement.scrollWidth")
            page.locator("figure[data-testid=example]").first.scroll_into_view_if_needed()
            shot = tmp_path / f"examples-{width}x{height}.png"
            page.screenshot(path=str(shot))
        finally:
            browser.close()
    print(f"screenshot: {shot}")
    assert len(boxes) == 2 and pictures == 2
    assert all(box is not None and 150 < box["width"] <= min(width, 340) and box["height"] > 80 for box in boxes), boxes
    assert page_width <= width
