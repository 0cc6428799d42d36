"""`GET /api/frames/{video}/{index}`: the exact frame as an image, cached on disk, prefetched for the frames next-frame hands out."""

from __future__ import annotations

import hashlib
import io

import av
import httpx
import numpy as np
import numpy.typing as npt
import pytest

from receiver.media import read_frames
from tests.support.clips import SMALL_FRAMES, index_in
from tests.support.servers import wait_until
from tests.web.videos.conftest import LISTED, Served


def decoded(data: bytes) -> npt.NDArray[np.uint8]:
    with av.open(io.BytesIO(data)) as container:
        pixels: npt.NDArray[np.uint8] = next(container.decode(video=0)).to_ndarray(format="rgb24")
        return pixels


def frame_url(served: Served, name: str, index: int) -> str:
    entry = served.entries.get(name)
    if entry is None:
        pytest.skip(f"this ffmpeg could not write {name}")
    return served.url + f"/api/frames/{hashlib.sha256(str(entry['url']).encode()).hexdigest()[:16]}/{index}"


@pytest.mark.parametrize("name", LISTED)
def test_frame_i_is_frame_i(served: Served, name: str) -> None:
    """Each frame asked for shows the index drawn into it, sized as the video is displayed."""
    entry = served.entries.get(name) or pytest.skip(f"this ffmpeg could not write {name}")
    for index in (0, 7, 22, SMALL_FRAMES - 1):
        answer = httpx.get(frame_url(served, name, index), timeout=60)
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
        pixels = decoded(answer.content)
        assert pixels.shape == (entry["height"], entry["width"], 3)
        assert index_in(np.rot90(pixels, k=int(str(entry["rotation"])) // 90)) == index


def test_png_is_the_decoded_frame_exactly(served: Served) -> None:
    """format=png carries exactly the pixels read_frames decodes."""
    answer = httpx.get(frame_url(served, "vfr.mp4", 13) + "?format=png", timeout=60)
    assert answer.headers["content-type"] == "image/png"
    ((_, expected),) = list(read_frames(served.video_dir / "vfr.mp4", [13]))
    assert np.array_equal(decoded(answer.content), expected)


def test_webp(served: Served) -> None:
    answer = httpx.get(frame_url(served, "ffv1.mkv", 4) + "?format=webp", timeout=60)
    assert answer.headers["content-type"] == "image/webp" and index_in(decoded(answer.content)) == 4


def test_a_frame_is_kept_on_disk(served: Served) -> None:
    """After an answer the image is in the cache folder beside the journal."""
    url = frame_url(served, "start10.mp4", 31)
    first = httpx.get(url, timeout=60)
    video = url.rsplit("/", 2)[1]
    assert (served.cache_dir / f"{video}-31.jpeg").read_bytes() == first.content
    assert httpx.get(url, timeout=60).content == first.content


class TestRefused:
    def test_an_index_past_the_end(self, served: Served) -> None:
        """404 and a sentence giving the frames there are."""
        answer = httpx.get(frame_url(served, "ntsc.mp4", SMALL_FRAMES))
        assert answer.status_code == 404
        assert answer.json()["error"] == f"This video has frames 0 to {SMALL_FRAMES - 1}; there is no frame {SMALL_FRAMES}."

    def test_an_unknown_video(self, served: Served) -> None:
        answer = httpx.get(f"{served.url}/api/frames/0123456789abcdef/0")
        assert answer.status_code == 404 and "No video with this id" in answer.json()["error"]

    def test_an_index_that_is_not_a_number(self, served: Served) -> None:
        answer = httpx.get(frame_url(served, "ntsc.mp4", 0)[:-1] + "-1")
        assert answer.status_code == 400 and answer.json()["error"] == "The frame index must be a whole number, 0 or more."

    def test_an_unknown_format(self, served: Served) -> None:
        answer = httpx.get(frame_url(served, "ntsc.mp4", 0) + "?format=gif")
        assert answer.status_code == 400 and answer.json()["error"] == "The format must be jpeg, png or webp."


class TestNextFrame:
    def test_videos_carry_times_frame_url_and_decode(self, served: Served) -> None:
        """A video browsers cannot play is handed out with decode: true, its frame times and its frame_url."""
        answer = httpx.get(f"{served.url}/api/next-frame", params={"volunteer": "volunteer-1", "video": served.entries["mjpeg.avi"]["url"]}).json()
        video = answer["video"]
        assert video["decode"] is True
        assert video["times"] == pytest.approx([n / 25 for n in range(SMALL_FRAMES)])
        assert video["start"] == 0.0
        assert video["frame_url"] == frame_url(served, "mjpeg.avi", 0).removeprefix(served.url)[: -len("0")] + "{index}"

    def test_a_playable_video_is_left_to_the_browser(self, served: Served) -> None:
        """auto: an H.264 MP4 has a frame_url to fall back on, but no decode flag."""
        video = httpx.get(f"{served.url}/api/next-frame", params={"volunteer": "volunteer-2", "video": served.entries["ntsc.mp4"]["url"]}).json()["video"]
        assert "decode" not in video and video["frame_url"].startswith("/api/frames/")

    def test_handed_out_frames_are_prefetched(self, served: Served) -> None:
        """The frames next-frame hands out of a decoded video appear in the cache without being asked for."""
        params = {"volunteer": "volunteer-3", "video": served.entries["ffv1.mkv"]["url"], "count": "5"}
        answer = httpx.get(f"{served.url}/api/next-frame", params=params).json()
        video = frame_url(served, "ffv1.mkv", 0).rsplit("/", 2)[1]
        wanted = [served.cache_dir / f"{video}-{item['frame_index']}.jpeg" for item in answer["frames"]]
        assert len(wanted) == 5
        wait_until(lambda: all(path.exists() for path in wanted), timeout=60, what="the handed-out frames to be decoded ahead")
