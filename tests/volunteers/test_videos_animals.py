"""The optional `animals` and `tracks` of a videos-file entry: what the validator is told each video allows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from receiver.contract.validation import Allowance
from receiver.volunteers.videos import VideoError, load_videos, video_allowances

GOOD = {"url": "https://videos.example.org/mice.mp4", "fps": 30, "frames": 900, "width": 1280, "height": 720}


def _load(tmp_path: Path, **entry: Any) -> Any:
    path = tmp_path / "videos.json"
    path.write_text(json.dumps([{**GOOD, **entry}]), encoding="utf-8")
    return load_videos(path)


def test_an_entry_without_animals_allows_one_and_shows_as_before(tmp_path: Path) -> None:
    (video,) = _load(tmp_path)
    assert (video.animals, video.tracks) == (1, ())
    assert video.public() == {"url": GOOD["url"], "fps": 30.0, "frames": 900, "width": 1280, "height": 720}
    assert video_allowances([video]) == {}


def test_animals_and_tracks_become_the_videos_allowance(tmp_path: Path) -> None:
    (video,) = _load(tmp_path, animals=2, tracks=["mother", "pup"])
    assert video_allowances([video]) == {GOOD["url"]: Allowance(2, ("mother", "pup"))}
    assert video.public()["animals"] == 2 and video.public()["tracks"] == ["mother", "pup"]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"animals": 0}, "key animals must be a whole number of animals per frame, from 1 to 16"),
        ({"animals": 17}, "key animals must be a whole number"),
        ({"animals": True}, "key animals must be a whole number"),
        ({"tracks": "mother"}, "key tracks must be a list of names"),
        ({"tracks": ["a b"]}, "key tracks must be a list of names"),
        ({"tracks": ["pup", "pup"]}, "key tracks names a track twice"),
    ],
)
def test_a_bad_animals_or_tracks_key_is_refused_naming_entry_and_key(tmp_path: Path, entry: dict[str, Any], expected: str) -> None:
    with pytest.raises(VideoError) as refused:
        _load(tmp_path, **entry)
    assert str(refused.value).startswith(f"the videos file videos.json, entry 1: {expected}")
