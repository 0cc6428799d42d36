"""RECEIVER_VIDEOS: a JSON or TOML list of videos, refused at start with a sentence naming the file, entry and key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from receiver.settings import SettingsError, load_settings
from receiver.volunteers.videos import Video, VideoError, load_videos

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
