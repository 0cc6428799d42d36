"""Decoded frames kept on disk, bounded in size, the least recently used dropped first.

Decoding a frame costs a seek and a run of decoding; a frame handed out to
several volunteers (and prefetched before any asks) is decoded once. Each image
is a file named for its video, index and format, written whole through a
temporary file renamed into place, so processes sharing the folder never read
half an image. A hit touches the file's modification time, which is the
recency eviction sorts by (access times are often not kept by the file system).
The size is counted in memory and checked against the folder when it passes
the bound, so several processes sharing it stay near the bound, not at it exactly.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from pathlib import Path

__all__ = ["FrameCache"]

_KEY = re.compile(r"[0-9a-f]{16}")
#: After an eviction the folder holds at most this share of the bound, so eviction does not run at every write.
_LOW_WATER = 0.9


class FrameCache:
    """Images of frames under `folder`, at most `limit_bytes` of them (0 keeps nothing)."""

    def __init__(self, folder: Path, limit_bytes: int) -> None:
        self.folder = folder
        self.limit_bytes = limit_bytes
        self._lock = threading.Lock()
        self._size: int | None = None

    def _path(self, video: str, index: int, format: str) -> Path:
        if not _KEY.fullmatch(video) or index < 0 or not format.isalpha():
            raise ValueError(f"no cached frame is named by video {video!r}, index {index}, format {format!r}")
        return self.folder / f"{video}-{index}.{format}"

    def get(self, video: str, index: int, format: str) -> bytes | None:
        """The image, if kept; reading it makes it the most recently used."""
        path = self._path(video, index, format)
        try:
            data = path.read_bytes()
            os.utime(path)
        except FileNotFoundError:
            return None
        return data

    def has(self, video: str, index: int, format: str) -> bool:
        return self._path(video, index, format).is_file()

    def put(self, video: str, index: int, format: str, data: bytes) -> None:
        """Keep the image, then drop the least recently used images while the folder holds more than the bound."""
        if self.limit_bytes <= 0 or len(data) > self.limit_bytes:
            return
        path = self._path(video, index, format)
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".part-", dir=self.folder)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        with self._lock:
            if self._size is None:
                self._size = self._measure()
            else:
                self._size += len(data)
            if self._size > self.limit_bytes:
                self._size = self._evict()

    def _files(self) -> list[tuple[float, int, Path]]:
        found = []
        for entry in os.scandir(self.folder):
            if entry.name.startswith(".") or not entry.is_file():
                continue
            try:
                stat = entry.stat()
            except FileNotFoundError:  # Another process evicted it meanwhile.
                continue
            found.append((stat.st_mtime, stat.st_size, Path(entry.path)))
        return found

    def _measure(self) -> int:
        return sum(size for _, size, _ in self._files())

    def _evict(self) -> int:
        """Remove the oldest images until the folder holds at most the low-water mark; the size left."""
        files = sorted(self._files())
        total = sum(size for _, size, _ in files)
        target = int(self.limit_bytes * _LOW_WATER)
        for _, size, path in files:
            if total <= target:
                break
            path.unlink(missing_ok=True)
            total -= size
        return total

    def size(self) -> int:
        """Bytes the folder holds now."""
        return self._measure() if self.folder.is_dir() else 0
