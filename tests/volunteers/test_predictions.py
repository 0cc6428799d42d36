"""`receiver predictions`: a model's predictions imported whole or not at all, and next-frame asking where they are most in doubt."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio
from starlette.testclient import TestClient

from receiver.cli import main
from receiver.settings import Settings
from receiver.volunteers.predictions import Prediction, doubts
from receiver.volunteers.videos import Video
from receiver.web.app import create_app

VIDEO = Video(url="https://videos.example.org/mouse-1.mp4", fps=30.0, frames=40, width=1280, height=720)
NODES = ["left_front_paw", "right_front_paw", "left_hind_paw", "right_hind_paw", "nose", "tail_base"]
#: The frames the made-up model is unsure of.
UNSURE = {5, 17, 31}


def pose_file(path: Path, *, video_name: str = "mouse-1.mp4", nodes: list[str] = NODES, frames: range = range(40)) -> Path:
    """A SLEAP predictions file: steady points scored 0.95, except on the unsure frames (scored 0.2)."""
    skeleton = sio.Skeleton(nodes)
    video = sio.Video(filename=f"/lab/videos/{video_name}", open_backend=False)
    labeled = []
    for frame in frames:
        xy = np.array([[200.0 + 100 * k, 300.0] for k in range(len(nodes))])
        scores = np.full(len(nodes), 0.2 if frame in UNSURE else 0.95)
        instance = sio.PredictedInstance.from_numpy(xy, skeleton=skeleton, point_scores=scores, score=float(scores.mean()))
        labeled.append(sio.LabeledFrame(video=video, frame_idx=frame, instances=[instance]))
    sio.Labels(labeled).save(str(path))
    return path


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    videos = tmp_path / "videos.json"
    videos.write_text(json.dumps([VIDEO.public()]), encoding="utf-8")
    return {"RECEIVER_VIDEOS": str(videos), "RECEIVER_JOURNAL": str(tmp_path / "journal.sqlite3")}


def run(environ: dict[str, str], *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["predictions", *argv], environ=environ, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_import_keeps_every_predicted_frame_and_list_shows_them(tmp_path: Path, environ: dict[str, str]) -> None:
    code, out, err = run(environ, "import", str(pose_file(tmp_path / "model.slp")), "--model", "resnet-v3")
    assert (code, err) == (0, "") and out.startswith("40 predicted frame(s) imported from 1 file(s).")
    code, out, _ = run(environ, "list")
    assert code == 0 and f"{VIDEO.url}  model resnet-v3: 40 frame(s)" in out


def test_a_newer_import_replaces_the_frames_it_predicts(tmp_path: Path, environ: dict[str, str]) -> None:
    run(environ, "import", str(pose_file(tmp_path / "old.slp")), "--model", "v1")
    run(environ, "import", str(pose_file(tmp_path / "new.slp", frames=range(10))), "--model", "v2")
    _, out, _ = run(environ, "list")
    assert "model v1: 30 frame(s)" in out and "model v2: 10 frame(s)" in out


def test_a_video_that_is_not_configured_is_refused_whole(tmp_path: Path, environ: dict[str, str]) -> None:
    code, _, err = run(environ, "import", str(pose_file(tmp_path / "model.slp", video_name="rat-7.mp4")))
    assert code == 1 and "model.slp, labeled frame 1: its video 'rat-7.mp4' is not one of the configured videos (mouse-1.mp4)" in err
    assert "nothing was imported" in err and "No predictions are loaded" in run(environ, "list")[1]


def test_a_mapped_video_name_is_accepted(tmp_path: Path, environ: dict[str, str]) -> None:
    code, out, err = run(environ, "import", str(pose_file(tmp_path / "model.slp", video_name="rat-7.mp4")), "--video", f"rat-7.mp4={VIDEO.url}")
    assert (code, err) == (0, "") and out.startswith("40 predicted frame(s)")


def test_an_unmapped_keypoint_is_refused_with_the_skeletons_names(tmp_path: Path, environ: dict[str, str]) -> None:
    nodes = [*NODES[:5], "tail"]
    code, _, err = run(environ, "import", str(pose_file(tmp_path / "model.slp", nodes=nodes)))
    assert code == 1 and "keypoint 'tail' is not in the skeleton (left_front_paw, right_front_paw" in err and "--keypoint tail=ID" in err
    code, _, err = run(environ, "import", str(pose_file(tmp_path / "model.slp", nodes=nodes)), "--keypoint", "tail=tail_base")
    assert (code, err) == (0, "")


def test_a_frame_past_the_videos_end_is_refused_whole(tmp_path: Path, environ: dict[str, str]) -> None:
    code, _, err = run(environ, "import", str(pose_file(tmp_path / "model.slp", frames=range(35, 45))))
    assert code == 1 and "frame 40 is past the end of" in err and "No predictions are loaded" in run(environ, "list")[1]


def test_a_file_that_is_not_a_pose_file_is_refused(tmp_path: Path, environ: dict[str, str]) -> None:
    broken = tmp_path / "model.slp"
    broken.write_bytes(b"not hdf5")
    code, _, err = run(environ, "import", str(broken))
    assert code == 1 and "model.slp cannot be read as a pose file" in err


def test_a_jump_between_neighbouring_frames_is_doubt_even_when_scored_high() -> None:
    steady = [Prediction(VIDEO.url, i, "m", tuple((100.0, 100.0, 0.99) for _ in NODES)) for i in range(5)]
    jumped = steady[:2] + [Prediction(VIDEO.url, 2, "m", tuple((400.0, 100.0, 0.99) for _ in NODES))] + steady[3:]
    values = doubts(jumped, VIDEO.width, VIDEO.height)
    assert values[2] == 1.0 and values[0] < 0.05 and values[1] == 1.0  # frame 1's neighbour jumped too


def test_uncertain_choice_hands_out_the_frames_the_model_doubts_first(tmp_path: Path, environ: dict[str, str]) -> None:
    run(environ, "import", str(pose_file(tmp_path / "model.slp")))
    settings = Settings(local_repo=tmp_path / "data" / "annotations.git", journal=Path(environ["RECEIVER_JOURNAL"]), videos=(VIDEO,), frame_choice="uncertain", rate_limit=None, session_limit=None)
    seeds = random.Random(7)
    with TestClient(create_app(settings, entropy=lambda: seeds.randrange(2**32))) as client:
        session = client.post("/api/sessions").json()["session"]
        answer = client.get("/api/next-frame", params={"count": "3"}, headers={"X-Volunteer-Session": session}).json()
    assert {frame["frame_index"] for frame in answer["frames"]} == UNSURE


def test_uniform_choice_ignores_predictions(tmp_path: Path, environ: dict[str, str]) -> None:
    run(environ, "import", str(pose_file(tmp_path / "model.slp")))
    settings = Settings(local_repo=tmp_path / "data" / "annotations.git", journal=Path(environ["RECEIVER_JOURNAL"]), videos=(VIDEO,), rate_limit=None, session_limit=None)
    seeds = random.Random(7)
    with TestClient(create_app(settings, entropy=lambda: seeds.randrange(2**32))) as client:
        handed = set()
        for _ in range(5):
            session = client.post("/api/sessions").json()["session"]
            answer = client.get("/api/next-frame", params={"count": "3"}, headers={"X-Volunteer-Session": session}).json()
            handed |= {frame["frame_index"] for frame in answer["frames"]}
    assert handed - UNSURE


def test_a_doubtful_frame_once_retired_is_not_handed_out_again(tmp_path: Path, environ: dict[str, str]) -> None:
    """Three volunteers settle the frames the model doubts; the next one is handed other frames."""
    from tests.volunteers.frames.conftest import honest_label

    run(environ, "import", str(pose_file(tmp_path / "model.slp")))
    settings = Settings(local_repo=tmp_path / "data" / "annotations.git", journal=Path(environ["RECEIVER_JOURNAL"]), videos=(VIDEO,), frame_choice="uncertain", rate_limit=None, session_limit=None)
    seeds = random.Random(7)
    app = create_app(settings, entropy=lambda: seeds.randrange(2**32))
    with TestClient(app):
        for n in range(3):
            volunteer = TestClient(app, client=(f"10.0.0.{n + 1}", 50000))
            headers = {"X-Volunteer-Session": volunteer.post("/api/sessions").json()["session"]}
            frames = volunteer.get("/api/next-frame", params={"count": "3"}, headers=headers).json()["frames"]
            assert {frame["frame_index"] for frame in frames} == UNSURE
            for frame in frames:
                body = honest_label(VIDEO, frame["frame_index"], f"volunteer-{n:04d}")
                assert volunteer.post("/api/labels", json=body, headers={**headers, "X-Volunteer-Lease": frame["lease"]}).status_code == 202
        fourth = TestClient(app, client=("10.0.0.9", 50000))
        headers = {"X-Volunteer-Session": fourth.post("/api/sessions").json()["session"]}
        frames = fourth.get("/api/next-frame", params={"count": "3"}, headers=headers).json()["frames"]
    assert len(frames) == 3 and not {frame["frame_index"] for frame in frames} & UNSURE
