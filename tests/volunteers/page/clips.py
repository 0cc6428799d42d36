"""The page's test clips; they live in tests/support/clips.py, shared with the media package's tests."""

from __future__ import annotations

from tests.support.clips import BITS, HEIGHT, TWO_ANIMALS, WIDTH, Clip, Figure, block_centres, decode, ffmpeg_available, make_clip

__all__ = ["Clip", "make_clip", "BITS", "WIDTH", "HEIGHT", "block_centres", "decode", "ffmpeg_available", "Figure", "TWO_ANIMALS"]
