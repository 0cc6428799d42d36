"""Chosen frames of a video as RGB pixels, and pixels as PNG, JPEG or WebP.

Frames are numbered as `probe` numbers them (the place of their presentation
time in the frame table), and each decoded frame is matched to that table by
its timestamp, never by counting, so a seek that lands elsewhere than asked is
noticed and corrected instead of labeling a neighbour. Many indices cost one
pass: decoding runs forward through wanted frames that share a keyframe and
seeks only when the next wanted frame lies past another keyframe.

Errors::

    ValueError
    └── FrameError   an index past the end, or a frame the decoder cannot produce
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterable, Iterator
from fractions import Fraction

import av
import av.container
import av.error
import av.video.frame
import av.video.stream
import numpy as np
import numpy.typing as npt

from receiver.media.probe import Probe, ProbeError, open_video, probe, source_name

__all__ = ["FrameError", "read_frames", "encode_image", "IMAGE_TYPES"]

#: Image formats `encode_image` writes: PyAV's encoder, the pixel format it is fed, and the media type answered.
_ENCODERS: dict[str, tuple[str, str, dict[str, str]]] = {
    "png": ("png", "rgb24", {}),
    "jpeg": ("mjpeg", "yuvj444p", {}),
    "webp": ("libwebp", "yuv420p", {"quality": "90"}),
}
IMAGE_TYPES: dict[str, str] = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
#: JPEG quality as FFmpeg's -q:v scale (2 is near the best); lambda = q × FF_QP2LAMBDA (118).
_JPEG_QUALITY = 2 * 118
#: Seeks tried for one frame, each from an earlier keyframe, before the frame is declared undecodable.
_SEEKS = 4

Pixels = npt.NDArray[np.uint8]


class FrameError(ValueError):
    """A frame that cannot be had: its index is past the end, or the decoder cannot produce it."""


def read_frames(source: str | os.PathLike[str], indices: Iterable[int], *, probed: Probe | None = None) -> Iterator[tuple[int, Pixels]]:
    """Yield `(index, pixels)` for each requested index once, ascending: RGB uint8, H×W×3, upright as displayed.

    `probed` is the video's probe when the caller has it already (it saves a
    pass over the file); otherwise the video is probed first.
    """
    wanted = sorted(set(indices))
    if not wanted:
        return
    name = source_name(source)
    try:
        info = probed or probe(source)
    except ProbeError as exc:
        raise FrameError(str(exc)) from exc
    if wanted[0] < 0 or wanted[-1] >= info.frames:
        bad = wanted[0] if wanted[0] < 0 else wanted[-1]
        raise FrameError(f"{name} has frames 0 to {info.frames - 1}; there is no frame {bad}")
    try:
        container, stream = open_video(source)
    except ProbeError as exc:
        raise FrameError(str(exc)) from exc
    with container:
        yield from _decode(container, stream, info, wanted, name)


def _decode(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, info: Probe, wanted: list[int], name: str
) -> Iterator[tuple[int, Pixels]]:
    time_base = stream.time_base or Fraction(1, 1)
    table = [round(Fraction(time) / time_base) for time in info.times]
    keyframes = list(info.keyframes) or list(range(info.frames))
    frames: Iterator[av.video.frame.VideoFrame] | None = None
    position = -1
    for target in wanted:
        key = keyframes[max(bisect.bisect_right(keyframes, target) - 1, 0)]
        if frames is None or position >= target or key > position + 1:
            frames, position = _seek(container, stream, table[key]), -1
        for _attempt in range(_SEEKS):
            found, position = _forward(frames, table, target, position, name)
            if found is not None:
                yield target, _upright(found, info.rotation)
                break
            # The seek landed past the frame (or the stream ended first): start again from an earlier keyframe.
            earlier = [k for k in keyframes if k < key]
            key = earlier[-1] if earlier else 0
            frames, position = _seek(container, stream, table[key] if earlier else None), -1
        else:
            raise FrameError(f"{name}: frame {target} cannot be decoded; the decoder never presented it")


def _seek(container: av.container.InputContainer, stream: av.video.stream.VideoStream, pts: int | None) -> Iterator[av.video.frame.VideoFrame]:
    """A fresh decoding run from the keyframe at or before `pts` (from the very start when None)."""
    try:
        if pts is None:
            container.seek(0, backward=True, any_frame=False)
        else:
            container.seek(pts, stream=stream, backward=True, any_frame=False)
    except av.error.FFmpegError:
        # Some demuxers cannot seek (a pipe, an unindexed stream); reading on from where they are is all there is.
        pass
    return iter(container.decode(stream))


def _forward(
    frames: Iterator[av.video.frame.VideoFrame], table: list[int], target: int, position: int, name: str
) -> tuple[av.video.frame.VideoFrame | None, int]:
    """Decode on until frame `target`: (that frame, its index), or (None, where decoding stopped) if it was passed or the stream ended."""
    while True:
        try:
            frame = next(frames, None)
        except av.error.FFmpegError as exc:
            raise FrameError(f"{name}: frame {target} cannot be decoded: {exc.strerror or exc.__class__.__name__}") from exc
        if frame is None:
            return None, position
        index = _index_of(frame, table)
        if index is None:
            continue
        if index == target:
            return frame, index
        if index > target:
            return None, index
        position = index


def _index_of(frame: av.video.frame.VideoFrame, table: list[int]) -> int | None:
    """The frame's place in the table, matched by timestamp (to the nearest entry, within half a frame)."""
    stamp = frame.pts if frame.pts is not None else frame.best_effort_timestamp
    if stamp is None:
        return None
    at = bisect.bisect_left(table, stamp)
    if at < len(table) and table[at] == stamp:
        return at
    candidates = [i for i in (at - 1, at) if 0 <= i < len(table)]
    best = min(candidates, key=lambda i: abs(table[i] - stamp))
    neighbour = table[best + 1] - table[best] if best + 1 < len(table) else table[best] - table[best - 1] if best > 0 else 1
    return best if abs(table[best] - stamp) * 2 < max(neighbour, 1) else None


def _upright(frame: av.video.frame.VideoFrame, rotation: int) -> Pixels:
    """RGB pixels turned as the video is displayed (`rotation` degrees clockwise)."""
    pixels: Pixels = frame.to_ndarray(format="rgb24")
    if rotation:
        pixels = np.ascontiguousarray(np.rot90(pixels, k=-(rotation // 90)))
    return pixels


def encode_image(pixels: Pixels, format: str) -> bytes:
    """Encode RGB uint8 H×W×3 pixels as a "png", "jpeg" or "webp" image, through PyAV's encoders."""
    if format not in _ENCODERS:
        raise ValueError(f"image format {format!r} is not one of {', '.join(_ENCODERS)}")
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise ValueError(f"pixels must be RGB uint8 of shape H×W×3, not {pixels.dtype} of shape {pixels.shape}")
    encoder, pixel_format, options = _ENCODERS[format]
    height, width = int(pixels.shape[0]), int(pixels.shape[1])
    context = av.CodecContext.create(encoder, "w")
    context.width, context.height = width, height
    context.pix_fmt = pixel_format
    context.time_base = Fraction(1, 25)
    context.options = dict(options)
    if format == "jpeg":
        context.qscale = True
        context.global_quality = _JPEG_QUALITY
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24").reformat(format=pixel_format)
    frame.pts = 0
    packets = [*context.encode(frame), *context.encode(None)]
    return b"".join(bytes(packet) for packet in packets)
