"""The consensus report: one page that reads on a phone, plots drawn by matplotlib with ticks a reader expects, and sentences for empty tables."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path

import numpy as np

from receiver.consensus import Consensus, FrameConsensus, FrameKey, consensus
from receiver.consensus.report import bar_chart, example_frames, write_report
from tests.consensus.crowd import PAIRS, make_crowd
from tests.export.records import HEIGHT, KEYPOINTS, TRUTH, VIDEO, WIDTH, crowd


@cache
def contested() -> Consensus:
    """A crowd with clickers, swappers and hidden points: frames for review, and gold."""
    crowd = make_crowd(5, frames=40, volunteers=20)
    gold = {FrameKey(VIDEO, f): tuple(map(tuple, crowd.truth[f])) for f in range(10)}
    return consensus(crowd.records, KEYPOINTS, symmetry=PAIRS, gold=gold)


@dataclass
class _NothingToReview(Consensus):
    """A consensus whose frames all settled without doubt (however the crowd was made)."""

    @property
    def review(self) -> list[FrameConsensus]:
        return []


def careful() -> Consensus:
    """Careful volunteers: nothing for an expert."""
    crowd = make_crowd(2, frames=12, per_frame=5, volunteers=8, swappers=0, random_clickers=0, hidden_share=0)
    found = consensus(crowd.records, KEYPOINTS, symmetry=PAIRS)
    return _NothingToReview(**{f.name: getattr(found, f.name) for f in fields(found)})


def texts(svg: str) -> list[str]:
    """The words an SVG shows (matplotlib writes text as text here)."""
    return [re.sub(r"<[^>]+>", "", t).strip() for t in re.findall(r"<text\b[^>]*>(.*?)</text>", svg, re.DOTALL)]


def figure(page: str, name: str) -> str:
    return page.split(f'data-testid="plot-{name}">', 1)[1].split("</figure>", 1)[0]


class TestPage:
    def test_the_page_has_a_viewport_and_embeds_its_plots(self, tmp_path: Path) -> None:
        """One file: a phone lays it out at its own width, and the plots are inline SVG, not files beside it."""
        index = write_report(contested(), tmp_path / "report")
        page = index.read_text()
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
        plots = [figure(page, name) for name in ("noise", "agreement", "reliability", "gold")]
        assert all(plot.startswith("<svg ") for plot in plots) and "<img" not in page
        assert sorted(p.name for p in (tmp_path / "report").iterdir()) == ["index.html"]

    def test_plots_ids_do_not_collide_on_one_page(self, tmp_path: Path) -> None:
        page = write_report(contested(), tmp_path / "report").read_text()
        ids = re.findall(r'\bid="([^"]+)"', page)
        assert len(ids) == len(set(ids))

    def test_the_same_consensus_gives_the_same_page(self, tmp_path: Path) -> None:
        """No date and fixed ids: a report can be committed and diffed."""
        first = write_report(contested(), tmp_path / "a").read_bytes()
        assert write_report(contested(), tmp_path / "b").read_bytes() == first

    def test_no_frame_for_review_is_a_sentence_not_an_empty_table(self, tmp_path: Path) -> None:
        result = careful()
        assert result.review == []
        page = write_report(result, tmp_path / "report").read_text()
        assert 'data-testid="review-none">No frame needs an expert' in page and 'data-testid="review"' not in page

    def test_frames_for_review_are_a_table(self, tmp_path: Path) -> None:
        page = write_report(contested(), tmp_path / "report").read_text()
        assert '<table data-testid="review">' in page and "review-none" not in page


class TestPlots:
    def test_counts_are_whole_numbers_on_bars_and_ticks(self, tmp_path: Path) -> None:
        """Volunteers per reliability band: 4, never 4.00, and no tick between whole numbers."""
        shown = texts(figure(write_report(contested(), tmp_path / "r").read_text(), "reliability"))
        numbers = [t for t in shown if re.fullmatch(r"[\d.,\u2212]+", t)]
        assert numbers and all(re.fullmatch(r"\d+", n) for n in numbers), numbers

    def test_ticks_are_round_steps(self) -> None:
        """Values up to 1.86 get ticks such as 0, 0.5, 1, 1.5: never 0.931 or 1.86."""
        shown = texts(bar_chart("noise", ["a", "b", "c"], [0.931, 1.86, 1.2]))
        ticks = [float(t.replace("\u2212", "-")) for t in shown if re.fullmatch(r"[\d.\u2212]+", t)]
        axis = [t for t in ticks if t not in (0.9, 1.9, 1.2)]
        assert axis and all(round(t * 2, 9) == int(round(t * 2, 9)) for t in axis), ticks

    def test_shares_are_percentages(self) -> None:
        shown = texts(bar_chart("agreement", ["a", "b"], [0.9, 0.5], share=True))
        assert "90%" in shown and "50%" in shown

    def test_text_is_escaped(self) -> None:
        """A keypoint or title with markup stays text inside the SVG."""
        svg = bar_chart("<b>x</b>", ["<script>alert(1)</script>"], [1.0])
        assert "<script>" not in svg and "<b>" not in svg


def examples(page: str) -> list[str]:
    """Each example frame's figure: its SVG and its caption."""
    return [part.split("</figure>", 1)[0] for part in page.split('<figure data-testid="example">')[1:]]


def one_outlier() -> Consensus:
    """Five careful volunteers on frame 10, one of whom put the nose 150 px off, and a calm frame 11."""
    rng = random.Random(3)
    records = crowd(rng, volunteers=5, noise=2.0, outliers=[4]) + crowd(rng, volunteers=5, noise=2.0, frame_index=11)
    return consensus(records, KEYPOINTS)


class TestExamples:
    def test_frames_for_review_come_first(self) -> None:
        result = contested()
        chosen = example_frames(result)
        assert len(chosen) == 4 and {e.key for e in chosen} <= {f.key for f in result.review}
        assert all(e.why.startswith("for expert review: ") for e in chosen)

    def test_then_the_frame_with_outlying_clicks(self) -> None:
        """With nothing for review, the disputed frame is shown before the calm one, its stray click drawn apart."""
        first, second = example_frames(one_outlier())
        assert (first.key.frame_index, second.key.frame_index) == (10, 11)
        assert first.why == "1 of 5 label(s) with outlying clicks" and second.why == "5 label(s), none outlying"
        nose = TRUTH["nose"]
        assert len(first.outlying) == 1 and np.hypot(first.outlying[0][0] - nose[0] - 150, first.outlying[0][1] - nose[1] - 150) < 10
        assert len(first.centre) == 6 and len(first.agreeing) == 5 * 6 - 1

    def test_a_picture_is_drawn_under_the_points(self, tmp_path: Path) -> None:
        """The decoded frame handed in is embedded, thinned to a thumbnail, with the points as vector marks over it."""
        result = one_outlier()
        key = example_frames(result)[0].key
        picture = np.full((HEIGHT, WIDTH, 3), 90, dtype=np.uint8)
        page = write_report(result, tmp_path / "r", pictures={key: picture}).read_text()
        drawn, calm = examples(page)
        assert drawn.count("<image ") == 1 and "example-no-video" not in drawn
        assert "frame 10: 1 of 5 label(s) with outlying clicks" in drawn
        width = float(re.search(r'<svg [^>]*width="([\d.]+)pt"', drawn).group(1))  # type: ignore[union-attr]
        assert width <= 320 * 0.75 + 1
        assert "<image " not in calm and "video was not read, so its points are drawn on a grey frame" in calm

    def test_a_video_that_could_not_be_read_is_a_sentence_over_a_grey_frame(self, tmp_path: Path) -> None:
        result = one_outlier()
        key = example_frames(result)[0].key
        page = write_report(result, tmp_path / "r", pictures={key: "The video mouse-1.mp4 cannot be read (not a video)."}).read_text()
        drawn = examples(page)[0]
        assert "<image " not in drawn and 'data-testid="example-no-video">The video mouse-1.mp4 cannot be read (not a video).' in drawn
        assert "#bdbdbd" in drawn

    def test_captions_are_escaped(self, tmp_path: Path) -> None:
        result = one_outlier()
        key = example_frames(result)[0].key
        page = write_report(result, tmp_path / "r", pictures={key: "<script>alert(1)</script>"}).read_text()
        assert "<script>" not in page and "&lt;script&gt;" in page
