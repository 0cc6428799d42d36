"""What a video holds, read once: its table of frames, rate, size, rotation, codec and container.

The table is the presentation time of every frame, taken from the container's
packets (pts × time base, sorted into presentation order, the packets an edit
list discards left out), so a frame is numbered by its place in that table
whatever the rate: variable rates, streams that start late and edit lists are
numbered as a decoder shows them. Reading the table demultiplexes the whole
file once but decodes only until its first frame (to prove the codec decodes
and to read the rotation), which keeps a probe far cheaper than a decode.

Errors::

    ValueError
    └── ProbeError   the file cannot be opened or decoded; the message carries the decoder's reason
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import av
import av.container
import av.error
import av.video.frame
import av.video.stream

__all__ = ["Probe", "ProbeError", "probe", "source_name", "open_video", "PLAYABLE"]

#: Seconds a remote video may take to open, and to answer each read, before its probe gives up.
_NETWORK_TIMEOUT = (30.0, 30.0)

#: What volunteers' browsers play, by container family: codecs Chrome, Firefox and Safari all decode in software.
#: HEVC is left out: Chrome decodes it only through a platform hardware decoder (none in Debian's Chromium),
#: Firefox not at all on most systems, so an HEVC video is served as decoded frames rather than risked.
PLAYABLE: dict[str, frozenset[str]] = {
    "mp4": frozenset({"h264", "vp9", "av1"}),
    "webm": frozenset({"vp8", "vp9", "av1"}),
}
#: 8-bit 4:2:0 is the only H.264 sampling every browser decodes (High 10 and 4:2:2/4:4:4 profiles are not).
_PLAYABLE_H264_PIXELS = frozenset({"yuv420p", "yuvj420p"})


class ProbeError(ValueError):
    """A video that cannot be opened or decoded; the message names it and gives the decoder's reason."""


@dataclass(frozen=True)
class Probe:
    """What one video holds, as a decoder presents it.

    `times` are the presentation times (seconds) of every frame in presentation
    order, so frame i is `times[i]`; `width` and `height` are as displayed
    (after `rotation`, degrees clockwise); `keyframes` are the indices a decoder
    can start from, which lets `read_frames` seek rather than decode from the start.
    """

    frames: int
    times: tuple[float, ...]
    start: float
    fps: float
    constant_rate: bool
    width: int
    height: int
    rotation: int
    codec: str
    container: str
    playable: bool
    keyframes: tuple[int, ...] = ()


def source_name(source: str | os.PathLike[str]) -> str:
    """How messages name a video: a URL as given, a file by its name only (no server paths in messages)."""
    text = os.fspath(source)
    return text if urlsplit(text).scheme in ("http", "https") else PurePosixPath(text.replace(os.sep, "/")).name


def open_video(source: str | os.PathLike[str]) -> tuple[av.container.InputContainer, av.video.stream.VideoStream]:
    """Open `source` and its first video stream, or raise ProbeError with the decoder's reason."""
    text = os.fspath(source)
    remote = urlsplit(text).scheme in ("http", "https")
    try:
        container = av.open(text, mode="r", timeout=_NETWORK_TIMEOUT if remote else None)
    except av.error.FFmpegError as exc:
        raise ProbeError(f"{source_name(source)} cannot be opened as a video: {_reason(exc)}") from exc
    except OSError as exc:
        raise ProbeError(f"{source_name(source)} cannot be opened as a video: {exc.strerror or exc.__class__.__name__}") from exc
    if not container.streams.video:
        container.close()
        raise ProbeError(f"{source_name(source)} holds no video stream; give a file with a video track")
    return container, container.streams.video[0]


def _reason(exc: av.error.FFmpegError) -> str:
    """The decoder's sentence without the path FFmpeg appends to it."""
    return str(exc.strerror or exc.__class__.__name__)


def probe(source: str | os.PathLike[str]) -> Probe:
    """Read a video's frame table and properties in one pass over its packets, decoding only until its first frame."""
    name = source_name(source)
    container, stream = open_video(source)
    with container:
        pts, keys, first = _packet_table(container, stream, name)
        rotation = (-int(first.rotation or 0)) % 360
        time_base = stream.time_base or Fraction(1, 1)
        times = tuple(float(value * time_base) for value in pts)
        context = stream.codec_context
        width, height = int(context.width or first.width), int(context.height or first.height)
        if rotation in (90, 270):
            width, height = height, width
        codec = context.codec.canonical_name
        family = _container_name(container, os.fspath(source))
        pixels = context.format.name if context.format is not None else ""
        start = float(stream.start_time * time_base) if stream.start_time is not None else times[0]
        return Probe(
            frames=len(times),
            times=times,
            start=start,
            fps=_fps(stream, times),
            constant_rate=_constant(pts, time_base),
            width=width,
            height=height,
            rotation=rotation,
            codec=codec,
            container=family,
            playable=_playable(codec, family, pixels),
            keyframes=keys,
        )


def _packet_table(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, name: str
) -> tuple[tuple[int, ...], tuple[int, ...], av.video.frame.VideoFrame]:
    """Every frame's pts in presentation order, the indices of keyframes, and the first decoded frame.

    Packets are decoded only until the first frame comes out (which proves the
    codec decodes and carries the rotation); the rest are only counted.
    """
    stamps: list[tuple[int, bool]] = []
    first: av.video.frame.VideoFrame | None = None
    try:
        for packet in container.demux(stream):
            if first is None:
                decoded = packet.decode()
                first = next((frame for frame in decoded if isinstance(frame, av.video.frame.VideoFrame)), None)
            if not packet.size or packet.is_discard:
                continue
            stamp = packet.pts if packet.pts is not None else packet.dts
            if stamp is not None:
                stamps.append((stamp, packet.is_keyframe))
    except av.error.FFmpegError as exc:
        what = "read to its end" if first is not None else "decoded"
        raise ProbeError(f"{name} cannot be {what}: {_reason(exc)}") from exc
    if first is None:
        raise ProbeError(f"{name} cannot be decoded: its video stream yields no frame")
    if not stamps:
        raise ProbeError(f"{name} cannot be decoded: its video stream has no timed frames")
    stamps.sort()
    return tuple(stamp for stamp, _ in stamps), tuple(i for i, (_, key) in enumerate(stamps) if key), first


def _fps(stream: av.video.stream.VideoStream, times: tuple[float, ...]) -> float:
    if stream.average_rate:
        return float(stream.average_rate)
    if len(times) > 1 and times[-1] > times[0]:
        return (len(times) - 1) / (times[-1] - times[0])
    return float(stream.guessed_rate or 0.0)


def _constant(pts: tuple[int, ...], time_base: Fraction) -> bool:
    """Whether every frame lasts as long as the next, to a tick of the time base or a millisecond (Matroska's tick)."""
    steps = [later - earlier for earlier, later in itertools.pairwise(pts)]
    if not steps:
        return True
    return float((max(steps) - min(steps)) * time_base) <= max(float(time_base), 0.001) + 1e-9


def _container_name(container: av.container.InputContainer, source: str) -> str:
    """The demuxer's name for this file: the one its suffix names when the demuxer has several (mov,mp4,… for .mp4 is mp4)."""
    names = container.format.name.split(",")
    suffix = PurePosixPath(urlsplit(source).path if "://" in source else source).suffix.lstrip(".").lower()
    return suffix if suffix in names else names[0]


def _playable(codec: str, container: str, pixels: str) -> bool:
    family = "mp4" if container in ("mp4", "mov", "m4v") else "webm" if container in ("webm", "matroska") else container
    if codec == "h264" and pixels not in _PLAYABLE_H264_PIXELS:
        return False
    return codec in PLAYABLE.get(family, frozenset())
