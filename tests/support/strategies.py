"""Hypothesis strategies for submissions: valid ones, built within the schema and the rules."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from receiver.contract.schemas import SUBMISSION, load_schema, load_skeleton

__all__ = ["valid_submissions", "schema_documents"]

_SCHEMA = load_schema(SUBMISSION)
_SKELETON = load_skeleton()


@st.composite
def _labels(draw: st.DrawFn, width: int, height: int) -> list[dict[str, Any]]:
    coordinate = {
        "pixel_x": st.one_of(st.integers(0, width), st.floats(0, width, allow_nan=False)),
        "pixel_y": st.one_of(st.integers(0, height), st.floats(0, height, allow_nan=False)),
    }
    keypoints = draw(st.permutations(list(_SKELETON.keypoints)))
    placed = draw(st.lists(st.booleans(), min_size=len(keypoints), max_size=len(keypoints)).filter(any))
    labels = []
    for keypoint, is_placed in zip(keypoints, placed):
        labels.append(
            {
                "id": keypoint.id,
                "name": draw(st.sampled_from([keypoint.name, keypoint.id.replace("_", " ").title()])),
                "placed": is_placed,
                "pixel_x": draw(coordinate["pixel_x"]) if is_placed else None,
                "pixel_y": draw(coordinate["pixel_y"]) if is_placed else None,
            }
        )
    return labels


_zones = st.sampled_from([timezone.utc, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))])


@st.composite
def valid_submissions(draw: st.DrawFn) -> dict[str, Any]:
    """Submissions the validator must accept: every field inside the schema and the rules."""
    width, height = draw(st.integers(1, 4096)), draw(st.integers(1, 4096))
    total = draw(st.integers(1, 1_000_000))
    moment = draw(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=_zones))
    stamp = moment.isoformat(timespec=draw(st.sampled_from(["seconds", "milliseconds"])))
    if moment.utcoffset() == timedelta(0) and draw(st.booleans()):
        stamp = stamp.replace("+00:00", "Z")
    submission = {
        "video_url": draw(st.sampled_from(["https://", "http://"])) + draw(st.from_regex(r"[a-z]{1,12}\.[a-z]{2,4}/[a-z0-9/_.-]{0,40}", fullmatch=True)),
        "frame_index": draw(st.integers(0, total)),
        "total_frames": total,
        "fps": draw(st.one_of(st.integers(1, 240), st.floats(0.5, 1000, allow_nan=False))),
        "frame_width": width,
        "frame_height": height,
        "timestamp": stamp,
        "labels": draw(_labels(width, height)),
    }
    if draw(st.booleans()):
        submission["metadata"] = draw(from_schema(_SCHEMA["properties"]["metadata"]))
    return submission


def schema_documents() -> st.SearchStrategy[Any]:
    """Anything the submission schema alone accepts (the Python rules may still refuse it)."""
    return from_schema(_SCHEMA)
