"""`receiver validate` on records of several animals: the videos file says what each video allows."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from receiver.contract.records import Record
from receiver.contract.schemas import load_skeleton
from receiver.contract.validation import fill_names
from tests.acceptance.conftest import RunCLI
from tests.support.animals import several_animals


def _stored(root: Path, *tracks: str | None) -> Path:
    body = fill_names(several_animals(*tracks), load_skeleton())
    record = Record.create(body, submitter="anonymous", received_at=datetime(2026, 1, 1, tzinfo=timezone.utc), receiver_version="0.1.0")
    path = root / record.path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(record.to_bytes())
    return path


def _videos(root: Path, **entry: object) -> Path:
    body = several_animals(None)
    video = {"url": body["video_url"], "fps": body["fps"], "frames": body["total_frames"], "width": body["frame_width"], "height": body["frame_height"], **entry}
    path = root / "videos.json"
    path.write_text(json.dumps([video]), encoding="utf-8")
    return path


def test_a_stored_pair_passes_with_the_videos_file_allowing_it(run_cli: RunCLI, tmp_path: Path) -> None:
    _stored(tmp_path / "data", "mother", "pup")
    videos = _videos(tmp_path, animals=2, tracks=["mother", "pup"])
    result = run_cli("validate", "--videos", str(videos), str(tmp_path / "data"))
    assert result.code == 0


def test_a_stored_pair_passes_without_a_videos_file_as_nothing_says_what_the_video_allows(run_cli: RunCLI, tmp_path: Path) -> None:
    _stored(tmp_path / "data", "mother", "pup")
    assert run_cli("validate", str(tmp_path / "data")).code == 0


def test_a_stored_pair_fails_where_the_videos_file_allows_one_animal(run_cli: RunCLI, tmp_path: Path) -> None:
    _stored(tmp_path / "data", None, None)
    videos = _videos(tmp_path)
    result = run_cli("validate", "--format", "json", "--videos", str(videos), str(tmp_path / "data"))
    assert result.code == 1
    problems = json.loads(result.out)["files"][0]["problems"]
    assert problems == [{"pointer": "/submission/instances", "message": "has 2 animals but this video allows one animal; send it as labels"}]


def test_an_unknown_track_in_a_submission_file_fails(run_cli: RunCLI, tmp_path: Path) -> None:
    path = tmp_path / "post.json"
    path.write_text(json.dumps(several_animals("mother", "father")), encoding="utf-8")
    videos = _videos(tmp_path, animals=2, tracks=["mother", "pup"])
    result = run_cli("validate", "--format", "json", "--videos", str(videos), str(path))
    assert result.code == 1
    assert json.loads(result.out)["files"][0]["problems"] == [
        {"pointer": "/instances/1/track", "message": "'father' is not a track of this video; expected one of mother, pup"}
    ]


def test_a_videos_file_with_a_bad_animals_count_is_a_usage_error(run_cli: RunCLI, tmp_path: Path) -> None:
    videos = _videos(tmp_path, animals=0)
    result = run_cli("validate", "--videos", str(videos), str(tmp_path))
    assert result.code == 2
    assert "key animals must be a whole number" in result.err
