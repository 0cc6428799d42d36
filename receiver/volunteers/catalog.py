"""The videos file as `receiver videos add` writes it and `receiver videos list` reads it.

`add` probes each video (through `receiver.media`) and records what it found
as an entry (the keys are listed in `receiver.volunteers.videos`); a file in
RECEIVER_VIDEO_DIR becomes an entry the receiver serves at `/videos/<path>`,
a URL stays a URL. The file is rewritten whole, through a temporary file
renamed over it, so a reader never sees half of it; JSON stays JSON and TOML
TOML (comments in a hand-written TOML file are not kept). `list` says how each
video reaches the page. Deciding and rendering are functions over values; the
command itself is in `receiver.volunteers.cli`.
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from receiver.media import Probe
from receiver.volunteers.videos import SERVED_PREFIX, Video, VideoError, load_videos, parse_videos

__all__ = ["CatalogError", "Place", "is_url", "place_of", "probed_video", "read_entries", "write_entries", "merge", "how_served", "describe"]


class CatalogError(ValueError):
    """A video that cannot be added as asked (a file outside RECEIVER_VIDEO_DIR, a videos file that is not valid)."""


@dataclass(frozen=True)
class Place:
    """Where a video will be loaded from: its URL, and its path under RECEIVER_VIDEO_DIR when the receiver serves it."""

    url: str
    path: str | None = None


def is_url(source: str) -> bool:
    return urlsplit(source).scheme in ("http", "https")


def place_of(source: str, *, video_dir: Path | None, base_url: str) -> Place:
    """A URL as given; a local file as the receiver's /videos/ address of its place in `video_dir`."""
    if is_url(source):
        return Place(source)
    file = Path(source)
    if video_dir is None:
        raise CatalogError(
            f"{source} is a local file, and RECEIVER_VIDEO_DIR is not set: set it to the folder the receiver serves videos from, "
            "put the file there, and add it again (or give the video's http(s) URL)"
        )
    folder = video_dir.resolve()
    # Resolved, so a symbolic link in the folder that points outside it is outside it.
    resolved = file.resolve()
    if not resolved.is_relative_to(folder):
        raise CatalogError(f"{source} is not inside RECEIVER_VIDEO_DIR ({video_dir}); the receiver serves only that folder: move the file there")
    relative = resolved.relative_to(folder).as_posix()
    return Place(f"{base_url.rstrip('/')}{SERVED_PREFIX}{quote(relative)}", relative)


def probed_video(place: Place, found: Probe) -> Video:
    """The entry `videos add` writes for a video at `place`, from its probe."""
    return Video(
        url=place.url,
        fps=found.fps,
        frames=found.frames,
        width=found.width,
        height=found.height,
        path=place.path,
        times=found.times,
        start=found.start,
        constant_rate=found.constant_rate,
        codec=found.codec,
        container=found.container,
        rotation=found.rotation,
        playable=found.playable,
    )


def read_entries(path: Path) -> list[dict[str, Any]]:
    """The entries of an existing videos file, checked as the receiver checks them (none when the file does not exist yet or is empty)."""
    if not path.exists() or not path.read_text(encoding="utf-8", errors="replace").strip():
        return []
    try:
        # Checked by the receiver's own loader first, so what add accepts is what serve will read.
        load_videos(path)
    except VideoError as exc:
        raise CatalogError(f"{exc}; fix it before adding to it") from exc
    text = path.read_text(encoding="utf-8")
    entries: list[dict[str, Any]] = tomllib.loads(text)["videos"] if _is_toml(path) else json.loads(text)
    return [dict(entry) for entry in entries]


def merge(entries: Sequence[dict[str, Any]], videos: Iterable[Video]) -> tuple[list[dict[str, Any]], list[str]]:
    """The entries with each video added, or put in place of the entry with its URL; and for each, "added" or "updated"."""
    merged = [dict(entry) for entry in entries]
    done = []
    for video in videos:
        at = next((i for i, entry in enumerate(merged) if entry.get("url") == video.url), None)
        if at is None:
            merged.append(video.entry())
            done.append("added")
        else:
            merged[at] = video.entry()
            done.append("updated")
    return merged, done


def write_entries(path: Path, entries: Sequence[dict[str, Any]]) -> None:
    """Write the whole file at once: into a temporary file beside it, then renamed over it."""
    parse_videos(list(entries), source=path.name)
    text = _toml(entries) if _is_toml(path) else _json(entries)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _is_toml(path: Path) -> bool:
    return path.suffix.lower() == ".toml"


def _json(entries: Sequence[dict[str, Any]]) -> str:
    """One entry a line, so a person can still read and edit the file."""
    lines = ",\n".join(f"  {json.dumps(entry, allow_nan=False)}" for entry in entries)
    return f"[\n{lines}\n]\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON's escapes are TOML's basic-string escapes.
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _toml(entries: Sequence[dict[str, Any]]) -> str:
    return "\n".join("[[videos]]\n" + "".join(f"{key} = {_toml_value(value)}\n" for key, value in entry.items()) for entry in entries)


def how_served(video: Video) -> str:
    """One sentence: how the page gets this video's frames."""
    if video.path is not None:
        source = f"served by this receiver from RECEIVER_VIDEO_DIR/{video.path}"
    else:
        source = "loaded by the browser from its URL"
    if video.decode:
        why = (
            f"browsers cannot play {video.codec} in {video.container}" if video.playable is False else "RECEIVER_SERVER_FRAMES=always"
        )
        return f"{source}; the page labels frames the receiver decodes ({why})"
    if video.decodable:
        return f"{source}; the page seeks by the probed frame times, with the receiver's decoded frame when a seek cannot be confirmed"
    return f"{source}; hand-written (not probed): the page seeks by i / fps; `receiver videos add` records its frame times"


def describe(number: int, video: Video) -> str:
    """The lines `videos list` prints for one entry."""
    rate = f"{video.fps:.4g} fps" + ("" if video.constant_rate is not False else " on average (variable rate)")
    facts = [f"{video.frames} frames", rate, f"{video.width}x{video.height}"]
    if video.codec is not None:
        facts.append(f"{video.codec} in {video.container}")
    if video.rotation:
        facts.append(f"turned {video.rotation}° clockwise")
    if video.start:
        facts.append(f"starts at {video.start:g} s")
    return f"{number}. {video.url}\n   {', '.join(facts)}\n   {how_served(video)}\n"
