"""Videos as labs record them: the page labels exactly the frame it shows, from the video or from the receiver's image.

Each clip's frames carry their index in their pixels, and each clip's entry is
written by `receiver videos add`, so next-frame describes it as the receiver
does a probed video: the presentation time of every frame (`times`), the first
of them (`start`), where the receiver's image of each frame is (`frame_url`)
and, for what browsers cannot play, `decode`. Submit is watched in the page:
the index drawn on the canvas at that moment must be the index the receiver
records.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from receiver.cli import main
from tests.support.clips import encoder_available, ffmpeg_available, make_clip
from tests.support.servers import ReceiverProcess
from tests.volunteers.page.conftest import routes_next_frame
from tests.volunteers.page.driving import hook, label_frames, received_frames
from tests.volunteers.page.hosts import static_host

pytestmark = pytest.mark.browser

SUBMISSIONS = 20
FRAMES = 48

#: Each clip as the rig wrote it: make_clip's keywords.
LAB_CLIPS: dict[str, dict[str, Any]] = {
    "variable.mp4": {"fps": Fraction(30), "variable": True, "gop": 12},
    "starts-at-10s.mp4": {"fps": Fraction(25), "start": 10.0, "gop": 12},
    "ntsc.mp4": {"fps": Fraction(30000, 1001), "gop": 12},
    "mjpeg.avi": {"fps": Fraction(25), "codec": "mjpeg"},
    "hevc.mp4": {"fps": Fraction(25), "codec": "hevc", "gop": 12},
}
#: What Chromium cannot play, so each frame must come from the receiver's image.
UNPLAYABLE = {"mjpeg.avi", "hevc.mp4"}


@dataclass(frozen=True)
class LabClip:
    """A clip on the video host and its entry as `receiver videos add` wrote it."""

    name: str
    entry: dict[str, Any]


def videos_add(url: str, folder: Path) -> dict[str, Any]:
    """The entry `receiver videos add` writes for the video at `url`."""
    file = folder / "videos.json"
    out, err = io.StringIO(), io.StringIO()
    assert main(["videos", "add", "--file", str(file), url], environ={}, out=out, err=err) == 0, err.getvalue()
    (entry,) = json.loads(file.read_text(encoding="utf-8"))
    return dict(entry)


@pytest.fixture(scope="module")
def lab_clips(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LabClip]]:
    """Every clip on a video host (CORS, byte ranges) for the module, each with its probed entry."""
    if not ffmpeg_available() or not encoder_available("hevc"):
        pytest.skip("ffmpeg with libx265 is not installed (apt-get install ffmpeg)")
    if not routes_next_frame():
        pytest.skip("the receiver does not route GET /api/next-frame yet, and the page takes its frames from there")
    directory = tmp_path_factory.mktemp("lab-clips")
    clips = {}
    with static_host(directory) as url:
        for name, keywords in LAB_CLIPS.items():
            make_clip(directory / name, frames=FRAMES, **keywords)
            entry = videos_add(f"{url}/{name}", tmp_path_factory.mktemp(name))
            assert entry["frames"] == FRAMES and len(entry["times"]) == FRAMES
            clips[name] = LabClip(name, entry)
        yield clips


def labeling_receiver(workdir: Path, clip: LabClip) -> ReceiverProcess:
    """`receiver serve` handing out frames of this clip's entry, each frame retired by its first label."""
    videos = workdir / "config" / "videos.json"
    videos.parent.mkdir(parents=True, exist_ok=True)
    videos.write_text(json.dumps([clip.entry]), encoding="utf-8")
    return ReceiverProcess(workdir, {"RECEIVER_VIDEOS": str(videos), "RECEIVER_RATE_LIMIT": "0", "RECEIVER_RETIRE_AFTER": "1"})


class TestProbedVideos:
    @pytest.mark.parametrize("name", list(LAB_CLIPS))
    def test_every_submission_names_the_frame_drawn_when_submit_was_pressed(self, name: str, lab_clips: dict[str, LabClip], open_label_page: Callable[..., Any], tmp_path: Path) -> None:
        """20 of 20 submissions carry the index drawn at Submit: VFR, late start, 29.97 fps, MJPEG AVI, HEVC."""
        clip = lab_clips[name]
        with labeling_receiver(tmp_path, clip) as receiver:
            page = open_label_page(receiver.url)
            drawn, sources = label_frames(page, SUBMISSIONS, name)
            assert len(drawn) == SUBMISSIONS
            assert received_frames(receiver.url) == drawn
        if name in UNPLAYABLE:
            assert sources == ["receiver"] * SUBMISSIONS

    # Not the variable-rate clip: Debian's Chromium never presents some of its frames when seeked
    # to them, even at their exact time (it shows the next one and says so), so those frames can
    # only be labelled from the receiver's image.
    @pytest.mark.parametrize("name", ["starts-at-10s.mp4", "ntsc.mp4"])
    def test_a_playable_video_is_seeked_by_its_time_table(self, name: str, lab_clips: dict[str, LabClip], open_label_page: Callable[..., Any], tmp_path: Path) -> None:
        """Without the receiver's images to fall back on, every frame of a probed MP4 is confirmed from the video itself."""
        clip = lab_clips[name]
        with labeling_receiver(tmp_path, clip) as receiver:
            page = open_label_page(receiver.url, {"frame_url": None})
            drawn, sources = label_frames(page, SUBMISSIONS, name)
            assert received_frames(receiver.url) == drawn
        assert sources == ["video"] * SUBMISSIONS


class TestReceiversImage:
    def test_decode_labels_the_receivers_image_of_a_playable_video(self, lab_clips: dict[str, LabClip], open_label_page: Callable[..., Any], tmp_path: Path) -> None:
        """`decode: true` makes the page label the receiver's image even where the browser could play the video."""
        clip = lab_clips["ntsc.mp4"]
        with labeling_receiver(tmp_path, clip) as receiver:
            page = open_label_page(receiver.url, {"decode": True})
            drawn, sources = label_frames(page, SUBMISSIONS, "decode")
            assert received_frames(receiver.url) == drawn
        assert sources == ["receiver"] * SUBMISSIONS

    def test_a_frame_the_browser_does_not_confirm_is_labelled_from_the_receivers_image(self, lab_clips: dict[str, LabClip], open_label_page: Callable[..., Any], tmp_path: Path) -> None:
        """When the presented frame's time is not in the table, the page labels the receiver's image of the frame asked for."""
        clip = lab_clips["starts-at-10s.mp4"]
        with labeling_receiver(tmp_path, clip) as receiver:
            page = open_label_page(receiver.url, {"times": late_table(clip)})
            drawn, sources = label_frames(page, SUBMISSIONS, "late")
            assert received_frames(receiver.url) == drawn
        assert sources == ["receiver"] * SUBMISSIONS

    def test_without_it_a_frame_the_browser_does_not_confirm_is_refused(self, lab_clips: dict[str, LabClip], open_label_page: Callable[..., Any], tmp_path: Path) -> None:
        """Without frame_url, a presented frame whose time is not in the table is refused with a sentence, and Submit stays off."""
        clip = lab_clips["starts-at-10s.mp4"]
        with labeling_receiver(tmp_path, clip) as receiver:
            page = open_label_page(receiver.url, {"times": late_table(clip), "frame_url": None})
            page.wait_for_selector(f'{hook("message")}[data-kind="error"]', timeout=30_000)
            assert (page.text_content(hook("message")) or "").startswith("The browser showed a frame the receiver does not list instead of frame ")
            assert page.is_disabled(hook("submit"))


def late_table(clip: LabClip) -> list[float]:
    """The clip's times each half a frame late: the browser presents no frame at any of them."""
    return [t + 0.5 / clip.entry["fps"] for t in clip.entry["times"]]
