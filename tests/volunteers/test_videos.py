"""RECEIVER_VIDEOS: a JSON or TOML list of videos, refused at start with a sentence naming the file, entry and key."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from receiver.settings import SettingsError, load_settings
from receiver.media import Probe
from receiver.volunteers.videos import Video, VideoError, load_videos, misaddressed_videos, place_videos, verify_videos, video_id

GOOD = {"url": "https://videos.example.org/mouse-1.mp4", "fps": 30, "frames": 900, "width": 1280, "height": 720}
SECOND = {"url": "http://videos.example.org/mouse-2.mp4", "fps": 29.97, "frames": 10, "width": 640, "height": 480}


def write_json(tmp_path: Path, entries: Any) -> Path:
    path = tmp_path / "videos.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    return path


class TestLoadVideos:
    def test_json_list_becomes_videos_in_order(self, tmp_path: Path) -> None:
        """Each object becomes a Video; fps is a float."""
        videos = load_videos(write_json(tmp_path, [GOOD, SECOND]))
        assert videos == (Video(GOOD["url"], 30.0, 900, 1280, 720), Video(SECOND["url"], 29.97, 10, 640, 480))

    def test_toml_videos_tables_become_videos(self, tmp_path: Path) -> None:
        """[[videos]] tables read the same as the JSON list."""
        path = tmp_path / "videos.toml"
        path.write_text(
            '[[videos]]\nurl = "https://videos.example.org/mouse-1.mp4"\nfps = 30\nframes = 900\nwidth = 1280\nheight = 720\n', encoding="utf-8"
        )
        assert load_videos(path) == (Video(GOOD["url"], 30.0, 900, 1280, 720),)

    @pytest.mark.parametrize(
        ("change", "expected"),
        [
            ({"colour": "grey"}, "entry 2: unknown key colour"),
            ({"frames": None}, "entry 2: key frames is missing"),
            ({"fps": "30"}, "entry 2: key fps must be a positive number"),
            ({"fps": True}, "entry 2: key fps must be a positive number"),
            ({"fps": 0}, "entry 2: key fps must be a positive number"),
            ({"frames": 0}, "entry 2: key frames must be a positive whole number"),
            ({"frames": 12.5}, "entry 2: key frames must be a positive whole number"),
            ({"width": -1}, "entry 2: key width must be a positive whole number"),
            ({"height": "720"}, "entry 2: key height must be a positive whole number"),
            ({"url": "ftp://videos.example.org/a.mp4"}, "entry 2: key url must be an http(s) address"),
            ({"url": "https://videos.example.org/a b.mp4"}, "entry 2: key url must be an http(s) address"),
            ({"url": 7}, "entry 2: key url must be a string"),
            ({"url": GOOD["url"]}, "entry 2: key url repeats entry 1's"),
        ],
    )
    def test_bad_entry_is_refused_naming_file_entry_and_key(self, tmp_path: Path, change: dict[str, Any], expected: str) -> None:
        """The message names videos.json, the entry's number and the key at fault."""
        entry = {k: v for k, v in {**SECOND, **change}.items() if v is not None}
        with pytest.raises(VideoError) as refused:
            load_videos(write_json(tmp_path, [GOOD, entry]))
        assert str(refused.value).startswith(f"the videos file videos.json, {expected}")

    @pytest.mark.parametrize(
        ("content", "expected"),
        [
            ('{"url": "x"}', "must hold a list of videos"),
            ("[]", "lists no videos"),
            ("[1, 2]", "entry 1 must be an object"),
            ("[{", "is not valid JSON"),
            ('[{"url": "https://a.example/v", "fps": NaN, "frames": 1, "width": 1, "height": 1}]', "is not valid JSON"),
        ],
    )
    def test_unusable_json_file_is_refused_with_a_sentence(self, tmp_path: Path, content: str, expected: str) -> None:
        """Not a list, an empty list, a non-object entry, broken JSON, NaN: each named."""
        path = tmp_path / "videos.json"
        path.write_text(content, encoding="utf-8")
        with pytest.raises(VideoError, match="videos.json") as refused:
            load_videos(path)
        assert expected in str(refused.value)

    @pytest.mark.parametrize(
        ("content", "expected"),
        [
            ('title = "mine"\n[[videos]]\nurl = "https://a.example/v"\n', "holds title; it should hold only [[videos]] tables"),
            ("[[videos]]\nurl = \n", "is not valid TOML"),
            ('[[videos]]\nurl = "https://a.example/v"\nfps = 30\nframes = 1\nwidth = 1\n', "entry 1: key height is missing"),
        ],
    )
    def test_unusable_toml_file_is_refused_with_a_sentence(self, tmp_path: Path, content: str, expected: str) -> None:
        """Stray top-level keys, broken TOML, a missing key: each named with the file."""
        path = tmp_path / "videos.toml"
        path.write_text(content, encoding="utf-8")
        with pytest.raises(VideoError, match="videos.toml") as refused:
            load_videos(path)
        assert expected in str(refused.value)

    def test_missing_file_is_refused_naming_it(self, tmp_path: Path) -> None:
        """A path that does not exist is refused with its name."""
        with pytest.raises(VideoError, match="the videos file nowhere.json cannot be read"):
            load_videos(tmp_path / "nowhere.json")


class TestSettings:
    def test_receiver_videos_reads_the_file(self, tmp_path: Path) -> None:
        """RECEIVER_VIDEOS=<file> gives Settings.videos."""
        settings = load_settings({"RECEIVER_VIDEOS": str(write_json(tmp_path, [GOOD]))})
        assert [v.url for v in settings.videos] == [GOOD["url"]]

    def test_bad_videos_file_is_a_settings_error_naming_key_file_entry_and_field(self, tmp_path: Path) -> None:
        """SettingsError carries RECEIVER_VIDEOS, the file, the entry and the key."""
        path = write_json(tmp_path, [{**GOOD, "fps": -2}])
        with pytest.raises(SettingsError, match=r"RECEIVER_VIDEOS=.*\(environment\): the videos file videos.json, entry 1: key fps"):
            load_settings({"RECEIVER_VIDEOS": str(path)})

    def test_receiver_serve_exits_2_with_the_sentence(self, tmp_path: Path) -> None:
        """`receiver serve` refuses to start, printing the sentence, exit 2."""
        import io

        from receiver.cli import main

        err = io.StringIO()
        code = main(["serve"], environ={"RECEIVER_VIDEOS": str(write_json(tmp_path, [{**GOOD, "frames": 0}]))}, out=io.StringIO(), err=err)
        assert code == 2 and "entry 1: key frames must be a positive whole number" in err.getvalue()

    @pytest.mark.parametrize("value", ["0", "-1", "three"])
    def test_retire_after_below_one_is_refused(self, value: str) -> None:
        """RECEIVER_RETIRE_AFTER must be a whole number, 1 or more."""
        with pytest.raises(SettingsError, match="RECEIVER_RETIRE_AFTER"):
            load_settings({"RECEIVER_RETIRE_AFTER": value})

    def test_public_url_is_kept_without_its_trailing_slash(self) -> None:
        """https://labels.example.org/receiver/ becomes https://labels.example.org/receiver."""
        settings = load_settings({"RECEIVER_PUBLIC_URL": "https://labels.example.org/receiver/"})
        assert settings.public_url == "https://labels.example.org/receiver"

    @pytest.mark.parametrize(
        "value",
        ["ftp://labels.example.org", "https://labels.example.org/a b", "https://labels.example.org/?q=1", "https://user@labels.example.org",
         "https://labels.example.org/#top", "labels.example.org", "https://[::1]/", "https://labels.example.org/<b>"],
    )
    def test_public_url_must_be_a_plain_http_address(self, value: str) -> None:
        """Other schemes, whitespace, queries, fragments, user info, brackets and markup are refused with a sentence."""
        with pytest.raises(SettingsError, match=r"RECEIVER_PUBLIC_URL=.*expected an http\(s\) address"):
            load_settings({"RECEIVER_PUBLIC_URL": value})


PROBED = {
    **GOOD, "frames": 3, "path": "mice/day-1.mp4", "times": [10.0, 10.04, 10.1], "start": 10.0, "constant_rate": False,
    "codec": "mjpeg", "container": "avi", "rotation": 90, "playable": False,
}


class TestProbedEntries:
    def test_what_videos_add_writes_is_read_back(self, tmp_path: Path) -> None:
        """Each probed key lands on the Video, and entry() writes the same keys back."""
        (video,) = load_videos(write_json(tmp_path, [PROBED]))
        assert (video.path, video.times, video.start, video.constant_rate) == ("mice/day-1.mp4", (10.0, 10.04, 10.1), 10.0, False)
        assert (video.codec, video.container, video.rotation, video.playable) == ("mjpeg", "avi", 90, False)
        assert video.entry() == {**PROBED, "fps": 30.0}

    @pytest.mark.parametrize(
        ("change", "expected"),
        [
            ({"times": [0.0, 0.1]}, "key times must list 3 numbers"),
            ({"times": [0.0, 0.2, 0.1]}, "key times must not go back in time"),
            ({"times": [0.0, True, 0.1]}, "key times must list 3 numbers"),
            ({"rotation": 45}, "key rotation must be 0, 90, 180 or 270"),
            ({"playable": "yes"}, "key playable must be true or false"),
            ({"codec": "h264; rm -rf"}, "key codec must be a short name"),
            ({"path": "../etc/passwd"}, "key path must stay inside RECEIVER_VIDEO_DIR"),
            ({"path": "/etc/passwd"}, "key path must stay inside RECEIVER_VIDEO_DIR"),
            ({"path": "mice/.hidden.mp4"}, "key path must stay inside RECEIVER_VIDEO_DIR"),
            ({"path": "mice\\day.mp4"}, "key path must be a file's path relative to RECEIVER_VIDEO_DIR"),
        ],
    )
    def test_a_bad_probed_key_is_refused(self, tmp_path: Path, change: dict[str, Any], expected: str) -> None:
        """The probed keys are checked as strictly as the five."""
        with pytest.raises(VideoError, match="entry 1: " + re.escape(expected)):
            load_videos(write_json(tmp_path, [{**PROBED, **change}]))


class TestPublic:
    def test_a_hand_written_entry_shows_its_five_keys(self) -> None:
        """Nothing new appears for an entry on another host."""
        video = place_videos([Video(GOOD["url"], 30.0, 900, 1280, 720)], bases=["http://127.0.0.1:8000"], server_frames="auto")[0]
        assert video.public() == {**GOOD, "fps": 30.0}

    def test_a_hand_written_entry_the_receiver_serves_gets_a_frame_url(self) -> None:
        """A URL on this receiver's /videos/ is a file it serves, and decodes."""
        url = "http://127.0.0.1:8000/videos/mice/a%20b.mp4"
        (video,) = place_videos([Video(url, 30.0, 900, 1280, 720)], bases=["http://127.0.0.1:8000"], server_frames="auto")
        assert video.path == "mice/a b.mp4"
        assert video.public() == {"url": url, "fps": 30.0, "frames": 900, "width": 1280, "height": 720, "frame_url": f"/api/frames/{video_id(url)}/{{index}}"}

    def test_a_probed_entry_shows_times_start_and_decode(self, tmp_path: Path) -> None:
        """A video browsers cannot play is labeled on decoded frames; the id is the URL's SHA-256, 16 hex digits."""
        (video,) = place_videos(load_videos(write_json(tmp_path, [PROBED])), bases=[], server_frames="auto")
        shown = video.public()
        assert shown["times"] == [10.0, 10.04, 10.1] and shown["start"] == 10.0
        assert shown["frame_url"] == f"/api/frames/{hashlib.sha256(GOOD['url'].encode()).hexdigest()[:16]}/{{index}}"
        assert shown["decode"] is True

    def test_a_playable_probed_entry_is_decoded_only_when_always(self, tmp_path: Path) -> None:
        """auto leaves a playable video to the browser; always decodes it too."""
        videos = load_videos(write_json(tmp_path, [{**PROBED, "playable": True}]))
        assert "decode" not in place_videos(videos, bases=[], server_frames="auto")[0].public()
        assert place_videos(videos, bases=[], server_frames="always")[0].public()["decode"] is True

    def test_settings_place_the_videos(self, tmp_path: Path) -> None:
        """load_settings applies RECEIVER_SERVER_FRAMES and the receiver's own address."""
        url = "http://127.0.0.1:8000/videos/a.mp4"
        path = write_json(tmp_path, [{**GOOD, "url": url}])
        settings = load_settings({"RECEIVER_VIDEOS": str(path), "RECEIVER_SERVER_FRAMES": "always"})
        assert settings.videos[0].path == "a.mp4" and settings.videos[0].public()["decode"] is True


class TestVerifyVideos:
    def test_only_served_files_are_opened(self, tmp_path: Path) -> None:
        """An entry on another host is not fetched at start."""
        opened: list[Path] = []

        def read(path: Path) -> Probe:
            opened.append(path)
            raise AssertionError("not to be opened")

        assert verify_videos([Video(GOOD["url"], 30.0, 900, 1280, 720)], tmp_path, read=read) == []
        assert opened == []

    def test_names_every_disagreement_with_both_values(self, tmp_path: Path) -> None:
        """Rate, count and size, each with the entry's value and the video's."""
        (tmp_path / "a.mp4").write_bytes(b"")
        found = Probe(frames=899, times=(), start=0.0, fps=30000 / 1001, constant_rate=True, width=640, height=480, rotation=0,
                      codec="h264", container="mp4", playable=True)
        video = Video("http://127.0.0.1:8000/videos/a.mp4", 30.0, 900, 1280, 720, path="a.mp4")
        assert verify_videos([video], tmp_path, read=lambda _: found) == [
            "entry 1: fps 30 disagrees with the video's 29.97",
            "entry 1: frames 900 disagrees with the video's 899",
            "entry 1: size 1280x720 disagrees with the video's 640x480",
        ]


class TestMisaddressed:
    def test_a_served_entry_at_another_address_is_named(self) -> None:
        """Written before RECEIVER_PUBLIC_URL was set: served, but browsers would ask 127.0.0.1."""
        video = Video("http://127.0.0.1:8000/videos/a.mp4", 30.0, 9, 8, 6, path="a.mp4")
        (warning,) = misaddressed_videos([video], ["https://labels.example.org"])
        assert warning.startswith("entry 1: http://127.0.0.1:8000/videos/a.mp4 is not an address of this receiver (https://labels.example.org/videos/...)")

    def test_entries_at_the_receivers_address_and_other_hosts_pass(self) -> None:
        served = Video("https://labels.example.org/videos/a.mp4", 30.0, 9, 8, 6, path="a.mp4")
        elsewhere = Video("https://videos.example.org/b.mp4", 30.0, 9, 8, 6)
        assert misaddressed_videos([served, elsewhere], ["https://labels.example.org"]) == []
