"""Records for the store tests: variations on a submission the labeling page really posted."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest

from receiver.contract.records import Record

RECEIVED = datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc)
COMMITTED = datetime(2026, 1, 15, 12, 30, tzinfo=timezone.utc)

MakeRecord = Callable[[int], Record]

# The body of a captured POST with all six keypoints placed.
CAPTURED: dict[str, Any] = {
    "video_url": "https://ember-open-data.s3.amazonaws.com/blobs/59e/7d8/59e7d85b-6827-4e62-977a-bab97c54df82",
    "frame_index": 178,
    "total_frames": 300,
    "fps": 30,
    "frame_width": 1280,
    "frame_height": 720,
    "timestamp": "2026-11-25T08:24:17.520Z",
    "labels": [
        {"id": "left_front_paw", "name": "Left Front Paw", "placed": True, "pixel_x": 1198, "pixel_y": 480},
        {"id": "right_front_paw", "name": "Right Front Paw", "placed": True, "pixel_x": 392, "pixel_y": 496},
        {"id": "left_hind_paw", "name": "Left Hind Paw", "placed": True, "pixel_x": 686, "pixel_y": 574},
        {"id": "right_hind_paw", "name": "Right Hind Paw", "placed": True, "pixel_x": 910, "pixel_y": 114},
        {"id": "nose", "name": "Nose", "placed": True, "pixel_x": 714, "pixel_y": 472},
        {"id": "tail_base", "name": "Tail Base", "placed": True, "pixel_x": 1232, "pixel_y": 360},
    ],
}


@pytest.fixture(scope="session")
def submission() -> dict[str, Any]:
    """The captured six-placed submission the browser page posts."""
    return copy.deepcopy(CAPTURED)


@pytest.fixture
def make_record(submission: dict[str, Any]) -> MakeRecord:
    """Distinct valid records by number: frame, timestamp and one coordinate vary."""

    def make(number: int) -> Record:
        body = copy.deepcopy(submission)
        body["frame_index"] = number % (body["total_frames"] + 1)
        body["timestamp"] = f"2026-01-15T10:{(number // 60) % 60:02d}:{number % 60:02d}.000Z"
        body["labels"][0]["pixel_x"] = number % body["frame_width"]
        body["labels"][0]["pixel_y"] = (number // body["frame_width"]) % body["frame_height"]
        return Record.create(body, submitter="anonymous", received_at=RECEIVED, receiver_version="0.1.0")

    return make

