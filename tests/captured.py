"""Requests captured from the real labeling page in headless Chromium (see tests/captured/README.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CapturedRequest", "captured_requests", "captured_posts", "captured_body"]

FOLDER = Path(__file__).parent / "captured"


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
