"""The frames behind `GET /api/frames/{video}/{index}`: the exact frame as an image, decoded by the receiver.

For what a browser cannot play (MJPEG, FFV1, HEVC) or cannot seek exactly,
the page labels this image instead of the video; the submission is the same.
The endpoint is in `receiver.web.frame_api`. `{video}` is the video's id (16 hex digits of its URL's SHA-256, which a
video's `frame_url` carries), `{index}` the frame's place in the video's frame
table. Frames are decoded with `receiver.media.read_frames` in the thread
pool, never on the event loop, and kept in a `FrameCache` on disk;
`FrameImages.prefetch` decodes the frames next-frame hands out in the
background, so the page's request finds them ready.

Only videos the receiver can decode are answered: a file it serves from
RECEIVER_VIDEO_DIR, or a URL that `receiver videos add` probed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
from starlette.concurrency import run_in_threadpool

from receiver.media import FrameError, Probe, ProbeError, encode_image, probe, read_frames
from receiver.volunteers.frame_cache import FrameCache
from receiver.volunteers.videos import Video

__all__ = ["FrameImages", "DEFAULT_FORMAT"]

log = logging.getLogger("receiver.frames")

DEFAULT_FORMAT = "jpeg"
#: Prefetch runs at most this many decodes at once, leaving the thread pool to the requests being answered.
_PREFETCHING = 2
#: Prefetch requests waiting beyond this many are dropped: the frames are decoded when asked for instead.
_MOST_WAITING = 64

#: Longest a request waits for a prefetch decoding its frame before decoding it itself.
_WAIT_SECONDS = 60.0

Reader = Callable[..., Iterator[tuple[int, npt.NDArray[np.uint8]]]]
#: A frame image: video id, index, format.
_Key = tuple[str, int, str]


class FrameImages:
    """The decodable videos' frames as images: from the cache, or decoded, encoded and kept there."""

    def __init__(
        self,
        videos: Iterable[Video],
        *,
        video_dir: Path | None,
        cache: FrameCache,
        read: Reader = read_frames,
        inspect: Callable[[str | os.PathLike[str]], Probe] = probe,
    ) -> None:
        self.videos = {video.id: video for video in videos if video.decodable}
        self.video_dir = video_dir
        self.cache = cache
        self._read = read
        self._inspect = inspect
        self._probes: dict[str, Probe] = {}
        self._lock = threading.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        #: Frames being decoded now, each with the event set once it is kept (or its decode failed).
        self._decoding: dict[_Key, threading.Event] = {}
        self._prefetching: asyncio.Semaphore | None = None

    def video(self, video_id: str) -> Video | None:
        return self.videos.get(video_id)

    def _source(self, video: Video) -> str | Path:
        if video.path is not None:
            if self.video_dir is None:
                raise FrameError("the receiver has no RECEIVER_VIDEO_DIR to read this video from")
            return self.video_dir / video.path
        return video.url

    def _probe(self, video: Video) -> Probe:
        """The frame table read_frames numbers by: a local file's own probe (kept), a probed URL's from its entry.

        A URL's entry is trusted rather than probed again, which would download the whole video.
        """
        with self._lock:
            known = self._probes.get(video.id)
        if known is not None:
            return known
        if video.path is None and video.times is not None:
            found = Probe(
                frames=video.frames, times=video.times, start=video.start or 0.0, fps=video.fps, constant_rate=bool(video.constant_rate),
                width=video.width, height=video.height, rotation=video.rotation or 0, codec=video.codec or "", container=video.container or "",
                playable=bool(video.playable),
            )
        else:
            try:
                found = self._inspect(self._source(video))
            except ProbeError as exc:
                raise FrameError(str(exc)) from exc
        with self._lock:
            self._probes[video.id] = found
        return found

    def image(self, video: Video, index: int, format: str = DEFAULT_FORMAT) -> bytes:
        """Frame `index` as an image: from the cache, or decoded now (blocking: call it in a thread).

        When a prefetch is decoding this very frame (the page asks for it right
        after next-frame handed it out), this waits for that decode instead of
        running a second one beside it.
        """
        kept = self.cache.get(video.id, index, format)
        if kept is not None:
            return kept
        key = (video.id, index, format)
        (mine,) = self._claim([key]) or [None]
        if mine is None:
            self._wait(key)
            kept = self.cache.get(video.id, index, format)
            if kept is not None:
                return kept
        try:
            ((_, pixels),) = list(self._read(self._source(video), [index], probed=self._probe(video)))
            data = encode_image(pixels, format)
            self.cache.put(video.id, index, format, data)
        finally:
            if mine is not None:
                self._release([mine])
        return data

    def decode_ahead(self, video: Video, indices: Iterable[int], format: str = DEFAULT_FORMAT) -> int:
        """Decode and keep the frames not kept (nor being decoded) yet, in one pass over the video; how many were decoded."""
        missing = sorted({i for i in indices if 0 <= i < video.frames and not self.cache.has(video.id, i, format)})
        claimed = self._claim([(video.id, i, format) for i in missing])
        if not claimed:
            return 0
        done = 0
        try:
            for index, pixels in self._read(self._source(video), [i for _, i, _ in claimed], probed=self._probe(video)):
                self.cache.put(video.id, index, format, encode_image(pixels, format))
                self._release([(video.id, index, format)])
                done += 1
        finally:
            self._release(claimed)
        return done

    def _claim(self, keys: list[_Key]) -> list[_Key]:
        """Mark the frames no one is decoding as being decoded by the caller; the ones it got."""
        with self._lock:
            mine = [key for key in keys if key not in self._decoding]
            for key in mine:
                self._decoding[key] = threading.Event()
        return mine

    def _release(self, keys: list[_Key]) -> None:
        """The caller is done with these frames (kept, or failed): wake whoever waits for them."""
        with self._lock:
            done = [self._decoding.pop(key) for key in keys if key in self._decoding]
        for event in done:
            event.set()

    def _wait(self, key: _Key) -> None:
        with self._lock:
            event = self._decoding.get(key)
        if event is not None:
            event.wait(_WAIT_SECONDS)

    def prefetch(self, video: Video, indices: Iterable[int]) -> None:
        """Start decoding these frames in the background; the caller's answer does not wait for it."""
        if video.id not in self.videos or len(self._tasks) >= _MOST_WAITING:
            return
        if self._prefetching is None:
            self._prefetching = asyncio.Semaphore(_PREFETCHING)
        task = asyncio.get_running_loop().create_task(self._prefetch(video, list(indices), self._prefetching))
        # Held until done: the event loop keeps only a weak reference to a task.
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _prefetch(self, video: Video, indices: list[int], gate: asyncio.Semaphore) -> None:
        async with gate:
            try:
                await run_in_threadpool(self.decode_ahead, video, indices)
            except FrameError as exc:
                # The request for the frame will meet the same reason and answer it; here it is only noted.
                log.warning("prefetch of video %s failed: %s", video.id, exc)

    async def settle(self) -> None:
        """Wait for the prefetches under way (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
