"""Fixtures for the labeling page's browser tests: clips, a video host, a receiver, Chromium."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from receiver.settings import Settings
from receiver.web.app import create_app
from tests.support.servers import ReceiverProcess
from tests.volunteers.page.clips import Clip, ffmpeg_available, make_clip
from tests.volunteers.page.driving import wait_for_frame
from tests.volunteers.page.hosts import static_host

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

#: Screenshots the suite takes (ignored by git); README images are copied from here.
OUTPUT = Path(__file__).resolve().parents[3] / "test-output"


@dataclass(frozen=True)
class HostedClip:
    clip: Clip
    url: str
    #: How many animals its frames may hold, and their tracks (the videos file's `animals` and `tracks`).
    animals: int = 1
    tracks: tuple[str, ...] = ()

    def setting(self) -> dict[str, Any]:
        """The clip as the receiver's RECEIVER_VIDEOS lists it."""
        entry: dict[str, Any] = {"url": self.url, "fps": float(self.clip.fps), "frames": self.clip.frames, "width": self.clip.width, "height": self.clip.height}
        if self.animals != 1:
            entry["animals"] = self.animals
        if self.tracks:
            entry["tracks"] = list(self.tracks)
        return entry


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not ffmpeg_available():
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    directory = tmp_path_factory.mktemp("clips")
    make_clip(directory / "clip-29.97.mp4", Fraction(30000, 1001), 150)
    make_clip(directory / "clip-25.mp4", Fraction(25), 150)
    (directory / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video")
    return directory


@pytest.fixture(scope="session")
def video_host(clip_dir: Path) -> Iterator[str]:
    """The clips on another origin, with CORS and byte ranges, as a video host serves them."""
    with static_host(clip_dir) as url:
        yield url


def hosted(video_host: str, name: str) -> HostedClip:
    fps = Fraction(30000, 1001) if "29.97" in name else Fraction(25)
    return HostedClip(Clip(path=Path(name), fps=fps, frames=150), f"{video_host}/{name}")


def routes_next_frame() -> bool:
    """Whether the receiver hands out frames (`GET /api/next-frame`), which the page needs."""
    return any(getattr(route, "path", None) == "/api/next-frame" for route in create_app(Settings()).routes)


def labeling_receiver(workdir: Path, clips: list[HostedClip], *, port: int | None = None) -> ReceiverProcess:
    """`receiver serve` handing out frames of these clips, each frame retired by its first label."""
    if not routes_next_frame():
        pytest.skip("the receiver does not route GET /api/next-frame yet, and the page takes its frames from there")
    workdir.mkdir(parents=True, exist_ok=True)
    videos = workdir / "videos.json"
    videos.write_text(json.dumps([c.setting() for c in clips]), encoding="utf-8")
    environ = {"RECEIVER_VIDEOS": str(videos), "RECEIVER_RATE_LIMIT": "0", "RECEIVER_RETIRE_AFTER": "1"}
    return ReceiverProcess(workdir, environ, port=port)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One browser for a module whose tests each open their own context."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def open_label_page(chromium: Any) -> Iterator[Callable[..., Any]]:
    """Opens fresh pages on a receiver's /label (a context each: nothing kept between them), closed after the test.

    `changes` alters each video as next-frame describes it to the page (None removes a
    key), to specify the page on descriptions the receiver does not write itself.
    """
    contexts: list[Any] = []

    def open_page(receiver_url: str, changes: dict[str, Any] | None = None) -> Any:
        contexts.append(chromium.new_context(viewport={"width": 1280, "height": 800}))
        page = contexts[-1].new_page()
        if changes:
            contexts[-1].route(f"{receiver_url}/api/next-frame*", lambda route: _change_videos(route, changes))
        page.goto(f"{receiver_url}/label")
        return page

    yield open_page
    for context in contexts:
        # A request for frames may still be out: its handler is dropped rather than failing on a closed page.
        context.unroute_all(behavior="ignoreErrors")
        context.close()


def _change_videos(route: Any, changes: dict[str, Any]) -> None:
    answer = route.fetch()
    body = answer.json()
    for offered in [body, *body.get("frames", [])]:
        video = offered.get("video")
        if isinstance(video, dict):
            for key, value in changes.items():
                if value is None:
                    video.pop(key, None)
                else:
                    video[key] = value
    route.fulfill(response=answer, json=body)


@pytest.fixture
def receiver(video_host: str, tmp_path: Path) -> Iterator[ReceiverProcess]:
    """A receiver handing out the 25 fps clip: what most page tests label (a module may bring its own)."""
    with labeling_receiver(tmp_path, [hosted(video_host, "clip-25.mp4")]) as running:
        yield running


@pytest.fixture
def page(receiver: ReceiverProcess, browser: Any) -> Any:
    """The labeling page on that receiver, at 1280x800, its first frame shown."""
    opened = browser.new_page(viewport={"width": 1280, "height": 800})
    opened.goto(f"{receiver.url}/label")
    wait_for_frame(opened)
    return opened


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()
