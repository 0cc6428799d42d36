"""`receiver videos add` probes videos into the videos file, `videos list` says how each is served, and `serve` refuses entries the videos contradict."""

from __future__ import annotations

import io
import json
import shutil
import tomllib
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from receiver.settings import load_settings
from receiver.volunteers.frame_cache import FrameCache
from receiver.web.frame_images import FrameImages
from tests.acceptance.conftest import RunCLI
from tests.support.clips import SMALL_FRAMES, ffmpeg_available, index_in, make_clip_set
from tests.support.servers import free_port
from tests.volunteers.page.hosts import static_host


@pytest.fixture(scope="module")
def clip_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not ffmpeg_available():
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    return make_clip_set(tmp_path_factory.mktemp("clips"))


@pytest.fixture
def video_dir(tmp_path: Path, clip_set: Path) -> Path:
    """RECEIVER_VIDEO_DIR holding a copy of every clip."""
    folder = tmp_path / "videos"
    shutil.copytree(clip_set, folder)
    return folder


def environ(video_dir: Path, **more: str) -> dict[str, str]:
    return {"RECEIVER_VIDEO_DIR": str(video_dir), **more}


class TestAdd:
    def test_a_served_file_gets_the_receivers_address_and_its_probe(self, run_cli: RunCLI, video_dir: Path, tmp_path: Path) -> None:
        """The entry names the file's /videos/ address and path, and every frame's time."""
        file = tmp_path / "videos.json"
        result = run_cli("videos", "add", "--file", str(file), str(video_dir / "ntsc.mp4"), environ=environ(video_dir))
        assert result.code == 0, result.err
        (entry,) = json.loads(file.read_text(encoding="utf-8"))
        assert entry["url"] == "http://127.0.0.1:8000/videos/ntsc.mp4"
        assert entry["path"] == "ntsc.mp4"
        assert entry["frames"] == SMALL_FRAMES and entry["fps"] == pytest.approx(30000 / 1001)
        assert entry["times"] == pytest.approx([n * 1001 / 30000 for n in range(SMALL_FRAMES)])
        assert (entry["codec"], entry["container"], entry["playable"], entry["constant_rate"], entry["rotation"], entry["start"]) == (
            "h264", "mp4", True, True, 0, 0.0
        )
        assert "added http://127.0.0.1:8000/videos/ntsc.mp4: 40 frames, 29.97 fps, 64x48, h264 in mp4" in result.out

    def test_the_public_url_names_served_files(self, run_cli: RunCLI, video_dir: Path, tmp_path: Path) -> None:
        """With RECEIVER_PUBLIC_URL set, served files are addressed under it."""
        file = tmp_path / "videos.json"
        env = environ(video_dir, RECEIVER_PUBLIC_URL="https://labels.example.org/receiver")
        assert run_cli("videos", "add", "--file", str(file), str(video_dir / "mjpeg.avi"), environ=env).code == 0
        assert json.loads(file.read_text())[0]["url"] == "https://labels.example.org/receiver/videos/mjpeg.avi"

    def test_adds_to_a_hand_written_file_which_still_loads(self, run_cli: RunCLI, video_dir: Path, tmp_path: Path) -> None:
        """A hand-written entry stays as it was, the new one follows, and the receiver reads both."""
        file = tmp_path / "videos.toml"
        file.write_text('[[videos]]\nurl = "https://videos.example.org/a.mp4"\nfps = 30\nframes = 900\nwidth = 640\nheight = 480\n')
        result = run_cli("videos", "add", "--file", str(file), str(video_dir / "vfr.mp4"), environ=environ(video_dir))
        assert result.code == 0, result.err
        entries = tomllib.loads(file.read_text())["videos"]
        assert entries[0] == {"url": "https://videos.example.org/a.mp4", "fps": 30, "frames": 900, "width": 640, "height": 480}
        assert entries[1]["constant_rate"] is False and entries[1]["path"] == "vfr.mp4"
        settings = load_settings({**environ(video_dir), "RECEIVER_VIDEOS": str(file)})
        assert [v.url for v in settings.videos] == ["https://videos.example.org/a.mp4", "http://127.0.0.1:8000/videos/vfr.mp4"]
        assert settings.videos[1].times is not None and settings.videos[1].times[3] == pytest.approx(4 / 30)

    def test_adding_again_updates_the_entry(self, run_cli: RunCLI, video_dir: Path, tmp_path: Path) -> None:
        """One entry per URL: a second add replaces the first."""
        file = tmp_path / "videos.json"
        run_cli("videos", "add", "--file", str(file), str(video_dir / "ntsc.mp4"), environ=environ(video_dir))
        result = run_cli("videos", "add", "--file", str(file), str(video_dir / "ntsc.mp4"), environ=environ(video_dir))
        assert result.out.startswith("updated ")
        assert len(json.loads(file.read_text())) == 1

    def test_the_videos_file_defaults_to_receiver_videos(self, run_cli: RunCLI, video_dir: Path, tmp_path: Path) -> None:
        """Without --file, RECEIVER_VIDEOS is written, even before it exists."""
        file = tmp_path / "videos.json"
        assert run_cli("videos", "add", str(video_dir / "ffv1.mkv"), environ=environ(video_dir, RECEIVER_VIDEOS=str(file))).code == 0
        assert json.loads(file.read_text())[0]["codec"] == "ffv1"


class TestAddRefuses:
    def test_a_file_that_is_not_a_video_with_the_decoders_reason(self, run_cli: RunCLI, video_dir: Path, tmp_path: Path) -> None:
        """Exit 1, the reason, and the videos file left exactly as it was, even for the good video beside it."""
        file = tmp_path / "videos.json"
        run_cli("videos", "add", "--file", str(file), str(video_dir / "ntsc.mp4"), environ=environ(video_dir))
        before = file.read_bytes()
        result = run_cli("videos", "add", "--file", str(file), str(video_dir / "vfr.mp4"), str(video_dir / "broken.mp4"), environ=environ(video_dir))
        assert result.code == 1
        assert "broken.mp4 cannot be opened as a video: Invalid data found when processing input" in result.err
        assert "videos.json is unchanged" in result.err
        assert file.read_bytes() == before

    def test_a_sound_file(self, run_cli: RunCLI, video_dir: Path, tmp_path: Path) -> None:
        """A file with no video stream is refused, and no file is written."""
        file = tmp_path / "videos.json"
        result = run_cli("videos", "add", "--file", str(file), str(video_dir / "sound.m4a"), environ=environ(video_dir))
        assert result.code == 1 and "sound.m4a holds no video stream" in result.err
        assert not file.exists()

    def test_a_file_outside_the_video_folder(self, run_cli: RunCLI, video_dir: Path, tmp_path: Path, clip_set: Path) -> None:
        """The receiver serves only RECEIVER_VIDEO_DIR: a file elsewhere is refused with what to do."""
        result = run_cli("videos", "add", "--file", str(tmp_path / "v.json"), str(clip_set / "ntsc.mp4"), environ=environ(video_dir))
        assert result.code == 2 and "is not inside RECEIVER_VIDEO_DIR" in result.err and "move the file there" in result.err

    def test_a_symbolic_link_out_of_the_folder(self, run_cli: RunCLI, video_dir: Path, tmp_path: Path, clip_set: Path) -> None:
        """A link inside the folder to a file outside it is outside it."""
        (video_dir / "link.mp4").symlink_to(clip_set / "ntsc.mp4")
        result = run_cli("videos", "add", "--file", str(tmp_path / "v.json"), str(video_dir / "link.mp4"), environ=environ(video_dir))
        assert result.code == 2 and "is not inside RECEIVER_VIDEO_DIR" in result.err

    def test_a_local_file_without_a_video_folder(self, run_cli: RunCLI, clip_set: Path, tmp_path: Path) -> None:
        """With no RECEIVER_VIDEO_DIR, a local file cannot be served: the message says to set it."""
        result = run_cli("videos", "add", "--file", str(tmp_path / "v.json"), str(clip_set / "ntsc.mp4"))
        assert result.code == 2 and "RECEIVER_VIDEO_DIR is not set" in result.err

    def test_no_videos_file_named(self, run_cli: RunCLI, video_dir: Path) -> None:
        """Neither --file nor RECEIVER_VIDEOS: say how to name it."""
        result = run_cli("videos", "add", str(video_dir / "ntsc.mp4"), environ=environ(video_dir))
        assert result.code == 2 and "--file FILE (or set RECEIVER_VIDEOS)" in result.err

    def test_an_invalid_videos_file_is_not_overwritten(self, run_cli: RunCLI, video_dir: Path, tmp_path: Path) -> None:
        """A file the receiver would refuse is reported, not replaced."""
        file = tmp_path / "videos.json"
        file.write_text('[{"url": "https://a.example/x.mp4"}]')
        result = run_cli("videos", "add", "--file", str(file), str(video_dir / "ntsc.mp4"), environ=environ(video_dir))
        assert result.code == 2 and "key fps is missing" in result.err
        assert file.read_text() == '[{"url": "https://a.example/x.mp4"}]'


class TestList:
    def test_says_how_each_video_is_served(self, run_cli: RunCLI, video_dir: Path, tmp_path: Path) -> None:
        """A served file, a file browsers cannot play (decoded), and a hand-written URL, each said so."""
        file = tmp_path / "videos.json"
        file.write_text(json.dumps([{"url": "https://videos.example.org/a.mp4", "fps": 30, "frames": 900, "width": 640, "height": 480}]))
        run_cli("videos", "add", "--file", str(file), str(video_dir / "ntsc.mp4"), str(video_dir / "mjpeg.avi"), environ=environ(video_dir))
        result = run_cli("videos", "list", environ=environ(video_dir, RECEIVER_VIDEOS=str(file)))
        assert result.code == 0
        blocks = result.out.split("\n2. ")[0], result.out.split("\n2. ")[1].split("\n3. ")[0], result.out.split("\n3. ")[1]
        assert "loaded by the browser from its URL; hand-written (not probed)" in blocks[0]
        assert "served by this receiver from RECEIVER_VIDEO_DIR/ntsc.mp4; the page seeks by the probed frame times" in blocks[1]
        assert "served by this receiver from RECEIVER_VIDEO_DIR/mjpeg.avi; the page labels frames the receiver decodes (browsers cannot play mjpeg in avi)" in blocks[2]
        assert result.out.endswith("3 video(s) in videos.json; 2 served by this receiver from " + str(video_dir) + "\n")

    def test_always_decodes_every_decodable_video(self, run_cli: RunCLI, video_dir: Path, tmp_path: Path) -> None:
        """RECEIVER_SERVER_FRAMES=always: even a playable video is labeled on decoded frames."""
        file = tmp_path / "videos.json"
        run_cli("videos", "add", "--file", str(file), str(video_dir / "ntsc.mp4"), environ=environ(video_dir))
        result = run_cli("videos", "list", "--file", str(file), environ=environ(video_dir, RECEIVER_SERVER_FRAMES="always"))
        assert "the page labels frames the receiver decodes (RECEIVER_SERVER_FRAMES=always)" in result.out


class TestServeChecksEntries:
    def test_a_wrong_rate_is_refused_at_start_naming_both(self, run_cli: RunCLI, video_dir: Path, tmp_path: Path) -> None:
        """A hand-written entry at 30 fps for a 29.97 fps file the receiver serves stops serve before it listens."""
        file = tmp_path / "videos.json"
        entries = [
            {"url": "https://videos.example.org/a.mp4", "fps": 30, "frames": 900, "width": 640, "height": 480},
            {"url": "http://127.0.0.1:8000/videos/ntsc.mp4", "fps": 30, "frames": SMALL_FRAMES, "width": 64, "height": 48},
        ]
        file.write_text(json.dumps(entries))
        env = environ(video_dir, RECEIVER_VIDEOS=str(file), RECEIVER_LOCAL_REPO=str(tmp_path / "data" / "annotations.git"))
        result = run_cli("serve", environ=env)
        assert result.code == 2
        assert "receiver serve: the videos file videos.json disagrees with the videos it lists:" in result.err
        assert "entry 2: fps 30 disagrees with the video's 29.97" in result.err

    def test_a_wrong_frame_count_is_refused(self, run_cli: RunCLI, video_dir: Path, tmp_path: Path) -> None:
        """The count typed by hand is checked too."""
        file = tmp_path / "videos.json"
        file.write_text(json.dumps([{"url": "http://127.0.0.1:8000/videos/mjpeg.avi", "fps": 25, "frames": 41, "width": 64, "height": 48}]))
        env = environ(video_dir, RECEIVER_VIDEOS=str(file), RECEIVER_LOCAL_REPO=str(tmp_path / "data" / "annotations.git"))
        result = run_cli("serve", environ=env)
        assert result.code == 2 and f"entry 1: frames 41 disagrees with the video's {SMALL_FRAMES}" in result.err

    def test_a_missing_served_file_is_refused(self, run_cli: RunCLI, video_dir: Path, tmp_path: Path) -> None:
        """An entry naming a file the folder does not hold says so."""
        file = tmp_path / "videos.json"
        file.write_text(json.dumps([{"url": "http://127.0.0.1:8000/videos/gone.mp4", "fps": 25, "frames": 40, "width": 64, "height": 48}]))
        env = environ(video_dir, RECEIVER_VIDEOS=str(file), RECEIVER_LOCAL_REPO=str(tmp_path / "data" / "annotations.git"))
        result = run_cli("serve", environ=env)
        assert result.code == 2 and "entry 1: gone.mp4 is not a file in RECEIVER_VIDEO_DIR" in result.err


class TestUrlVideos:
    def test_a_url_is_probed_over_http_and_decoded_from_it(self, run_cli: RunCLI, clip_set: Path, tmp_path: Path) -> None:
        """A video on another host stays a URL; its entry has the frame times, and the receiver decodes its frames from the URL."""
        file = tmp_path / "videos.json"
        with static_host(clip_set) as host:
            result = run_cli("videos", "add", "--file", str(file), f"{host}/mjpeg.avi")
            assert result.code == 0, result.err
            (entry,) = json.loads(file.read_text())
            assert entry["url"] == f"{host}/mjpeg.avi" and "path" not in entry
            assert entry["times"] == pytest.approx([n / 25 for n in range(SMALL_FRAMES)])
            settings = load_settings({"RECEIVER_VIDEOS": str(file)})
            (video,) = settings.videos
            assert video.public()["decode"] is True
            images = FrameImages(settings.videos, video_dir=None, cache=FrameCache(tmp_path / "cache", 10**6))
            assert index_in(decoded(images.image(video, 17, "png"))) == 17

    def test_an_unreachable_url_is_refused_with_the_reason(self, run_cli: RunCLI, tmp_path: Path) -> None:
        """Nothing listens there: the decoder's reason, exit 1, no file."""
        file = tmp_path / "videos.json"
        result = run_cli("videos", "add", "--file", str(file), f"http://127.0.0.1:{free_port()}/gone.mp4")
        assert result.code == 1 and "cannot be opened as a video: Connection refused" in result.err
        assert not file.exists()


def decoded(data: bytes) -> npt.NDArray[np.uint8]:
    with av.open(io.BytesIO(data)) as container:
        pixels: npt.NDArray[np.uint8] = next(container.decode(video=0)).to_ndarray(format="rgb24")
        return pixels


def test_serve_refuses_a_video_folder_that_is_not_one(run_cli: RunCLI, tmp_path: Path) -> None:
    """A mistyped RECEIVER_VIDEO_DIR stops serve at start rather than answering 404 for every video."""
    result = run_cli("serve", environ={"RECEIVER_VIDEO_DIR": str(tmp_path / "nowhere"), "RECEIVER_LOCAL_REPO": str(tmp_path / "data" / "a.git")})
    assert result.code == 2 and "RECEIVER_VIDEO_DIR" in result.err and "is not a folder" in result.err


def test_a_toml_file_with_other_tables_is_not_added_to(run_cli: RunCLI, video_dir: Path, tmp_path: Path) -> None:
    """What serve would refuse, add refuses too, and leaves the file as it was."""
    file = tmp_path / "videos.toml"
    file.write_text('[receiver]\nport = 9000\n')
    result = run_cli("videos", "add", "--file", str(file), str(video_dir / "ntsc.mp4"), environ=environ(video_dir))
    assert result.code == 2 and "it should hold only [[videos]] tables" in result.err
    assert file.read_text() == '[receiver]\nport = 9000\n'


def test_an_empty_videos_file_is_filled(run_cli: RunCLI, video_dir: Path, tmp_path: Path) -> None:
    """A file made empty beforehand (touch videos.json) is a file with no videos yet."""
    file = tmp_path / "videos.json"
    file.write_text("")
    assert run_cli("videos", "add", "--file", str(file), str(video_dir / "ntsc.mp4"), environ=environ(video_dir)).code == 0
    assert len(json.loads(file.read_text())) == 1
