"""Test clips whose every frame carries its own index in its pixels, made with ffmpeg.

The index is written as a binary code of bright and dark blocks across the
top of the frame, big enough to survive lossy compression; the bottom band is
plain grey, where tests click keypoints so that markers never cover a block
(`figures` draws animals there, for the tests of several animals per frame).
`make_clip` writes the H.264 MP4 browsers play; its keywords make what labs
record instead (another codec or container, a variable rate, a stream that
starts late, a rotation), so one drawing serves the page's tests and the
media package's.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

__all__ = [
    "Clip", "make_clip", "BITS", "WIDTH", "HEIGHT", "block_centres", "decode", "index_in", "ffmpeg_available",
    "encoder_available", "CODECS", "make_clip_set", "SMALL_WIDTH", "SMALL_HEIGHT", "SMALL_FRAMES", "Figure", "TWO_ANIMALS",
]

WIDTH, HEIGHT = 320, 240
COLUMNS, ROWS = 6, 2
BITS = COLUMNS * ROWS
_BRIGHT, _DARK, _GREY = 235, 20, 128

#: ffmpeg's encoder arguments per codec name, tuned for small, exact test clips.
CODECS: dict[str, list[str]] = {
    "h264": ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p"],
    "hevc": ["-c:v", "libx265", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", "-tag:v", "hvc1", "-x265-params", "log-level=error"],
    "mjpeg": ["-c:v", "mjpeg", "-q:v", "2", "-pix_fmt", "yuvj420p"],
    "ffv1": ["-c:v", "ffv1", "-pix_fmt", "yuv420p"],
    "vp9": ["-c:v", "libvpx-vp9", "-crf", "20", "-b:v", "0", "-pix_fmt", "yuv420p"],
}
_ENCODERS = {"h264": "libx264", "hevc": "libx265", "mjpeg": "mjpeg", "ffv1": "ffv1", "vp9": "libvpx-vp9"}


@dataclass(frozen=True)
class Clip:
    path: Path
    fps: Fraction
    frames: int
    width: int = WIDTH
    height: int = HEIGHT


@dataclass(frozen=True)
class Figure:
    """An animal drawn on every frame in the grey band: a filled ellipse centred at (x, y), radii (rx, ry), of one grey level."""

    x: int
    y: int
    rx: int
    ry: int
    level: int


#: Two distinct animals side by side in the grey band: a bright one on the left, a dark one on the right.
TWO_ANIMALS = (Figure(80, 200, 62, 26, _BRIGHT), Figure(240, 200, 62, 26, _DARK))


def ffmpeg_available() -> bool:
    return shutil.which("ffmpeg") is not None


def encoder_available(codec: str) -> bool:
    """Whether this machine's ffmpeg can write `codec` (Debian's builds libx265 in; others may not)."""
    if not ffmpeg_available():
        return False
    listing = subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True, check=False).stdout
    return any(line.split()[1:2] == [_ENCODERS[codec]] for line in listing.splitlines() if line.strip())


def _code_height(height: int) -> int:
    return height * 2 // 3


def block_centres(width: int = WIDTH, height: int = HEIGHT) -> list[tuple[int, int]]:
    """Pixel centre (x, y) of each bit's block, most significant bit first."""
    block_width, block_height = width // COLUMNS, _code_height(height) // ROWS
    return [(c * block_width + block_width // 2, r * block_height + block_height // 2) for r in range(ROWS) for c in range(COLUMNS)]


def decode(levels: Sequence[int | float]) -> int:
    """The index from the brightness sampled at each block centre."""
    value = 0
    for level in levels:
        value = value * 2 + (1 if level > 128 else 0)
    return value


def index_in(pixels: npt.NDArray[np.uint8]) -> int:
    """The index drawn in a decoded frame (H×W or H×W×3, upright as drawn)."""
    grey = pixels.mean(axis=2) if pixels.ndim == 3 else pixels
    height, width = grey.shape
    return decode([float(grey[y, x]) for x, y in block_centres(width, height)])


def _frame(index: int, width: int, height: int, figures: Sequence[Figure] = ()) -> bytes:
    image = np.full((height, width), _GREY, dtype=np.uint8)
    rows, columns = np.mgrid[0:height, 0:width]
    for figure in figures:
        image[((columns - figure.x) / figure.rx) ** 2 + ((rows - figure.y) / figure.ry) ** 2 <= 1] = figure.level
    block_width, block_height = width // COLUMNS, _code_height(height) // ROWS
    for bit in range(BITS):
        on = (index >> (BITS - 1 - bit)) & 1
        row, column = divmod(bit, COLUMNS)
        image[row * block_height : (row + 1) * block_height, column * block_width : (column + 1) * block_width] = _BRIGHT if on else _DARK
    return image.tobytes()


def make_clip(
    path: Path,
    fps: Fraction,
    frames: int,
    *,
    width: int = WIDTH,
    height: int = HEIGHT,
    codec: str = "h264",
    gop: int = 30,
    start: float = 0.0,
    variable: bool = False,
    rotate: int = 0,
    figures: Sequence[Figure] = (),
) -> Clip:
    """Encode `frames` frames at `fps` (H.264 in MP4 by default: what volunteers' browsers play everywhere).

    `codec` picks another encoder (the container follows the file's suffix),
    `start` shifts the stream's first timestamp to that many seconds, `variable`
    makes every third frame last twice as long (a variable frame rate, as
    cameras that drop frames write), and `rotate` stores a display rotation
    (degrees clockwise) in the MP4 instead of turning the pixels; `figures`
    draws animals in the grey band of every frame.
    """
    rate = f"{fps.numerator}/{fps.denominator}"
    command = ["ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{width}x{height}", "-r", rate, "-i", "-"]
    if variable:
        # Frame n lasts one tick, except each third frame, which lasts two: n + floor(n / 3) ticks in.
        command += ["-vf", f"setpts=(N+floor(N/3))/({rate})/TB", "-fps_mode", "passthrough", "-video_track_timescale", "90000"]
    command += [*CODECS[codec], "-g", str(gop)]
    if start:
        command += ["-output_ts_offset", str(start)]
    if path.suffix == ".mp4":
        command += ["-movflags", "+faststart"]
    data = b"".join(_frame(i, width, height, figures) for i in range(frames))
    encoded = path.with_name(f"unrotated-{path.name}") if rotate else path
    subprocess.run([*command, str(encoded)], input=data, check=True, capture_output=True)
    if rotate:
        _rotate(encoded, path, rotate)
        encoded.unlink()
    return Clip(path=path, fps=fps, frames=frames, width=width, height=height)


def _rotate(source: Path, target: Path, clockwise: int) -> None:
    """Copy the stream into `target` with a display matrix turning it `clockwise` degrees.

    Debian's ffmpeg 5.1 no longer writes the `rotate` tag and has no
    `-display_rotation` yet (6.0), so the matrix is set through PyAV's muxer.
    """
    with av.open(str(source)) as reader, av.open(str(target), "w") as writer:
        stream = reader.streams.video[0]
        out = writer.add_stream_from_template(stream)
        out.set_display_rotation(-clockwise)  # PyAV takes counter-clockwise degrees.
        for packet in reader.demux(stream):
            if packet.dts is None:
                continue
            packet.stream = out
            writer.mux(packet)


#: The media tests' clip set: small enough to make in a blink, big enough for the index code to survive lossy codecs.
SMALL_WIDTH, SMALL_HEIGHT, SMALL_FRAMES = 64, 48, 40


def make_clip_set(folder: Path) -> Path:
    """Every kind of clip labs record, in `folder` (HEVC and VP9 only where this ffmpeg can write them).

    vfr.mp4 (every third frame lasts twice as long), start10.mp4 (its stream
    starts at 10 s), mjpeg.avi, hevc.mp4, ffv1.mkv, ntsc.mp4 (29.97 fps),
    rotated.mp4 (turned 90° clockwise on display), vp9.webm; beside them
    broken.mp4 (not a video) and sound.m4a (no video stream).
    """
    folder.mkdir(parents=True, exist_ok=True)
    size = {"width": SMALL_WIDTH, "height": SMALL_HEIGHT}
    frames = SMALL_FRAMES
    make_clip(folder / "vfr.mp4", Fraction(30), frames, variable=True, **size)
    make_clip(folder / "start10.mp4", Fraction(30), frames, start=10.0, **size)
    make_clip(folder / "mjpeg.avi", Fraction(25), frames, codec="mjpeg", **size)
    if encoder_available("hevc"):
        make_clip(folder / "hevc.mp4", Fraction(25), frames, codec="hevc", **size)
    make_clip(folder / "ffv1.mkv", Fraction(25), frames, codec="ffv1", **size)
    make_clip(folder / "ntsc.mp4", Fraction(30000, 1001), frames, gop=12, **size)
    make_clip(folder / "rotated.mp4", Fraction(30), frames, rotate=90, **size)
    if encoder_available("vp9"):
        make_clip(folder / "vp9.webm", Fraction(30), frames, codec="vp9", **size)
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video")
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=duration=0.2", str(folder / "sound.m4a")],
        check=True, capture_output=True,
    )
    return folder
