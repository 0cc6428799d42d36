"""Test records: valid submissions on a 1280x720 video, built from explicit points or a seeded crowd."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from receiver.contract.records import Record

KEYPOINTS = ("left_front_paw", "right_front_paw", "left_hind_paw", "right_hind_paw", "nose", "tail_base")
TRUTH: dict[str, tuple[float, float]] = {
    "left_front_paw": (520.0, 410.0),
    "right_front_paw": (600.0, 430.0),
    "left_hind_paw": (700.0, 380.0),
    "right_hind_paw": (760.0, 450.0),
    "nose": (480.0, 420.0),
    "tail_base": (800.0, 400.0),
}
VIDEO = "https://example.org/videos/mouse-1.mp4"
WIDTH, HEIGHT = 1280, 720
EPOCH = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def submission(
    points: Mapping[str, tuple[float, float] | None],
    *,
    video_url: str = VIDEO,
    frame_index: int = 10,
    total_frames: int = 300,
    hidden: Sequence[str] = (),
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A valid submission; a keypoint missing from `points` (or None) is not placed, those in `hidden` carry visible false."""
    labels = []
    for key in KEYPOINTS:
        point = points.get(key)
        placed = point is not None
        labels.append(
            {
                "id": key,
                "name": key.replace("_", " ").title(),
                "placed": placed,
                "pixel_x": round(point[0], 2) if point else None,
                "pixel_y": round(point[1], 2) if point else None,
                **({"visible": False} if placed and key in hidden else {}),
            }
        )
    document: dict[str, Any] = {
        "video_url": video_url,
        "frame_index": frame_index,
        "total_frames": total_frames,
        "fps": 30,
        "frame_width": WIDTH,
        "frame_height": HEIGHT,
        "timestamp": "2026-01-15T12:00:00Z",
        "labels": labels,
    }
    if metadata:
        document["metadata"] = dict(metadata)
    return document


def record(points: Mapping[str, tuple[float, float] | None], *, submitter: str = "alice", seconds: int = 0, **where: Any) -> Record:
    return Record.create(
        submission(points, **where),
        submitter=submitter,
        received_at=EPOCH + timedelta(seconds=seconds),
        receiver_version="0.1.0",
    )


def crowd(
    rng: random.Random,
    *,
    volunteers: int,
    noise: float,
    outliers: Sequence[int] = (),
    frame_index: int = 10,
    truth: Mapping[str, tuple[float, float]] = TRUTH,
) -> list[Record]:
    """Volunteers clicking the truth with Gaussian noise; those in `outliers` put the nose 150 px off."""
    records = []
    for i in range(volunteers):
        points = {k: (x + rng.gauss(0, noise), y + rng.gauss(0, noise)) for k, (x, y) in truth.items()}
        if i in outliers:
            x, y = points["nose"]
            points["nose"] = (min(x + 150, WIDTH), min(y + 150, HEIGHT))
        records.append(record(points, submitter=f"volunteer-{i}", seconds=i, frame_index=frame_index))
    return records


def write_folder(root: Path, records: Sequence[Record]) -> Path:
    """Store records as the data repository lays them out; returns the annotations/ folder."""
    for item in records:
        path = root / item.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(item.to_bytes())
    return root / "annotations"
