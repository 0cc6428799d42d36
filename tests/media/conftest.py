"""Clips for the media package's tests: small, each frame carrying its index, one per kind of file labs record."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.clips import SMALL_FRAMES as FRAMES
from tests.support.clips import SMALL_HEIGHT as HEIGHT
from tests.support.clips import SMALL_WIDTH as WIDTH
from tests.support.clips import ffmpeg_available, make_clip_set


@dataclass(frozen=True)
class Kind:
    """One kind of clip, and what its probe should say."""

    name: str
    codec: str
    container: str
    playable: bool
    fps: float
    constant_rate: bool = True
    start: float = 0.0
    rotation: int = 0


KINDS = {
    "vfr.mp4": Kind("vfr.mp4", "h264", "mp4", True, fps=30 * FRAMES / (FRAMES - 1 + (FRAMES - 1) // 3), constant_rate=False),
    "start10.mp4": Kind("start10.mp4", "h264", "mp4", True, fps=30.0, start=10.0),
    "mjpeg.avi": Kind("mjpeg.avi", "mjpeg", "avi", False, fps=25.0),
    "hevc.mp4": Kind("hevc.mp4", "hevc", "mp4", False, fps=25.0),
    "ffv1.mkv": Kind("ffv1.mkv", "ffv1", "matroska", False, fps=25.0),
    "ntsc.mp4": Kind("ntsc.mp4", "h264", "mp4", True, fps=30000 / 1001),
    "rotated.mp4": Kind("rotated.mp4", "h264", "mp4", True, fps=30.0, rotation=90),
    "vp9.webm": Kind("vp9.webm", "vp9", "webm", True, fps=30.0),
}


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of every kind of clip (tests/support/clips.py, `make_clip_set`)."""
    if not ffmpeg_available():
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    return make_clip_set(tmp_path_factory.mktemp("media-clips"))


def clip(clips: Path, name: str) -> Path:
    """The clip called `name`, or a skip saying why this machine could not make it."""
    path = clips / name
    if not path.exists():
        pytest.skip(f"this ffmpeg cannot write {KINDS[name].codec} (Debian's ffmpeg has libx265 and libvpx)")
    return path
