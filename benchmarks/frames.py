"""Decoded frames: frames served per second from the cache and on a miss, and the probe's cost per hour of video.

    python benchmarks/frames.py [--seconds 60] [--size 640x480] [--requests 60] [--probes 5]

Makes clips with ffmpeg (H.264 in MP4, a keyframe every 2 s, the way cameras
and encoders usually write; MJPEG in AVI, every frame a keyframe), lists them
with `receiver videos add`'s probe, and asks the receiver (the app in-process,
Starlette's TestClient, one request at a time) for frames at random places:
each first request is a miss (seek, decode, JPEG, write to the cache), the
same frames asked again are hits. Then times `probe` on each clip and scales
it to an hour of video. Figures are medians; the machine is shared, so read
them side by side rather than alone.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from starlette.testclient import TestClient  # noqa: E402

from receiver.media import probe  # noqa: E402
from receiver.settings import Settings  # noqa: E402
from receiver.volunteers.catalog import Place, probed_video  # noqa: E402
from receiver.volunteers.videos import place_videos  # noqa: E402
from receiver.web.app import create_app  # noqa: E402

FPS = 30
CLIPS = {
    "h264.mp4": ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-g", str(2 * FPS), "-pix_fmt", "yuv420p"],
    "mjpeg.avi": ["-c:v", "mjpeg", "-q:v", "3", "-pix_fmt", "yuvj420p"],
}


def make_clip(path: Path, seconds: int, size: str, codec: list[str]) -> None:
    """A moving test pattern (ffmpeg's testsrc2), so every frame differs as in a real video."""
    source = f"testsrc2=size={size}:rate={FPS}:duration={seconds}"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", source, *codec, str(path)], check=True)


def timed_gets(client: TestClient, urls: list[str]) -> list[float]:
    took = []
    for url in urls:
        started = time.perf_counter()
        answer = client.get(url)
        took.append(time.perf_counter() - started)
        if answer.status_code != 200:
            raise SystemExit(f"{url}: {answer.status_code} {answer.text[:200]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60, help="length of each clip (default 60)")
    parser.add_argument("--size", default="640x480", help="frame size (default 640x480)")
    parser.add_argument("--requests", type=int, default=60, help="frames asked per clip, each once as a miss and once as a hit")
    parser.add_argument("--probes", type=int, default=5, help="probes timed per clip")
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None:
        raise SystemExit("ffmpeg is not installed (apt-get install ffmpeg)")
    rng = random.Random(7)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "videos"
        folder.mkdir()
        for name, codec in CLIPS.items():
            make_clip(folder / name, args.seconds, args.size, codec)
        probe_seconds = {}
        for name in CLIPS:
            took = []
            for _ in range(args.probes):
                started = time.perf_counter()
                found = probe(folder / name)
                took.append(time.perf_counter() - started)
            duration = found.times[-1] - found.times[0] + 1 / found.fps
            probe_seconds[name] = statistics.median(took) * 3600 / duration
        videos = tuple(probed_video(Place(f"http://127.0.0.1:8000/videos/{name}", name), probe(folder / name)) for name in CLIPS)
        settings = Settings(
            videos=place_videos(videos, bases=[], server_frames="always"), video_dir=folder,
            local_repo=Path(scratch) / "data" / "annotations.git", rate_limit=None, frame_cache_mb=1024,
        )
        with TestClient(create_app(settings)) as client:
            for video in settings.videos:
                frames = rng.sample(range(video.frames), min(args.requests, video.frames))
                urls = [f"/api/frames/{video.id}/{index}" for index in frames]
                miss = timed_gets(client, urls)
                hit = timed_gets(client, urls)
                name = video.path or video.url
                rows.append((name, video.frames, miss, hit, probe_seconds[name]))
    print(f"{args.seconds} s clips at {args.size}, {FPS} fps; {args.requests} random frames each, JPEG; medians")
    print("| clip | frames | miss frames/s | miss p50 ms | hit frames/s | hit p50 ms | probe s per hour of video |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, frames, miss, hit, per_hour in rows:
        miss_p50, hit_p50 = statistics.median(miss), statistics.median(hit)
        print(f"| {name} | {frames:,} | {1 / miss_p50:,.1f} | {miss_p50 * 1000:.1f} | {1 / hit_p50:,.0f} | {hit_p50 * 1000:.2f} | {per_hour:.2f} |")


if __name__ == "__main__":
    main()
