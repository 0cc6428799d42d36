"""Requests captured from the real labeling page in headless Chromium (see tests/captured/README.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from collections.abc import Iterator
from typing import Any

from receiver.contract.records import Record

__all__ = ["CapturedRequest", "captured_requests", "captured_posts", "captured_body", "numbered_submission", "numbered_record", "hostile_submissions"]

FOLDER = Path(__file__).resolve().parents[1] / "captured"


@dataclass(frozen=True)
class CapturedRequest:
    name: str
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    request_line: str

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def json(self) -> Any:
        return json.loads(self.body)


def captured_requests() -> list[CapturedRequest]:
    requests = []
    for path in sorted(FOLDER.glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        requests.append(
            CapturedRequest(
                name=path.stem,
                method=raw["method"],
                path=raw["path"],
                headers=tuple((k, v) for k, v in raw["headers"]),
                body=raw["body"].encode("utf-8"),
                request_line=raw["request_line"],
            )
        )
    return requests


def captured_posts() -> list[CapturedRequest]:
    return [r for r in captured_requests() if r.method == "POST"]


def captured_body(name: str = "post_six_placed") -> dict[str, Any]:
    """A fresh copy of one captured POST body, to mutate in a test."""
    body: dict[str, Any] = next(r for r in captured_posts() if r.name == name).json()
    return body


def numbered_submission(n: int, **changes: Any) -> dict[str, Any]:
    """The six-placed capture made distinct by `n`: its own frame, timestamp and first coordinate."""
    body = captured_body()
    body["frame_index"] = n % 300
    body["timestamp"] = f"2026-11-25T{(n // 3600) % 24:02d}:{(n // 60) % 60:02d}:{n % 60:02d}.000Z"
    body["labels"][0]["pixel_x"] = n % 1280
    body.update(changes)
    return body


def numbered_record(n: int, *, submitter: str = "anonymous", **changes: Any) -> Record:
    """A record of `numbered_submission(n)`, received at a fixed time."""
    return Record.create(
        numbered_submission(n, **changes),
        submitter=submitter,
        received_at=datetime(2026, 11, 25, tzinfo=timezone.utc),
        receiver_version="0.1.0",
    )


def hostile_submissions() -> Iterator[dict[str, Any]]:
    """The captured post with each hostile text in each field a volunteer writes: what no check may let through unescaped."""
    from tests.support.hostile import HOSTILE, HOSTILE_URLS

    for text in HOSTILE + HOSTILE_URLS:
        for field in ("video_url", "timestamp", "name", "id", "metadata"):
            body = captured_body()
            if field in ("name", "id"):
                body["labels"][0][field] = text
            elif field == "metadata":
                body["metadata"] = {"note": text}
            else:
                body[field] = text
            yield body
