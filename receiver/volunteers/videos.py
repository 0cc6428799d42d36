"""The videos volunteers label: read from the file `RECEIVER_VIDEOS` names, checked whole before the receiver starts.

The file is JSON (a list of objects) or TOML (`[[videos]]` tables); each entry
has the keys `url`, `fps`, `frames`, `width` and `height`, and may say how
many animals its frames hold (`animals`, default 1) and name their tracks
(`tracks`, identities kept across frames). Anything
else is refused with a sentence naming the file, the entry and the key, so an
operator fixes the file once instead of meeting a half-read catalog later.
This module parses; it does not fetch the videos or look at their frames.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from receiver.contract.validation import Allowance

__all__ = ["Video", "VideoError", "KEYS", "load_videos", "parse_videos", "video_allowances"]

#: The keys of one entry, in the order error messages list them.
KEYS = ("url", "fps", "frames", "width", "height")
#: Keys an entry may leave out: how many animals a frame holds (default 1) and the names of their tracks (default none).
ANIMAL_KEYS = ("animals", "tracks")
_MOST_ANIMALS = 16  # the submission schema's bound on instances
_TRACK = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

_WHITESPACE = re.compile(r"[\s\x00-\x1f\x7f]")
_LONGEST_URL = 2048


class VideoError(ValueError):
    """A videos file that cannot be used; the message names the file, the entry and the key."""


@dataclass(frozen=True)
class Video:
    """One configured video: where the page loads it from and the geometry every label of it shares."""

    url: str
    fps: float
    frames: int
    width: int
    height: int
    #: How many animals one frame may hold; more than 1 lets submissions send `instances`.
    animals: int = 1
    #: The identities the animals may be given (`track` of an instance), each at most once per frame.
    tracks: tuple[str, ...] = ()

    def public(self) -> dict[str, Any]:
        """The video as the API shows it."""
        shown: dict[str, Any] = {"url": self.url, "fps": self.fps, "frames": self.frames, "width": self.width, "height": self.height}
        # Only when set, so single-animal videos answer exactly as before.
        if self.animals != 1:
            shown["animals"] = self.animals
        if self.tracks:
            shown["tracks"] = list(self.tracks)
        return shown


def video_allowances(videos: Iterable[Video]) -> dict[str, Allowance]:
    """What each video's frames may hold, by URL, for the validator (which cannot read this file itself)."""
    return {video.url: Allowance(video.animals, video.tracks) for video in videos if video.animals != 1 or video.tracks}


def load_videos(path: Path) -> tuple[Video, ...]:
    """Read and check a videos file (`.toml` is TOML; anything else is read as JSON)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise VideoError(f"the videos file {path.name} cannot be read ({exc.__class__.__name__})") from exc
    if path.suffix.lower() == ".toml":
        try:
            table = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise VideoError(f"the videos file {path.name} is not valid TOML: {exc}") from exc
        unknown = sorted(set(table) - {"videos"})
        if unknown:
            raise VideoError(f"the videos file {path.name} holds {', '.join(unknown)}; it should hold only [[videos]] tables")
        entries: Any = table.get("videos", [])
    else:
        try:
            entries = json.loads(text, parse_constant=_no_constant)
        except (json.JSONDecodeError, ValueError) as exc:
            raise VideoError(f"the videos file {path.name} is not valid JSON: {exc}") from exc
    return parse_videos(entries, source=path.name)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def parse_videos(entries: Any, *, source: str) -> tuple[Video, ...]:
    """Check a list of entries (already decoded) into videos; `source` names them in messages."""
    if not isinstance(entries, list):
        raise VideoError(f"the videos file {source} must hold a list of videos, each with {', '.join(KEYS)}")
    if not entries:
        raise VideoError(f"the videos file {source} lists no videos; list at least one, or leave RECEIVER_VIDEOS unset")
    videos: list[Video] = []
    seen: dict[str, int] = {}
    for number, entry in enumerate(entries, start=1):
        video = _video(entry, f"the videos file {source}, entry {number}")
        if video.url in seen:
            raise VideoError(f"the videos file {source}, entry {number}: key url repeats entry {seen[video.url]}'s; list each video once")
        seen[video.url] = number
        videos.append(video)
    return tuple(videos)


def _video(entry: Any, where: str) -> Video:
    if not isinstance(entry, Mapping):
        raise VideoError(f"{where} must be an object with the keys {', '.join(KEYS)}")
    unknown = sorted(str(key) for key in entry if key not in KEYS and key not in ANIMAL_KEYS)
    if unknown:
        raise VideoError(f"{where}: unknown key {unknown[0]}; an entry has only {', '.join(KEYS + ANIMAL_KEYS)}")
    missing = [key for key in KEYS if key not in entry]
    if missing:
        raise VideoError(f"{where}: key {missing[0]} is missing; an entry needs {', '.join(KEYS)}")
    return Video(
        url=_url(entry["url"], where),
        fps=_fps(entry["fps"], where),
        frames=_count(entry["frames"], where, "frames"),
        width=_count(entry["width"], where, "width"),
        height=_count(entry["height"], where, "height"),
        **_animals(entry, where),
    )


def _animals(entry: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The optional `animals` and `tracks` of an entry, checked: a count from 1 to 16, distinct track names it can hold."""
    found: dict[str, Any] = {}
    if "animals" in entry:
        value = entry["animals"]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MOST_ANIMALS:
            raise VideoError(f"{where}: key animals must be a whole number of animals per frame, from 1 to {_MOST_ANIMALS}")
        found["animals"] = value
    if "tracks" in entry:
        tracks = entry["tracks"]
        if not isinstance(tracks, list) or not all(isinstance(t, str) and _TRACK.fullmatch(t) for t in tracks):
            raise VideoError(f"{where}: key tracks must be a list of names of letters, digits, '.', '_' or '-', like [\"mouse_1\", \"mouse_2\"]")
        if len(set(tracks)) != len(tracks):
            raise VideoError(f"{where}: key tracks names a track twice; name each animal's track once")
        found["tracks"] = tuple(tracks)
    return found


def _url(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise VideoError(f"{where}: key url must be a string, an http(s) address of the video")
    parts = urlsplit(value)
    if _WHITESPACE.search(value) or len(value) > _LONGEST_URL or parts.scheme not in ("http", "https") or not parts.netloc:
        raise VideoError(f"{where}: key url must be an http(s) address without spaces, at most {_LONGEST_URL} characters")
    return value


def _fps(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise VideoError(f"{where}: key fps must be a positive number of frames per second")
    return float(value)


def _count(value: Any, where: str, key: str) -> int:
    what = "frames in the video" if key == "frames" else "pixels"
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise VideoError(f"{where}: key {key} must be a positive whole number of {what}")
    return value
