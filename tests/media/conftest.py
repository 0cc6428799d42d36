"""Clips for the media package's tests: small, each frame carrying its index, one per kind of file labs record."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pytest

from tests.support.clips import encoder_available, ffmpeg_available, make_clip

#: Small enough to make in a blink, big enough for the index code to survive lossy codecs.
WIDTH, HEIGHT, FRAMES = 64, 48, 40


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
    """A folder of every kind of clip (HEVC only where this ffmpeg has libx265)."""
    if not ffmpeg_available():
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    folder = tmp_path_factory.mktemp("media-clips")
    size = {"width": WIDTH, "height": HEIGHT}
    make_clip(folder / "vfr.mp4", Fraction(30), FRAMES, variable=True, **size)
    make_clip(folder / "start10.mp4", Fraction(30), FRAMES, start=10.0, **size)
    make_clip(folder / "mjpeg.avi", Fraction(25), FRAMES, codec="mjpeg", **size)
    if encoder_available("hevc"):
        make_clip(folder / "hevc.mp4", Fraction(25), FRAMES, codec="hevc", **size)
    make_clip(folder / "ffv1.mkv", Fraction(25), FRAMES, codec="ffv1", **size)
    make_clip(folder / "ntsc.mp4", Fraction(30000, 1001), FRAMES, gop=12, **size)
    make_clip(folder / "rotated.mp4", Fraction(30), FRAMES, rotate=90, **size)
    if encoder_available("vp9"):
        make_clip(folder / "vp9.webm", Fraction(30), FRAMES, codec="vp9", **size)
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video")
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=duration=0.2", str(folder / "sound.m4a")],
        check=True, capture_output=True,
    )
    return folder


def clip(clips: Path, name: str) -> Path:
    """The clip called `name`, or a skip saying why this machine could not make it."""
    path = clips / name
    if not path.exists():
        pytest.skip(f"this ffmpeg cannot write {KINDS[name].codec} (Debian's ffmpeg has libx265 and libvpx)")
    return path
