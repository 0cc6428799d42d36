"""Test clips whose every frame carries its own index in its pixels.

The index is written as a binary code of bright and dark blocks across the
top of the frame, big enough to survive lossy compression; the bottom band is
plain grey, where tests click keypoints so that markers never cover a block.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

__all__ = ["Clip", "make_clip", "BITS", "WIDTH", "HEIGHT", "block_centres", "decode", "ffmpeg_available"]

WIDTH, HEIGHT = 320, 240
COLUMNS, ROWS = 6, 2
BITS = COLUMNS * ROWS
_CODE_HEIGHT = 160
_BRIGHT, _DARK, _GREY = 235, 20, 128


@dataclass(frozen=True)
class Clip:
    path: Path
    fps: Fraction
    frames: int
    width: int = WIDTH
    height: int = HEIGHT


def ffmpeg_available() -> bool:
    return shutil.which("ffmpeg") is not None


def block_centres() -> list[tuple[int, int]]:
    """Pixel centre of each bit's block, most significant bit first."""
    width, height = WIDTH // COLUMNS, _CODE_HEIGHT // ROWS
    return [(c * width + width // 2, r * height + height // 2) for r in range(ROWS) for c in range(COLUMNS)]


def decode(levels: list[int]) -> int:
    """The index from the brightness sampled at each block centre."""
    value = 0
    for level in levels:
        value = value * 2 + (1 if level > 128 else 0)
    return value


def _frame(index: int) -> bytes:
    image = np.full((HEIGHT, WIDTH), _GREY, dtype=np.uint8)
    width, height = WIDTH // COLUMNS, _CODE_HEIGHT // ROWS
    for bit in range(BITS):
        on = (index >> (BITS - 1 - bit)) & 1
        row, column = divmod(bit, COLUMNS)
        image[row * height : (row + 1) * height, column * width : (column + 1) * width] = _BRIGHT if on else _DARK
    return image.tobytes()


def make_clip(path: Path, fps: Fraction, frames: int) -> Clip:
    """Encode `frames` frames at `fps` as H.264 in MP4 (what volunteers' browsers play everywhere)."""
    command = [
        "ffmpeg", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{WIDTH}x{HEIGHT}", "-r", f"{fps.numerator}/{fps.denominator}", "-i", "-",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-g", "30", "-pix_fmt", "yuv420p",
        "-movflags", "+faststart", str(path),
    ]
    data = b"".join(_frame(i) for i in range(frames))
    subprocess.run(command, input=data, check=True, capture_output=True)
    return Clip(path=path, fps=fps, frames=frames)
