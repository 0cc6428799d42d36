"""Gold screening over the app: expert frames test new sessions, and a voice far off them stops counting."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from receiver.contract.records import Record
from tests.volunteers.frames.conftest import VIDEO, Apps, far_label, honest_label

GOLD_FRAMES = range(10)


@pytest.fixture
def gold_file(tmp_path: Path) -> Path:
    """An expert's labels of frames 0-9, on the truth, as `receiver consensus --gold` reads them."""
    when = datetime(2026, 12, 1, tzinfo=timezone.utc)
    documents = [
        Record.create(honest_label(VIDEO, frame, "expert-0001", noise=0.0), submitter="expert", received_at=when, receiver_version="0.1.0").document()
        for frame in GOLD_FRAMES
    ]
    path = tmp_path / "gold.json"
    path.write_text(json.dumps(documents), encoding="utf-8")
    return path


def handed(apps: Apps, client: TestClient, name: str, count: int) -> list[int]:
    answer = apps.volunteer(client, name).get("/api/next-frame", {"count": str(count)})
    assert answer.status_code == 200, answer.text
    return [frame["frame_index"] for frame in answer.json()["frames"]]


def test_gold_frames_count_as_retired(apps: Apps, gold_file: Path) -> None:
    """The expert settled them: the crowd's progress starts with them done."""
    progress = apps.start(gold=gold_file).get("/api/progress").json()["videos"][0]
    assert (progress["retired"], progress["untouched"]) == (len(GOLD_FRAMES), VIDEO.frames - len(GOLD_FRAMES))


def test_new_sessions_are_shown_gold_about_four_frames_in_ten(apps: Apps, gold_file: Path) -> None:
    client = apps.start(gold=gold_file)
    frames = [f for n in range(40) for f in handed(apps, client, f"new-{n:04d}-vol", 5)]
    gold = sum(f in GOLD_FRAMES for f in frames)
    assert len(frames) == 200 and 50 <= gold <= 110


def test_without_screening_no_session_is_shown_gold(apps: Apps, gold_file: Path) -> None:
    client = apps.start(gold=gold_file, gold_screening=False)
    frames = [f for n in range(20) for f in handed(apps, client, f"new-{n:04d}-vol", 5)]
    assert frames and not any(f in GOLD_FRAMES for f in frames)


def test_a_session_that_misses_gold_twice_stops_counting_and_its_frames_are_judged_again(apps: Apps, gold_file: Path) -> None:
    """Mallory helped retire frame 20 with two honest volunteers; after two gold misses her label weighs nothing, and frame 20 needs labels again."""
    client = apps.start(gold=gold_file)
    alice, bob, mallory = (apps.volunteer(client, name) for name in ("alice-0001", "bob-00000002", "mallory-0003"))
    for volunteer in (alice, bob, mallory):
        assert volunteer.post(honest_label(VIDEO, 20, volunteer.name)).status_code == 202
    assert client.get("/api/progress").json()["videos"][0]["retired"] == len(GOLD_FRAMES) + 1
    for frame in (1, 2):
        assert mallory.post(far_label(VIDEO, frame, mallory.name)).status_code == 202
    progress = client.get("/api/progress").json()
    assert progress["videos"][0]["retired"] == len(GOLD_FRAMES) and progress["reopened"] == 1


def test_a_session_that_matches_gold_keeps_counting(apps: Apps, gold_file: Path) -> None:
    client = apps.start(gold=gold_file)
    alice, bob, carol = (apps.volunteer(client, name) for name in ("alice-0001", "bob-00000002", "carol-000003"))
    for frame in (1, 2, 3):
        assert carol.post(honest_label(VIDEO, frame, carol.name)).status_code == 202
    for volunteer in (alice, bob, carol):
        assert volunteer.post(honest_label(VIDEO, 20, volunteer.name)).status_code == 202
    assert client.get("/api/progress").json()["videos"][0]["retired"] == len(GOLD_FRAMES) + 1


def test_an_unreadable_gold_source_stops_the_start_with_a_sentence(apps: Apps, tmp_path: Path) -> None:
    broken = tmp_path / "gold.json"
    broken.write_text("[{", encoding="utf-8")
    with pytest.raises(RuntimeError, match="RECEIVER_GOLD: cannot read gold.json"):
        apps.start(gold=broken)
