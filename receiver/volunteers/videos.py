"""The videos volunteers label: read from the file `RECEIVER_VIDEOS` names, checked whole before the receiver starts.

The file is JSON (a list of objects) or TOML (`[[videos]]` tables); each entry
has the keys `url`, `fps`, `frames`, `width` and `height` (a hand-written entry
has only these). `receiver videos add` writes what it probed beside them:

- `path`: the file, relative to RECEIVER_VIDEO_DIR, that the receiver serves at
  `/videos/<path>` (then `url` is that address on the receiver);
- `times`: the presentation time in seconds of every frame, in order (frame i
  is shown at `times[i]`; the page seeks by it rather than by i / fps);
- `start`: the stream's start time in seconds;
- `constant_rate`: whether every frame lasts as long (false: `fps` is an average);
- `codec`, `container`: FFmpeg's names, such as `h264` and `mp4`;
- `rotation`: degrees clockwise the video is turned when displayed (0, 90, 180, 270);
- `playable`: whether browsers play it; if not, the page labels frames the receiver decodes.

Any entry may also say how many animals its frames hold (`animals`, default
1) and name their tracks (`tracks`, identities kept across frames); the
validator is told them per URL (`video_allowances`).

Anything else is refused with a sentence naming the file, the entry and the
key, so an operator fixes the file once instead of meeting a half-read catalog
later. This module parses, and `place_videos` decides from settings which
entries the receiver serves or decodes; `verify_videos` (run by `receiver
serve`) compares entries with the files the receiver can open.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from receiver.contract.validation import Allowance

if TYPE_CHECKING:
    from receiver.media.probe import Probe

__all__ = [
    "Video", "VideoError", "KEYS", "PROBED_KEYS", "load_videos", "parse_videos", "place_videos", "verify_videos",
    "video_id", "served_file", "SERVED_PREFIX", "misaddressed_videos", "ANIMAL_KEYS", "video_allowances",
]

#: The keys of one entry, in the order error messages list them.
KEYS = ("url", "fps", "frames", "width", "height")
#: The keys `receiver videos add` writes beside them, from the probe.
PROBED_KEYS = ("path", "times", "start", "constant_rate", "codec", "container", "rotation", "playable")
#: Where the receiver serves the files of RECEIVER_VIDEO_DIR.
SERVED_PREFIX = "/videos/"
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,40}")
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
    #: The file under RECEIVER_VIDEO_DIR the receiver serves at /videos/<path>, when it serves this video.
    path: str | None = None
    #: Presentation time (seconds) of every frame, when `receiver videos add` probed the video.
    times: tuple[float, ...] | None = field(default=None, repr=False)
    start: float | None = None
    constant_rate: bool | None = None
    codec: str | None = None
    container: str | None = None
    rotation: int | None = None
    playable: bool | None = None
    #: The page labels the receiver's decoded frames instead of the video (set by `place_videos`).
    decode: bool = False
    #: How many animals one frame may hold; more than 1 lets submissions send `instances`.
    animals: int = 1
    #: The identities the animals may be given (`track` of an instance), each at most once per frame.
    tracks: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """The video's name in /api/frames: the first 16 hex digits of its URL's SHA-256."""
        return video_id(self.url)

    @property
    def decodable(self) -> bool:
        """Whether the receiver can decode its frames: a file it serves, or a URL `videos add` probed."""
        return self.path is not None or self.times is not None

    def public(self) -> dict[str, Any]:
        """The video as the API shows it: a hand-written entry's five keys, and what the probe and the receiver add."""
        shown: dict[str, Any] = {"url": self.url, "fps": self.fps, "frames": self.frames, "width": self.width, "height": self.height}
        if self.times is not None:
            shown["times"] = list(self.times)
            shown["start"] = self.start if self.start is not None else self.times[0]
        if self.decodable:
            shown["frame_url"] = f"/api/frames/{self.id}/{{index}}"
            if self.decode:
                shown["decode"] = True
        shown.update(self._animal_keys())
        return shown

    def entry(self) -> dict[str, Any]:
        """The video as its videos file holds it (what `receiver videos add` writes)."""
        written: dict[str, Any] = {"url": self.url, "fps": self.fps, "frames": self.frames, "width": self.width, "height": self.height}
        for key in PROBED_KEYS:
            value = getattr(self, key)
            if value is not None:
                written[key] = list(value) if key == "times" else value
        written.update(self._animal_keys())
        return written

    def _animal_keys(self) -> dict[str, Any]:
        """`animals` and `tracks` where they differ from one animal without tracks, so single-animal entries read as before."""
        keys: dict[str, Any] = {}
        if self.animals != 1:
            keys["animals"] = self.animals
        if self.tracks:
            keys["tracks"] = list(self.tracks)
        return keys


def video_allowances(videos: Iterable[Video]) -> dict[str, Allowance]:
    """What each video's frames may hold, by URL, for the validator (which cannot read this file itself)."""
    return {video.url: Allowance(video.animals, video.tracks) for video in videos if video.animals != 1 or video.tracks}


def video_id(url: str) -> str:
    """A video's name in URLs: the first 16 hex digits of the SHA-256 of its URL (stable, and no path leaks)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def served_file(url: str, bases: Iterable[str]) -> str | None:
    """The path under /videos/ that `url` names on this receiver (one of `bases`), or None for another host's video."""
    for base in bases:
        prefix = base.rstrip("/") + SERVED_PREFIX
        if base and url.startswith(prefix) and len(url) > len(prefix):
            return unquote(url[len(prefix) :])
    return None


def place_videos(videos: Iterable[Video], *, bases: Iterable[str], server_frames: str) -> tuple[Video, ...]:
    """Decide, from settings, which videos the receiver serves and which the page labels as decoded frames.

    A hand-written entry whose URL is this receiver's /videos/ address (one of
    `bases`) is served from RECEIVER_VIDEO_DIR like one `videos add` made.
    `server_frames` "always" decodes every video the receiver can decode;
    "auto" only those browsers cannot play.
    """
    bases = list(bases)
    placed = []
    for video in videos:
        path = video.path if video.path is not None else served_file(video.url, bases)
        video = replace(video, path=path)
        decode = video.decodable and (server_frames == "always" or video.playable is False)
        placed.append(replace(video, decode=decode))
    return tuple(placed)


def misaddressed_videos(videos: Iterable[Video], bases: Iterable[str]) -> list[str]:
    """Served entries whose URL is not one of this receiver's addresses (`bases`), as sentences.

    Such an entry is still served, but a browser loads it from the address in
    the entry, which is another: typically written by `videos add` before
    RECEIVER_PUBLIC_URL (or the port) was set. Its URL is the video's identity
    in the records, so the receiver does not rewrite it; it says so.
    """
    bases = [base.rstrip("/") for base in bases if base]
    warnings = []
    for number, video in enumerate(videos, start=1):
        if video.path is not None and served_file(video.url, bases) is None:
            warnings.append(
                f"entry {number}: {video.url} is not an address of this receiver ({bases[0] if bases else 'no address'}{SERVED_PREFIX}...), "
                "so browsers may not load it; set RECEIVER_PUBLIC_URL and add the video again (its labels keep the old URL)"
            )
    return warnings


def verify_videos(
    videos: Iterable[Video], video_dir: Path | None, *, read: Callable[[Path], Probe] | None = None
) -> list[str]:
    """Every disagreement between an entry and the file the receiver would serve, as sentences (empty: all agree).

    Only files under RECEIVER_VIDEO_DIR are opened: a URL on another host is
    not fetched at start (a start would then wait on, and fail with, another
    server); `receiver videos add URL` is how its numbers are checked.
    """
    # PyAV is imported only when a file is to be checked: reading settings must stay light for every command.
    from receiver.media.probe import ProbeError, probe

    read = read or probe
    problems: list[str] = []
    for number, video in enumerate(videos, start=1):
        if video.path is None:
            continue
        if video_dir is None:
            problems.append(f"entry {number}: {video.path} is to be served from RECEIVER_VIDEO_DIR, which is not set; set it to the videos' folder")
            continue
        file = video_dir / video.path
        if not file.is_file():
            problems.append(f"entry {number}: {video.path} is not a file in RECEIVER_VIDEO_DIR; put it there or correct the entry")
            continue
        try:
            found = read(file)
        except ProbeError as exc:
            problems.append(f"entry {number}: {exc}")
            continue
        if not math.isclose(video.fps, found.fps, rel_tol=1e-4):
            varies = " (its rate varies: list it with `receiver videos add`)" if not found.constant_rate else ""
            problems.append(f"entry {number}: fps {video.fps:g} disagrees with the video's {found.fps:.4g}{varies}")
        if video.frames != found.frames:
            problems.append(f"entry {number}: frames {video.frames} disagrees with the video's {found.frames}")
        if (video.width, video.height) != (found.width, found.height):
            problems.append(f"entry {number}: size {video.width}x{video.height} disagrees with the video's {found.width}x{found.height}")
    return problems


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
    unknown = sorted(str(key) for key in entry if key not in KEYS and key not in PROBED_KEYS and key not in ANIMAL_KEYS)
    if unknown:
        raise VideoError(
            f"{where}: unknown key {unknown[0]}; an entry has only {', '.join(KEYS)} (and what `receiver videos add` writes: {', '.join(PROBED_KEYS)}; "
            f"and {', '.join(ANIMAL_KEYS)} for several animals)"
        )
    missing = [key for key in KEYS if key not in entry]
    if missing:
        raise VideoError(f"{where}: key {missing[0]} is missing; an entry needs {', '.join(KEYS)}")
    video = Video(
        url=_url(entry["url"], where),
        fps=_fps(entry["fps"], where),
        frames=_count(entry["frames"], where, "frames"),
        width=_count(entry["width"], where, "width"),
        height=_count(entry["height"], where, "height"),
    )
    return replace(video, **_probed(entry, where, video.frames), **_animals(entry, where))


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


def _probed(entry: Mapping[str, Any], where: str, frames: int) -> dict[str, Any]:
    """The keys `videos add` wrote, checked: each has one type, and `times` one rising time per frame."""
    found: dict[str, Any] = {}
    if "path" in entry:
        found["path"] = _path(entry["path"], where)
    if "times" in entry:
        times = entry["times"]
        if not isinstance(times, list) or not all(_finite(t) for t in times) or len(times) != frames:
            raise VideoError(f"{where}: key times must list {frames} numbers, the time in seconds of each frame; run `receiver videos add` again")
        if any(later < earlier for earlier, later in itertools.pairwise(times)):
            raise VideoError(f"{where}: key times must not go back in time; run `receiver videos add` again")
        found["times"] = tuple(float(t) for t in times)
    if "start" in entry:
        if not _finite(entry["start"]):
            raise VideoError(f"{where}: key start must be a number of seconds")
        found["start"] = float(entry["start"])
    for key in ("constant_rate", "playable"):
        if key in entry:
            if not isinstance(entry[key], bool):
                raise VideoError(f"{where}: key {key} must be true or false")
            found[key] = entry[key]
    for key in ("codec", "container"):
        if key in entry:
            if not isinstance(entry[key], str) or not _NAME.fullmatch(entry[key]):
                raise VideoError(f"{where}: key {key} must be a short name such as h264 or mp4")
            found[key] = entry[key]
    if "rotation" in entry:
        if isinstance(entry["rotation"], bool) or entry["rotation"] not in (0, 90, 180, 270):
            raise VideoError(f"{where}: key rotation must be 0, 90, 180 or 270 (degrees clockwise)")
        found["rotation"] = int(entry["rotation"])
    return found


def _finite(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def _path(value: Any, where: str) -> str:
    """A file's place in RECEIVER_VIDEO_DIR: relative, forward slashes, no step up, nothing hidden."""
    if not isinstance(value, str) or not value or len(value) > 1024 or _WHITESPACE.search(value.replace(" ", "")) or "\\" in value:
        raise VideoError(f"{where}: key path must be a file's path relative to RECEIVER_VIDEO_DIR, like mice/day-1.mp4")
    parts = PurePosixPath(value).parts
    if value.startswith("/") or any(part in ("..", ".") or part.startswith(".") for part in parts):
        raise VideoError(f"{where}: key path must stay inside RECEIVER_VIDEO_DIR: no leading /, no .. and no hidden names")
    return value


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
