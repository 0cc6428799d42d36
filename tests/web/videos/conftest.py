"""A real `receiver serve` over HTTP, serving a folder of clips whose entries `receiver videos add` wrote."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from receiver.cli import main
from tests.support.clips import ffmpeg_available, make_clip_set
from tests.support.servers import ReceiverProcess, free_port

#: The clips the served receiver lists (HEVC where this ffmpeg can write it).
LISTED = ("ntsc.mp4", "vfr.mp4", "start10.mp4", "mjpeg.avi", "ffv1.mkv", "rotated.mp4", "hevc.mp4")


@dataclass(frozen=True)
class Served:
    server: ReceiverProcess
    video_dir: Path
    outside: Path
    entries: dict[str, dict[str, object]]

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def cache_dir(self) -> Path:
        return self.server.workdir / "receiver-data" / "journal.sqlite3.frames"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if not ffmpeg_available():
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    root = tmp_path_factory.mktemp("served")
    clips = make_clip_set(root / "made")
    video_dir = root / "videos"
    video_dir.mkdir()
    for name in LISTED:
        if (clips / name).exists():
            shutil.copy(clips / name, video_dir / name)
    (video_dir / "mice").mkdir()
    shutil.copy(clips / "ntsc.mp4", video_dir / "mice" / "day 1.mp4")
    (video_dir / ".hidden.mp4").write_bytes(b"hidden")
    outside = root / "secret.txt"
    outside.write_text("the operator's secret, outside the video folder")
    (video_dir / "link-out.mp4").symlink_to(outside)
    port = free_port()
    videos = root / "videos.json"
    environ = {"RECEIVER_VIDEO_DIR": str(video_dir), "RECEIVER_PORT": str(port)}
    sources = sorted(str(path) for path in video_dir.iterdir() if path.name in LISTED)
    code = main(["videos", "add", "--file", str(videos), *sources], environ=environ, out=io.StringIO(), err=io.StringIO())
    assert code == 0
    entries = {Path(str(entry["path"])).name: entry for entry in json.loads(videos.read_text())}
    server = ReceiverProcess(root / "srv", {**environ, "RECEIVER_VIDEOS": str(videos), "RECEIVER_RATE_LIMIT": "0"}, port=port)
    with server:
        yield Served(server, video_dir, outside, entries)
