"""Records and git helpers for the store tests: real git, in tmp_path."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from receiver.records import Record

SAMPLE = Path("/work/shared/testdata/post_six_placed.json")
RECEIVED = datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc)
COMMITTED = datetime(2026, 1, 15, 12, 30, tzinfo=timezone.utc)

MakeRecord = Callable[[int], Record]


@pytest.fixture(scope="session")
def submission() -> dict[str, Any]:
    """The captured six-placed submission the browser page posts."""
    body: dict[str, Any] = json.loads(SAMPLE.read_text())["body_json"]
    return body


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

