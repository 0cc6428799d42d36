"""The pixels of the labeled frames: found on disk, decoded exactly, written as images, handed to sleap-io.

Training data is worthless without the frames it was labeled on, and a frame
is only the right one if its index means what the page meant: its position in
presentation order. `receiver.media.frames.read_frames` decodes by that
definition (variable rates, late starts and edit lists included), so every
frame exported here comes from it, never from sleap-io's own video readers
(which seek by time computed from a rate).

- `locate` maps each video URL to a local file (the URL itself when it is a
  path, else a file of the same name in one of the folders given);
- `extract` decodes the labeled frames of each video and writes each as a PNG
  at the path the format chose for it;
- `attach` makes sleap-io read those PNGs when a writer asks a `Video` for
  frame `i` (`FrameFiles`), so its embedding and Ultralytics writers store
  exactly those pixels;
- `reference` points each `Video` at its file for a format that names the
  source videos instead of holding frames (NWB).

It never fetches a URL: a video that is not on this machine is an error that
names it and says where to put it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from receiver.export.extra import require

if TYPE_CHECKING:
    import sleap_io

__all__ = ["FrameFiles", "VideoError", "attach", "extract", "folder_names", "locate", "reference", "wanted"]


class VideoError(ValueError):
    """A video whose frames cannot be exported; the message names it and says what to do."""


def _file_name(url: str) -> str:
    """The last segment of a URL's or a path's path, unquoted: what the video file is called on disk."""
    parsed = urlparse(url)
    path = parsed.path if parsed.scheme in ("http", "https", "file") else url
    return PurePosixPath(unquote(path)).name


def locate(urls: Iterable[str], folders: Sequence[Path]) -> dict[str, Path]:
    """Each video's local file: the URL itself when it names an existing file, else its file name in a folder.

    Raises `VideoError` naming every video that was not found.
    """
    found: dict[str, Path] = {}
    missing: list[str] = []
    for url in urls:
        parsed = urlparse(url)
        direct = Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(url)
        if parsed.scheme in ("", "file") and direct.is_file():
            found[url] = direct
            continue
        name = _file_name(url)
        hits = [folder / name for folder in folders if name and (folder / name).is_file()]
        if hits:
            found[url] = hits[0]
        else:
            missing.append(url)
    if missing:
        where = ", ".join(str(f) for f in folders) if folders else "no --videos folder was given"
        names = "; ".join(f"{url} (looked for {_file_name(url) or 'a file name'})" for url in missing)
        raise VideoError(
            f"the frames of {len(missing)} video(s) cannot be exported, no local file found: {names}; searched: {where}. "
            "Pass the folder that holds them with --videos DIR, or --no-frames to write the labels alone"
        )
    return found


def folder_names(urls: Iterable[str]) -> dict[str, str]:
    """A folder name per video: its file name's stem, with a short hash of the URL when two videos share a stem."""
    urls = sorted(set(urls))
    stems = {url: PurePosixPath(_file_name(url)).stem or "video" for url in urls}
    counts: dict[str, int] = {}
    for stem in stems.values():
        counts[stem] = counts.get(stem, 0) + 1
    return {
        url: stem if counts[stem] == 1 else f"{stem}-{hashlib.sha256(url.encode()).hexdigest()[:8]}"
        for url, stem in stems.items()
    }


def wanted(labels: sleap_io.Labels) -> dict[str, list[int]]:
    """The frame indices each video's labeled frames name, ascending."""
    indices: dict[str, set[int]] = {}
    for frame in labels.labeled_frames:
        indices.setdefault(str(frame.video.filename), set()).add(int(frame.frame_idx))
    return {url: sorted(found) for url, found in indices.items()}


def extract(
    frames: Mapping[str, Sequence[int]],
    files: Mapping[str, Path],
    destination: Callable[[str, int], Path],
) -> dict[tuple[str, int], Path]:
    """Decode the named frames of each video and write each as a PNG at `destination(url, index)`.

    Every requested index is written once, or `VideoError` says which video
    could not be read, or which index lies past its end.
    """
    from receiver.media.frames import FrameError, encode_image, read_frames

    written: dict[tuple[str, int], Path] = {}
    for url, indices in frames.items():
        path = files[url]
        seen: set[int] = set()
        try:
            for index, pixels in read_frames(path, indices):
                target = destination(url, index)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(encode_image(pixels, "png"))
                written[(url, index)] = target
                seen.add(index)
        except FrameError as exc:
            raise VideoError(f"the frames of the video {url} cannot be exported from {path}: {exc}") from exc
        except OSError as exc:
            raise VideoError(f"the video {url} ({path}) cannot be read: {exc.strerror or exc}") from exc
        # read_frames promises each index once; a frame missing here would be a training image silently lost.
        past = sorted(set(indices) - seen)
        if past:
            raise VideoError(
                f"the video {url} ({path}) has no frame {', '.join(map(str, past[:5]))}"
                f"{' and more' if len(past) > 5 else ''}: the labels name frames past its end; "
                "check that the file is the video that was labeled"
            )
    return written


def attach(labels: sleap_io.Labels, images: Mapping[tuple[str, int], Path], files: Mapping[str, Path]) -> None:
    """Make every video of `labels` read its labeled frames from `images`, so sleap-io's writers store those pixels.

    The `Video` keeps its place in the labels; its file name becomes the local
    video (sleap-io treats a video whose file is missing as closed) and its
    original URL stays in ``provenance["video_urls"]``.
    """
    urls: dict[str, str] = {}
    for video in labels.videos:
        url = str(video.filename)
        mine = {index: path for (owner, index), path in images.items() if owner == url}
        shape = video.backend_metadata.get("shape")
        fps = video.backend_metadata.get("fps")
        video.replace_filename(str(files[url]), open=False)
        video.backend = FrameFiles.of(files[url], mine, shape)
        # What sleap-io writes of the video once the slp writer has closed it (it knows nothing of this backend's type).
        video.backend_metadata.update(filename=str(files[url]), shape=list(video.backend.shape), fps=fps, grayscale=False)
        # A copy of this Video (sleap-io deep-copies on some paths) drops the backend; it must then fail
        # loudly rather than reopen the file with sleap-io's reader, which can land on a neighbouring frame.
        video.open_backend = False
        urls[str(files[url])] = url
    labels.provenance["video_urls"] = urls


def _frame_files_class() -> type:
    """`FrameFiles`, defined on first use: it subclasses sleap-io's backend, which only the export extra installs."""
    attrs = require("attrs")
    video_reading = require("sleap_io.io.video_reading")
    iio = require("imageio.v3")

    @attrs.define
    class _FrameFiles(video_reading.VideoBackend):  # type: ignore[misc,name-defined]
        """A sleap-io video backend over the PNGs `extract` wrote: frame i is the image decoded from frame i, nothing else."""

        images: dict[int, str] = attrs.field(factory=dict)
        total: int = 0

        def _read_frame(self, frame_idx: int) -> Any:
            path = self.images.get(int(frame_idx))
            if path is None:
                # Only labeled frames were decoded; a writer asking for another one is a bug here, not in the video.
                raise IndexError(f"frame {frame_idx} of {self.filename} was not extracted: it is not a labeled frame")
            return iio.imread(path)

        @property
        def num_frames(self) -> int:
            return self.total

        def has_frame(self, frame_idx: int) -> bool:
            return int(frame_idx) in self.images

    return _FrameFiles


class FrameFiles:
    """Builds the sleap-io backend of `attach` (a subclass of sleap-io's `VideoBackend`, made when first needed)."""

    @staticmethod
    def of(video: Path, images: Mapping[int, Path], shape: Sequence[int] | None) -> Any:
        """The backend over `images`; its size is the decoded frames' (a rotated video's frames are as shown), its length the records'."""
        iio = require("imageio.v3")
        cls = _frame_files_class()
        backend = cls(filename=str(video), grayscale=False, images={i: str(p) for i, p in images.items()})
        first = next(iter(images.values()), None)
        height, width = iio.imread(first).shape[:2] if first is not None else (int(shape[1]), int(shape[2])) if shape else (0, 0)
        backend.total = max(int(shape[0]) if shape else 0, max(images, default=-1) + 1)
        backend._cached_shape = (backend.total, int(height), int(width), 3)
        return backend


def reference(labels: sleap_io.Labels, files: Mapping[str, Path]) -> None:
    """Point every video of `labels` at its local file through sleap-io's media backend, for formats that name videos (NWB).

    The shape and rate come from `receiver.media.probe`, so sleap-io need not
    read the video to learn them; a file that cannot be probed is a `VideoError`.
    """
    from receiver.media.probe import ProbeError, probe

    for video in labels.videos:
        url = str(video.filename)
        try:
            found = probe(files[url])
        except ProbeError as exc:
            raise VideoError(f"the video {url} cannot be referenced from {files[url]}: {exc}") from exc
        video.replace_filename(str(files[url]), open=True)
        if video.backend is None:
            raise VideoError(f"sleap-io cannot open the video {url} ({files[url]}); check the file plays")
        video.backend._cached_shape = (found.frames, found.height, found.width, 3)
        video.backend.fps = found.fps
    labels.provenance["video_urls"] = {str(files[url]): url for url in files}
