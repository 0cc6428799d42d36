"""`FrameCache`: images kept on disk under a size bound, the least recently used dropped first."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from receiver.volunteers.frame_cache import FrameCache

VIDEO = "0123456789abcdef"


def age(cache: FrameCache, index: int, seconds_ago: float) -> None:
    """Set an image's last use into the past (the cache orders by modification time)."""
    path = cache.folder / f"{VIDEO}-{index}.jpeg"
    stamp = path.stat().st_mtime - seconds_ago
    os.utime(path, (stamp, stamp))


def test_an_image_comes_back_as_kept(tmp_path: Path) -> None:
    cache = FrameCache(tmp_path / "frames", 10_000)
    cache.put(VIDEO, 3, "jpeg", b"image-3")
    assert cache.get(VIDEO, 3, "jpeg") == b"image-3"
    assert cache.get(VIDEO, 4, "jpeg") is None and cache.get(VIDEO, 3, "png") is None


def test_the_bound_drops_the_least_recently_used(tmp_path: Path) -> None:
    """Past the bound, the images used longest ago go first, and a read counts as a use."""
    cache = FrameCache(tmp_path / "frames", 1000)
    for index in range(3):
        cache.put(VIDEO, index, "jpeg", bytes(300))
        age(cache, index, 100 - index)
    cache.get(VIDEO, 0, "jpeg")  # 0 was the oldest; reading it makes it the newest.
    cache.put(VIDEO, 9, "jpeg", bytes(300))
    kept = sorted(int(p.stem.split("-")[1]) for p in (tmp_path / "frames").iterdir())
    assert cache.size() <= 1000
    assert kept == [0, 2, 9]


def test_the_bound_holds_across_a_new_cache_on_the_same_folder(tmp_path: Path) -> None:
    """A restarted receiver counts what the folder already holds."""
    FrameCache(tmp_path / "frames", 1000).put(VIDEO, 1, "jpeg", bytes(600))
    again = FrameCache(tmp_path / "frames", 1000)
    again.put(VIDEO, 2, "jpeg", bytes(600))
    assert again.size() <= 1000


def test_zero_keeps_nothing(tmp_path: Path) -> None:
    cache = FrameCache(tmp_path / "frames", 0)
    cache.put(VIDEO, 1, "jpeg", b"x")
    assert cache.get(VIDEO, 1, "jpeg") is None


def test_names_cannot_leave_the_folder(tmp_path: Path) -> None:
    """Only a video id of 16 hex digits names a file."""
    with pytest.raises(ValueError, match="no cached frame is named"):
        FrameCache(tmp_path, 1000).get("../../etc/passwd", 0, "jpeg")
