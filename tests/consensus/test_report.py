"""The consensus report: one page that reads on a phone, plots drawn by matplotlib with ticks a reader expects, and sentences for empty tables."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path

from receiver.consensus import Consensus, FrameConsensus, FrameKey, consensus
from receiver.consensus.report import bar_chart, write_report
from tests.consensus.crowd import PAIRS, make_crowd
from tests.export.records import KEYPOINTS, VIDEO


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
        assert page.count("<svg ") == 4 and "<img" not in page
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
