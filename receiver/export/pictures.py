"""The pictures of the consensus report's example frames, decoded from the lab's own video files.

The report (`receiver.consensus.report`) reads no video: this edge finds each
example's video on this machine (`locate`: the URL itself when it is a path,
else a file of the same name in a `--videos` folder), decodes exactly that
frame through `receiver.media.frames`, and hands the pixels over as values. A
video that is not here or cannot be decoded becomes a sentence that says so,
and the report draws that frame's points on a grey frame of its size.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from receiver.consensus.votes import FrameKey
from receiver.export.frames import VideoError, locate

if TYPE_CHECKING:
    from receiver.media.frames import Pixels

__all__ = ["example_pictures"]

_GREY = "its points are drawn on a grey frame of its size"


def example_pictures(keys: Iterable[FrameKey], folders: Sequence[Path]) -> dict[FrameKey, Pixels | str]:
    """Each frame's RGB pixels (H×W×3 uint8), or a sentence saying why its video could not be read."""
    from receiver.media.frames import FrameError, read_frames
    from receiver.media.probe import ProbeError, probe

    by_video: dict[str, list[int]] = {}
    for key in keys:
        by_video.setdefault(key.video_url, []).append(key.frame_index)
    pictures: dict[FrameKey, Pixels | str] = {}
    for url, indices in by_video.items():
        try:
            path = locate([url], folders)[url]
        except VideoError:
            name = PurePosixPath(unquote(urlparse(url).path if urlparse(url).scheme else url)).name or "its file"
            where = "the --videos folders" if folders else "no --videos folder was given"
            sentence = f"The video {url} is not on this machine ({name} not found; {where}), so {_GREY}: pass the folder that holds it with --videos DIR."
            pictures.update({FrameKey(url, index): sentence for index in indices})
            continue
        try:
            probed = probe(path)
        except ProbeError as exc:
            pictures.update({FrameKey(url, index): f"The video {path.name} cannot be read ({exc}), so {_GREY}." for index in indices})
            continue
        for index in indices:
            try:
                pictures.update({FrameKey(url, found): pixels for found, pixels in read_frames(path, [index], probed=probed)})
            except FrameError as exc:
                pictures[FrameKey(url, index)] = f"Frame {index} cannot be had from {path.name} ({exc}), so {_GREY}."
    return pictures
