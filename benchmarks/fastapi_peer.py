"""The peer benchmarks/intake.py measures the receiver against: the same submit path as FastAPI + pydantic would write it.

A pydantic model of the submission with the schema's bounds, the skeleton's
names filled in, the receiver's own record (`Record.create`) and its own
journal (SQLite, WAL, synchronous=FULL, group commit), and 202 once the journal
has kept the record: what the receiver does on its hot path, in the shape a
FastAPI service would take. Not a dependency of the receiver: install the two
into the benchmark's environment with

    pip install fastapi pydantic

Run by benchmarks/intake.py as `uvicorn fastapi_peer:app` with the journal
file in RECEIVER_PEER_JOURNAL.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from fastapi import FastAPI
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from receiver import __version__
from receiver.contract.records import Record
from receiver.contract.schemas import load_skeleton
from receiver.contract.validation import fill_names
from receiver.journal import Journal

_TEXT = r"^[^\u0000-\u001F\u007F-\u009F]*$"


class Label(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    name: Annotated[str, Field(min_length=1, max_length=128, pattern=_TEXT)] | None = None
    placed: bool
    pixel_x: Annotated[float, Field(ge=0, le=65536)] | None
    pixel_y: Annotated[float, Field(ge=0, le=65536)] | None
    visible: bool | None = None
    origin: Literal["suggested", "placed"] | None = None


class Submission(BaseModel):
    model_config = ConfigDict(extra="forbid")

    video_url: Annotated[str, Field(min_length=8, max_length=2048, pattern=r"^https?://[^\s]+$")]
    frame_index: Annotated[int, Field(ge=0, le=100_000_000, strict=True)]
    total_frames: Annotated[int, Field(ge=1, le=100_000_000, strict=True)]
    fps: Annotated[float, Field(gt=0, le=1000)]
    frame_width: Annotated[int, Field(ge=1, le=65536, strict=True)]
    frame_height: Annotated[int, Field(ge=1, le=65536, strict=True)]
    timestamp: datetime
    labels: Annotated[list[Label], Field(min_length=1, max_length=64)]
    metadata: Annotated[dict[str, str | float | bool | None], Field(max_length=16)] | None = None


SKELETON = load_skeleton()
journal = Journal(Path(os.environ.get("RECEIVER_PEER_JOURNAL", "peer-journal.sqlite3")))


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    journal.open()
    try:
        yield
    finally:
        journal.close()


app = FastAPI(lifespan=lifespan)


def _json(content: dict[str, Any], status: int) -> Response:
    return Response(orjson.dumps(content), status_code=status, media_type="application/json")


@app.post("/api/labels", status_code=202)
async def labels(submission: Submission) -> Response:
    names = {k.id for k in SKELETON.keypoints}
    placed = [label for label in submission.labels if label.placed]
    if {label.id for label in submission.labels} != names or len(submission.labels) != len(names) or not placed:
        return _json({"error": "send every keypoint once and place one"}, 422)
    for label in placed:
        if label.pixel_x is None or label.pixel_y is None or label.pixel_x > submission.frame_width or label.pixel_y > submission.frame_height:
            return _json({"error": "a placed keypoint lies outside the frame"}, 422)
    if submission.frame_index > submission.total_frames or submission.timestamp.tzinfo is None:
        return _json({"error": "frame_index or timestamp is wrong"}, 422)
    document = submission.model_dump(mode="json", exclude_unset=True)
    record = Record.create(fill_names(document, SKELETON), submitter="anonymous", received_at=datetime.now(timezone.utc), receiver_version=__version__)
    admission = await journal.admit(record)
    status = 202 if admission.created else 200
    return _json({"message": "Thank you!", "id": record.id, "path": record.path, "status": admission.entry.state}, status)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
