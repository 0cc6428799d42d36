"""timeline.js: where the page seeks for frame i, and which frame a presented time names, run in Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from receiver.volunteers import PAGE_DIR
from tests.volunteers.page.hosts import static_host

pytestmark = pytest.mark.browser

NTSC = [n * 1001 / 30000 for n in range(6)]
LATE = [10 + n * 0.04 for n in range(6)]
#: Every third frame lasts twice as long.
VARIABLE = [(n + n // 3) / 30 for n in range(6)]


@pytest.fixture(scope="module")
def timeline(chromium: Any) -> Iterator[Any]:
    """A page that imported timeline.js as the labeling page does (an ES module from the page's folder)."""
    with static_host(PAGE_DIR) as url:
        context = chromium.new_context()
        page = context.new_page()
        page.goto(f"{url}/config.js")
        page.evaluate("async () => { window.timeline = await import('./timeline.js'); }")
        yield page
        context.close()


def run(page: Any, entry: dict[str, Any], call: str) -> Any:
    """Evaluate `call` (e.g. "t.frameAt(0.1)") on the timeline of `entry`."""
    return page.evaluate(f"(entry) => {{ const t = window.timeline.timelineOf(entry); return {call}; }}", entry)


class TestByTimes:
    @pytest.mark.parametrize("times", [NTSC, LATE, VARIABLE], ids=["29.97", "starts-at-10s", "variable"])
    def test_seeks_to_the_middle_of_each_frame(self, timeline: Any, times: list[float]) -> None:
        """Frame i is asked for halfway between its time and the next frame's, never at its first microsecond."""
        targets = run(timeline, {"fps": 30, "times": times}, "[0, 1, 2, 3, 4].map((i) => t.target(i, 0.2))")
        assert targets == pytest.approx([(a + b) / 2 for a, b in zip(times, times[1:])])

    def test_seeks_past_the_last_frames_time(self, timeline: Any) -> None:
        """The last frame, which has no next time, is asked for a quarter of the interval before it past its own time."""
        assert run(timeline, {"fps": 25, "times": LATE}, "t.target(5, 0.24)") == pytest.approx(10.2 + 0.01)

    @pytest.mark.parametrize("times", [NTSC, LATE, VARIABLE], ids=["29.97", "starts-at-10s", "variable"])
    def test_names_the_frame_whose_time_the_browser_reports_in_microseconds(self, timeline: Any, times: list[float]) -> None:
        """mediaTime comes rounded to whole microseconds (0.033367 for 1001/30000 s): it still names its frame."""
        reported = [round(t, 6) for t in times]
        assert run(timeline, {"fps": 30, "times": times}, f"{reported}.map((s) => t.frameAt(s))") == list(range(6))

    def test_names_no_frame_for_a_time_between_frames(self, timeline: Any) -> None:
        """A presented time that is no frame's time confirms nothing, so the page never guesses."""
        assert run(timeline, {"fps": 25, "times": LATE}, "[10.02, 9.5, 11].map((s) => t.frameAt(s))") == [None, None, None]

    def test_without_the_callback_names_the_frame_on_screen_at_a_time(self, timeline: Any) -> None:
        """Where only currentTime is known, it names the last frame presented at or before it."""
        assert run(timeline, {"fps": 25, "times": LATE}, "[10.02, 10.19, 10.5, 9].map((s) => t.frameDuring(s))") == [0, 4, 5, None]


class TestByRate:
    def test_a_hand_written_entry_keeps_index_over_fps(self, timeline: Any) -> None:
        """Without times, frame i is sought at (i + 0.5) / fps and a time t names floor(t * fps) as before."""
        assert run(timeline, {"fps": 25}, "[t.target(3, 10), t.frameAt(0.12), t.frameAt(0.15)]") == pytest.approx([0.14, 3, 3])

    def test_an_empty_table_falls_back_to_the_rate(self, timeline: Any) -> None:
        """An entry whose times list is empty is sought by its rate."""
        assert run(timeline, {"fps": 25, "times": []}, "t.target(3, 10)") == pytest.approx(0.14)
