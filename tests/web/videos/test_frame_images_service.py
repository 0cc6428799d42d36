"""`FrameImages`: a frame is decoded once, then read from the cache; prefetch decodes in one pass, off the event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from receiver.media import Probe
from receiver.volunteers.frame_cache import FrameCache
from receiver.volunteers.videos import Video
from receiver.web.frame_images import FrameImages

VIDEO = Video("http://127.0.0.1:8000/videos/a.mp4", 25.0, 10, 8, 6, path="a.mp4", decode=True)
PROBE = Probe(frames=10, times=tuple(i / 25 for i in range(10)), start=0.0, fps=25.0, constant_rate=True, width=8, height=6,
              rotation=0, codec="mjpeg", container="avi", playable=False)


class CountingReader:
    """Stands in for read_frames: records each call's indices and hands out grey frames."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []

    def __call__(self, source: Any, indices: Iterable[int], *, probed: Probe | None = None) -> Iterator[tuple[int, npt.NDArray[np.uint8]]]:
        wanted = sorted(set(indices))
        self.calls.append(wanted)
        for index in wanted:
            yield index, np.full((6, 8, 3), index * 20, dtype=np.uint8)


def images(tmp_path: Path, reader: CountingReader) -> FrameImages:
    return FrameImages([VIDEO], video_dir=tmp_path, cache=FrameCache(tmp_path / "cache", 10**6), read=reader, inspect=lambda _: PROBE)


def test_a_frame_is_decoded_once(tmp_path: Path) -> None:
    """The second request for a frame is the cache's."""
    reader = CountingReader()
    frames = images(tmp_path, reader)
    first = frames.image(VIDEO, 4, "png")
    assert frames.image(VIDEO, 4, "png") == first
    assert reader.calls == [[4]]


def test_decode_ahead_is_one_pass_over_the_missing_frames(tmp_path: Path) -> None:
    """Frames already kept are not decoded again; the rest in one call, past-the-end ones left out."""
    reader = CountingReader()
    frames = images(tmp_path, reader)
    frames.image(VIDEO, 2, "jpeg")
    assert frames.decode_ahead(VIDEO, [7, 2, 5, 99]) == 2
    assert reader.calls == [[2], [5, 7]]


def test_prefetch_runs_in_the_background(tmp_path: Path) -> None:
    """prefetch returns at once; the frames are in the cache once the background work settles."""
    reader = CountingReader()
    frames = images(tmp_path, reader)

    async def scenario() -> list[list[int]]:
        frames.prefetch(VIDEO, [1, 3])
        before = list(reader.calls)
        await frames.settle()
        return before

    assert asyncio.run(scenario()) == []
    assert reader.calls == [[1, 3]]
    assert frames.cache.has(VIDEO.id, 1, "jpeg") and frames.cache.has(VIDEO.id, 3, "jpeg")


def test_only_decodable_videos_are_known(tmp_path: Path) -> None:
    """A hand-written entry on another host has no frames here."""
    other = Video("https://videos.example.org/b.mp4", 30.0, 10, 8, 6)
    frames = FrameImages([VIDEO, other], video_dir=tmp_path, cache=FrameCache(tmp_path / "c", 1000))
    assert frames.video(VIDEO.id) == VIDEO and frames.video(other.id) is None


class MissSignallingCache(FrameCache):
    """A frame cache that says when a read missed."""

    def __init__(self, folder: Path, limit_bytes: int) -> None:
        super().__init__(folder, limit_bytes)
        self.missed = threading.Event()

    def get(self, video: str, index: int, format: str) -> bytes | None:
        found = super().get(video, index, format)
        if found is None:
            self.missed.set()
        return found


def test_a_request_waits_for_the_prefetch_decoding_its_frame(tmp_path: Path) -> None:
    """The page's request for a frame being decoded ahead gets that decode's image; the frame is decoded once."""
    started, gate = threading.Event(), threading.Event()
    calls: list[list[int]] = []

    def slow_reader(source: Any, indices: Iterable[int], *, probed: Probe | None = None) -> Iterator[tuple[int, npt.NDArray[np.uint8]]]:
        wanted = sorted(indices)
        calls.append(wanted)
        started.set()
        gate.wait(30)
        for index in wanted:
            yield index, np.full((6, 8, 3), index * 20, dtype=np.uint8)

    cache = MissSignallingCache(tmp_path / "cache", 10**6)
    frames = FrameImages([VIDEO], video_dir=tmp_path, cache=cache, read=slow_reader, inspect=lambda _: PROBE)
    ahead = threading.Thread(target=frames.decode_ahead, args=(VIDEO, [2, 4]))
    ahead.start()
    assert started.wait(30)
    answers: list[bytes] = []
    asking = threading.Thread(target=lambda: answers.append(frames.image(VIDEO, 4, "jpeg")))
    asking.start()
    # The request has found the frame missing from the cache before the prefetch may finish it.
    assert cache.missed.wait(30)
    gate.set()
    ahead.join(30)
    asking.join(30)
    assert calls == [[2, 4]]
    assert answers == [frames.cache.get(VIDEO.id, 4, "jpeg")]
