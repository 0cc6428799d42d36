"""next-frame hands each frame's kept model prediction to the page, which shows it as suggestions."""

from __future__ import annotations

import random
from pathlib import Path

from starlette.testclient import TestClient

from receiver.settings import Settings
from receiver.web.app import create_app
from receiver.web.openapi import openapi_document
from tests.volunteers.test_predictions import VIDEO, environ, pose_file, run

__all__ = ["environ"]  # the fixture, used here by name


def _frames(tmp_path: Path, environ: dict[str, str]) -> list[dict[str, object]]:
    settings = Settings(local_repo=tmp_path / "data" / "annotations.git", journal=Path(environ["RECEIVER_JOURNAL"]), videos=(VIDEO,), rate_limit=None, session_limit=None)
    seeds = random.Random(3)
    with TestClient(create_app(settings, entropy=lambda: seeds.randrange(2**32))) as client:
        session = client.post("/api/sessions").json()["session"]
        answer = client.get("/api/next-frame", params={"count": "10"}, headers={"X-Volunteer-Session": session}).json()
    frames: list[dict[str, object]] = answer["frames"]
    return frames


def test_a_predicted_frame_comes_with_its_model_and_points(tmp_path: Path, environ: dict[str, str]) -> None:
    """Each handed-out frame of a predicted range carries the model version and the point of every keypoint."""
    run(environ, "import", str(pose_file(tmp_path / "model.slp")), "--model", "resnet-v3")
    frames = _frames(tmp_path, environ)
    assert frames and all(frame["prediction"]["model"] == "resnet-v3" for frame in frames)  # type: ignore[index]
    first = frames[0]["prediction"]["keypoints"]  # type: ignore[index]
    assert first["right_front_paw"]["x"] == 300.0 and first["right_front_paw"]["y"] == 300.0


def test_a_frame_without_a_prediction_has_no_prediction_field(tmp_path: Path, environ: dict[str, str]) -> None:
    """Frames the model did not predict are handed out as before."""
    run(environ, "import", str(pose_file(tmp_path / "model.slp", frames=range(2))), "--model", "v1")
    frames = _frames(tmp_path, environ)
    assert all(("prediction" in frame) == (frame["frame_index"] in (0, 1)) for frame in frames)


def test_the_openapi_document_describes_the_prediction_and_origin() -> None:
    """next-frame's prediction and a label's origin are in the API description."""
    document = openapi_document("test")
    item = document["paths"]["/api/next-frame"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["frames"]["items"]
    assert item["properties"]["prediction"]["required"] == ["model", "keypoints"]
    assert document["components"]["schemas"]["Label"]["properties"]["origin"]["enum"] == ["suggested", "placed"]
