"""The `receiver videos add` and `receiver videos list` subcommands.

Each command is a function (args, environ, out, err) -> exit code, like the
others in `receiver.cli`; `add_commands` registers them. Exit codes: 0 done,
1 a video could not be opened or decoded (the videos file is then left as it
was), 2 a usage problem (no videos file named, a file outside
RECEIVER_VIDEO_DIR, a videos file that is not valid, settings that cannot be read).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from receiver.media import ProbeError, probe
from receiver.volunteers.catalog import CatalogError, describe, merge, place_of, probed_video, read_entries, write_entries
from receiver.volunteers.videos import Video, VideoError, load_videos, place_videos

__all__ = ["add_commands", "VideoSettings"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


@dataclass(frozen=True)
class VideoSettings:
    """What the videos commands need from the receiver's settings."""

    videos_file: Path | None
    video_dir: Path | None
    #: The receiver's address as volunteers reach it: RECEIVER_PUBLIC_URL, or its own host and port.
    base_url: str
    own_urls: tuple[str, ...]
    server_frames: str


def add_commands(commands: Any, *, settings_of: Callable[[Mapping[str, str]], VideoSettings]) -> None:
    """Register `videos` (with `add` and `list`) on the `receiver` command's subparsers.

    `settings_of` reads the settings from the environment; it raises
    `ValueError` with a sentence when they cannot be read.
    """
    videos = commands.add_parser(
        "videos",
        help="probe videos into the videos file, and list how each is served",
        description="Manage the videos file RECEIVER_VIDEOS names: what volunteers label.",
    )
    actions = videos.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="probe videos and write (or add) their entries to the videos file",
        description=(
            "Probe each video with PyAV (frame count, every frame's presentation time, rate, size, rotation, start "
            "time, codec, container, whether browsers play it) and write its entry to FILE, replacing an entry with "
            "the same URL. A file inside RECEIVER_VIDEO_DIR becomes a video the receiver serves at /videos/<path> "
            "(its URL starts with RECEIVER_PUBLIC_URL, or http://HOST:PORT of the settings); a URL stays a URL. "
            "A video that cannot be opened or decoded is refused with the decoder's reason, and FILE is left as it was."
        ),
    )
    add.add_argument("sources", nargs="+", metavar="PATH|URL", help="video files in RECEIVER_VIDEO_DIR, or http(s) URLs")
    add.add_argument("--file", type=Path, metavar="FILE", help="the videos file, .json or .toml (default: RECEIVER_VIDEOS)")
    add.add_argument("--base-url", metavar="URL", help="the receiver's address for served files (default: RECEIVER_PUBLIC_URL, else http://HOST:PORT)")
    add.set_defaults(run=_add, settings_of=settings_of)
    listing = actions.add_parser(
        "list",
        help="show the configured videos and how each is served",
        description="List each video of FILE: its frames, rate, size and codec, and how the page gets its frames.",
    )
    listing.add_argument("--file", type=Path, metavar="FILE", help="the videos file (default: RECEIVER_VIDEOS)")
    listing.set_defaults(run=_list, settings_of=settings_of)


def _settings(args: argparse.Namespace, environ: Mapping[str, str], err: TextIO) -> tuple[VideoSettings, Path] | int:
    try:
        settings: VideoSettings = args.settings_of(environ)
    except ValueError as exc:
        err.write(f"receiver videos {args.action}: {exc}\n")
        return EXIT_USAGE
    file = args.file or settings.videos_file
    if file is None:
        err.write(f"receiver videos {args.action}: name the videos file with --file FILE (or set RECEIVER_VIDEOS)\n")
        return EXIT_USAGE
    return settings, file


def _add(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    found = _settings(args, environ, err)
    if isinstance(found, int):
        return found
    settings, file = found
    base_url = (args.base_url or settings.base_url).rstrip("/")
    try:
        entries = read_entries(file)
        places = [place_of(source, video_dir=settings.video_dir, base_url=base_url) for source in args.sources]
    except CatalogError as exc:
        err.write(f"receiver videos add: {exc}\n")
        return EXIT_USAGE
    videos: list[Video] = []
    refused = []
    for source, place in zip(args.sources, places):
        try:
            videos.append(probed_video(place, probe(source)))
        except ProbeError as exc:
            refused.append(f"  {source}: {exc}")
    if refused:
        err.write(f"receiver videos add: {len(refused)} video(s) cannot be used; {file.name} is unchanged:\n")
        err.write("\n".join(refused) + "\n")
        return EXIT_FAILED
    merged, done = merge(entries, videos)
    try:
        write_entries(file, merged)
    except (OSError, VideoError) as exc:
        err.write(f"receiver videos add: cannot write {file.name}: {exc}\n")
        return EXIT_FAILED
    placed = place_videos(videos, bases=settings.own_urls, server_frames=settings.server_frames)
    for what, video in zip(done, placed):
        out.write(f"{what} {video.url}: {video.frames} frames, {video.fps:.4g} fps, {video.width}x{video.height}, {video.codec} in {video.container}\n")
        if not video.playable:
            out.write("  browsers cannot play it: the page will label frames the receiver decodes\n")
    out.write(f"wrote {len(merged)} video(s) to {file}\n")
    return EXIT_OK


def _list(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    found = _settings(args, environ, err)
    if isinstance(found, int):
        return found
    settings, file = found
    try:
        videos = place_videos(load_videos(file), bases=settings.own_urls, server_frames=settings.server_frames)
    except VideoError as exc:
        err.write(f"receiver videos list: {exc}\n")
        return EXIT_USAGE
    out.writelines(describe(number, video) for number, video in enumerate(videos, start=1))
    served = sum(1 for video in videos if video.path is not None)
    out.write(f"{len(videos)} video(s) in {file.name}; {served} served by this receiver" + (f" from {settings.video_dir}" if served and settings.video_dir else "") + "\n")
    return EXIT_OK
