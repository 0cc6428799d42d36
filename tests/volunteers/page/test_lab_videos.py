"""Videos as labs record them: the page labels exactly the frame it shows, from the video or from the receiver's image.

Each clip's frames carry their index in their pixels. The page is handed each
video as next-frame describes a probed one: the presentation time of every
frame (`times`), the first of them (`start`), and where the receiver's image of
each frame is (`frame_url`). Submit is watched in the page: the index drawn on
the canvas at that moment must be the index the receiver records.
"""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from tests.support.servers import wait_until
from tests.volunteers.page.clips import HEIGHT, WIDTH, _frame, ffmpeg_available
from tests.volunteers.page.conftest import CHROMIUM, FLAGS, HostedClip, labeling_receiver
from tests.volunteers.page.clips import Clip
from tests.volunteers.page.driving import hook, label_and_submit, pending, submitted_drawings, watch_submits
from tests.volunteers.page.hosts import static_host

pytestmark = pytest.mark.browser

SUBMISSIONS = 20
FRAMES = 48

#: ffmpeg arguments of each clip: what the rig wrote, after the raw frames at the nominal rate.
_H264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-g", "12", "-pix_fmt", "yuv420p", "-movflags", "+faststart"]
LAB_CLIPS: dict[str, tuple[Fraction, list[str]]] = {
    # Every third frame lasts twice as long, as cameras that drop frames write.
    "variable.mp4": (Fraction(30), ["-vf", "setpts=(N+floor(N/3))/30/TB", "-fps_mode", "passthrough", "-video_track_timescale", "90000", *_H264]),
    "starts-at-10s.mp4": (Fraction(25), [*_H264, "-output_ts_offset", "10"]),
    "ntsc.mp4": (Fraction(30000, 1001), _H264),
    "mjpeg.avi": (Fraction(25), ["-c:v", "mjpeg", "-q:v", "2", "-pix_fmt", "yuvj420p"]),
    "hevc.mp4": (Fraction(25), ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-pix_fmt", "yuv420p", "-tag:v", "hvc1"]),
}
#: What Chromium cannot play, so each frame must come from the receiver's image.
UNPLAYABLE = {"mjpeg.avi", "hevc.mp4"}


@dataclass(frozen=True)
class Probed:
    """A clip as the receiver's probe describes it, and its frames as the receiver's images of them."""

    hosted: HostedClip
    times: list[float]
    images: list[bytes]

    def entry(self, frame_url: str | None, *, decode: bool = False) -> dict[str, Any]:
        """The keys next-frame adds to a probed video's description."""
        extra: dict[str, Any] = {"times": self.times, "start": self.times[0]}
        if frame_url is not None:
            extra["frame_url"] = frame_url
        if decode:
            extra["decode"] = True
        return extra


def _encode(path: Path, fps: Fraction, arguments: list[str]) -> None:
    command = ["ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{WIDTH}x{HEIGHT}",
               "-r", f"{fps.numerator}/{fps.denominator}", "-i", "-", *arguments, str(path)]
    subprocess.run(command, input=b"".join(_frame(i) for i in range(FRAMES)), check=True, capture_output=True)


def _probe(path: Path) -> tuple[list[float], list[bytes]]:
    """Every frame's presentation time (pts × time_base) and its pixels as PNG, decoded with PyAV."""
    png = av.CodecContext.create("png", "w")
    png.width, png.height, png.pix_fmt = WIDTH, HEIGHT, "rgb24"
    times, images = [], []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            times.append(float(frame.pts * frame.time_base))
            images.append(b"".join(bytes(packet) for packet in png.encode(frame.reformat(format="rgb24"))))
    return times, images


@pytest.fixture(scope="module")
def lab_clips(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Probed]]:
    if not ffmpeg_available():
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    directory = tmp_path_factory.mktemp("lab-clips")
    probed = {}
    with static_host(directory) as url:
        for name, (fps, arguments) in LAB_CLIPS.items():
            _encode(directory / name, fps, arguments)
            times, images = _probe(directory / name)
            assert len(times) == FRAMES
            hosted = HostedClip(Clip(path=Path(name), fps=fps, frames=FRAMES), f"{url}/{name}")
            probed[name] = Probed(hosted, times, images)
        yield probed


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One browser for the module; each test opens its own context."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()


def describe_as_probed(page: Any, receiver_url: str, clip: Probed, extra: dict[str, Any]) -> None:
    """Answer the page's next-frame with the probe's keys added, and /api/frames with the clip's frames.

    Stands in for the receiver's side of the contract (`Video.public()` of an entry
    `receiver videos add` wrote, and `GET /api/frames/{video}/{index}`), so the page is
    specified on its own.
    """

    def next_frame(route: Any) -> None:
        answer = route.fetch()
        body = answer.json()
        for offered in [body, *body.get("frames", [])]:
            if isinstance(offered.get("video"), dict):
                offered["video"].update(extra)
        route.fulfill(response=answer, json=body)

    def frame_image(route: Any) -> None:
        index = int(route.request.url.rsplit("/", 1)[1])
        route.fulfill(status=200, content_type="image/png", body=clip.images[index])

    page.route(f"{receiver_url}/api/next-frame*", next_frame)
    page.route(f"{receiver_url}/api/frames/**", frame_image)


#: Records, at each press of Submit, whose pixels the canvas held ("video" or "receiver").
WATCH_SOURCES = """() => {
  const sources = [];
  document.addEventListener("click", (event) => {
    if (!event.target.closest('[data-testid="submit"]')) return;
    sources.push(document.querySelector('[data-testid="frame"]').dataset.source);
    document.documentElement.dataset.sources = JSON.stringify(sources);
  }, {capture: true});
}"""


def received_frames(url: str) -> list[int]:
    body = httpx.get(f"{url}/api/annotations", params={"per_page": 500}, timeout=10).json()
    return [a["frame_index"] for a in body["annotations"]]


def label_frames(chromium: Any, receiver_url: str, clip: Probed, extra: dict[str, Any], seed: str) -> tuple[list[int], list[str]]:
    """Label SUBMISSIONS frames handed out by the receiver; the index drawn and the source at each Submit."""
    chance = random.Random(seed)
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        describe_as_probed(page, receiver_url, clip, extra)
        page.goto(f"{receiver_url}/label")
        watch_submits(page)
        page.evaluate(WATCH_SOURCES)
        for number in range(SUBMISSIONS):
            try:
                label_and_submit(page, [(chance.uniform(10, 310), chance.uniform(175, 230)) for _ in range(3)])
            except PlaywrightTimeout as exc:
                raise AssertionError(f"submission {number + 1}: no frame to label; the page says {page.text_content(hook('message'))!r}") from exc
        wait_until(lambda: pending(page) == 0, timeout=60, what="the page's queue to empty")
        assert page.get_attribute(hook("message"), "data-kind") != "error"
        sources: list[str] = json.loads(page.get_attribute("html", "data-sources") or "[]")
        return submitted_drawings(page), sources
    finally:
        context.close()


@pytest.mark.parametrize("name", list(LAB_CLIPS))
def test_every_submission_names_the_frame_drawn_for_a_probed_video(name: str, lab_clips: dict[str, Probed], chromium: Any, tmp_path: Path) -> None:
    """20 of 20 submissions carry the index drawn at Submit: VFR, late start, 29.97 fps, MJPEG AVI, HEVC."""
    clip = lab_clips[name]
    with labeling_receiver(tmp_path, [clip.hosted]) as receiver:
        drawn, sources = label_frames(chromium, receiver.url, clip, clip.entry("/api/frames/0/{index}"), name)
        assert len(drawn) == SUBMISSIONS
        assert received_frames(receiver.url) == drawn
    if name in UNPLAYABLE:
        assert set(sources) == {"receiver"}


# Not the variable-rate clip: Debian's Chromium never presents some of its frames when seeked
# to them, even at their exact time (it shows the next one and says so), so those frames can
# only be labelled from the receiver's image.
@pytest.mark.parametrize("name", ["starts-at-10s.mp4", "ntsc.mp4"])
def test_a_playable_video_is_seeked_by_its_time_table(name: str, lab_clips: dict[str, Probed], chromium: Any, tmp_path: Path) -> None:
    """Without the receiver's images to fall back on, every frame of a probed MP4 is confirmed from the video itself."""
    clip = lab_clips[name]
    with labeling_receiver(tmp_path, [clip.hosted]) as receiver:
        drawn, sources = label_frames(chromium, receiver.url, clip, clip.entry(None), name)
        assert received_frames(receiver.url) == drawn
    assert sources == ["video"] * SUBMISSIONS


def test_decode_labels_the_receivers_image_of_a_playable_video(lab_clips: dict[str, Probed], chromium: Any, tmp_path: Path) -> None:
    """`decode: true` makes the page label the receiver's image even where the browser could play the video."""
    clip = lab_clips["ntsc.mp4"]
    with labeling_receiver(tmp_path, [clip.hosted]) as receiver:
        drawn, sources = label_frames(chromium, receiver.url, clip, clip.entry("/api/frames/0/{index}", decode=True), "decode")
        assert received_frames(receiver.url) == drawn
    assert sources == ["receiver"] * SUBMISSIONS


def late_table(clip: Probed) -> list[float]:
    """The clip's times each half a frame late: the browser presents no frame at any of them."""
    return [t + 0.5 / float(clip.hosted.clip.fps) for t in clip.times]


def test_a_frame_the_browser_does_not_confirm_is_labelled_from_the_receivers_image(lab_clips: dict[str, Probed], chromium: Any, tmp_path: Path) -> None:
    """When the presented frame's time is not in the table, the page labels the receiver's image of the frame asked for."""
    clip = lab_clips["starts-at-10s.mp4"]
    extra = {**clip.entry("/api/frames/0/{index}"), "times": late_table(clip)}
    with labeling_receiver(tmp_path, [clip.hosted]) as receiver:
        drawn, sources = label_frames(chromium, receiver.url, clip, extra, "late")
        assert received_frames(receiver.url) == drawn
    assert sources == ["receiver"] * SUBMISSIONS


def test_a_frame_the_browser_does_not_confirm_is_refused_without_the_receivers_image(lab_clips: dict[str, Probed], chromium: Any, tmp_path: Path) -> None:
    """Without frame_url, a presented frame whose time is not in the table is refused with a sentence, and Submit stays off."""
    clip = lab_clips["starts-at-10s.mp4"]
    extra = {**clip.entry(None), "times": late_table(clip)}
    with labeling_receiver(tmp_path, [clip.hosted]) as receiver:
        context = chromium.new_context()
        try:
            page = context.new_page()
            describe_as_probed(page, receiver.url, clip, extra)
            page.goto(f"{receiver.url}/label")
            page.wait_for_selector(f'{hook("message")}[data-kind="error"]', timeout=30_000)
            message = page.text_content(hook("message")) or ""
            assert message.startswith("The browser showed a frame the receiver does not list instead of frame ")
            assert page.is_disabled(hook("submit"))
        finally:
            context.close()
