"""Accepted suggestions in the live tally: the model votes once, and the dashboard shows how it fares against the crowd.

A made-up model predicts every frame of VIDEO on the truth, except the nose of
frame WRONG, which it puts 60 px off. Volunteers either place their own points
(a few pixels from the truth) or accept every suggestion unchanged.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
import sleap_io as sio
from starlette.testclient import TestClient

from receiver.cli import main
from tests.volunteers.frames.conftest import VIDEO, Apps, honest_label, truth

KEYPOINTS = ("left_front_paw", "right_front_paw", "left_hind_paw", "right_hind_paw", "nose", "tail_base")
NOSE = KEYPOINTS.index("nose")
#: The frame whose predicted nose is 60 px from the truth.
WRONG = 30


def predicted(frame: int) -> list[tuple[float, float]]:
    """Where the model puts the keypoints of a frame (rounded as the page sends them back)."""
    points = [(round(x, 1), round(y, 1)) for x, y in truth(VIDEO, frame)]
    if frame == WRONG:
        points[NOSE] = (points[NOSE][0] + 60.0, points[NOSE][1])
    return points


@pytest.fixture
def predictions(apps: Apps, tmp_path: Path) -> str:
    """The model's predictions of every frame, imported with `receiver predictions import` into the journal the apps share."""
    skeleton = sio.Skeleton(list(KEYPOINTS))
    video = sio.Video(filename="/lab/videos/mouse-1.mp4", open_backend=False)
    frames = []
    for frame in range(VIDEO.frames):
        instance = sio.PredictedInstance.from_numpy(np.array(predicted(frame)), skeleton=skeleton, point_scores=np.full(6, 0.9), score=0.9)
        frames.append(sio.LabeledFrame(video=video, frame_idx=frame, instances=[instance]))
    path = tmp_path / "model.slp"
    sio.Labels(frames).save(str(path))
    videos = tmp_path / "videos.json"
    videos.write_text(json.dumps([VIDEO.public()]), encoding="utf-8")
    environ = {"RECEIVER_VIDEOS": str(videos), "RECEIVER_JOURNAL": apps.journal_url or str(apps.journal_path)}
    out, err = io.StringIO(), io.StringIO()
    assert main(["predictions", "import", str(path), "--model", "resnet-v3"], environ=environ, out=out, err=err) == 0, err.getvalue()
    return "resnet-v3"


def accepting(frame: int, volunteer: str) -> dict[str, Any]:
    """A submission that accepts every suggested point unchanged, as a volunteer pressing "accept all" sends it."""
    body = honest_label(VIDEO, frame, volunteer)
    for label, (x, y) in zip(body["labels"], predicted(frame)):
        label.update(placed=True, pixel_x=x, pixel_y=y, origin="suggested")
    body["metadata"]["model"] = "resnet-v3"
    return body


def placed(frame: int, volunteer: str) -> dict[str, Any]:
    """A submission whose every point the volunteer placed, a few pixels from the truth."""
    body = honest_label(VIDEO, frame, volunteer)
    for label in body["labels"]:
        label["origin"] = "placed"
    return body


def post_all(apps: Apps, client: TestClient, bodies: list[dict[str, Any]]) -> None:
    for body in bodies:
        volunteer = apps.volunteer(client, body["metadata"]["volunteer"])
        answer = volunteer.post(body)
        assert answer.status_code == 202, answer.text


def retired(client: TestClient) -> int:
    count: int = client.get("/api/progress").json()["videos"][0]["retired"]
    return count


def test_volunteers_accepting_the_same_suggestions_do_not_retire_a_frame(apps: Apps, predictions: str) -> None:
    """Five volunteers accepting every suggestion are one vote, the model's: the frame stays open."""
    client = apps.start()
    post_all(apps, client, [accepting(10, f"accepts-{n:04d}") for n in range(5)])
    assert retired(client) == 0


def test_agreeing_placed_labels_retire_a_predicted_frame(apps: Apps, predictions: str) -> None:
    """Three volunteers who placed their own points retire the frame, as on a frame without a prediction."""
    client = apps.start()
    post_all(apps, client, [placed(10, f"places-{n:04d}") for n in range(3)])
    assert retired(client) == 1


def test_a_mix_retires_with_the_model_counted_once(apps: Apps, predictions: str) -> None:
    """One placed label and three acceptances make two votes, not four; a second placed label makes the third."""
    client = apps.start()
    post_all(apps, client, [placed(11, "places-0001"), *(accepting(11, f"accepts-{n:04d}") for n in range(3))])
    assert retired(client) == 0
    post_all(apps, client, [placed(11, "places-0002")])
    assert retired(client) == 1


def test_a_keypoint_agreed_only_through_its_suggestion_keeps_the_frame_open(apps: Apps, predictions: str) -> None:
    """Three volunteers who corrected the nose but accepted the other points agree on those points only through the model."""
    client = apps.start()
    bodies = []
    for n in range(3):
        body = accepting(WRONG, f"corrects-{n:04d}")
        body["labels"][NOSE] = placed(WRONG, f"corrects-{n:04d}")["labels"][NOSE]
        bodies.append(body)
    post_all(apps, client, bodies)
    assert retired(client) == 0


def _model_rows(page: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-keypoint="([a-z_]+)"><td>[a-z_]+</td><td>[0-9]+%</td><td>([0-9]+ of [0-9]+)</td></tr>', page))


def test_the_dashboard_shows_the_models_agreement_per_keypoint_and_how_frames_settled(apps: Apps, predictions: str) -> None:
    """Frame 10 settled from scratch with the model right everywhere; frame WRONG from suggestions, with its predicted nose off."""
    client = apps.start()
    post_all(apps, client, [placed(10, f"places-{n:04d}") for n in range(3)])
    post_all(apps, client, [*(placed(WRONG, f"places-{n:04d}") for n in range(3)), *(accepting(WRONG, f"accepts-{n:04d}") for n in range(2))])
    assert retired(client) == 2
    page = client.get("/dashboard").text
    assert 'data-model="resnet-v3"' in page
    assert _model_rows(page) == {k: ("1 of 2" if k == "nose" else "2 of 2") for k in KEYPOINTS}
    assert re.search(r'data-testid="card-settled-from-suggestions"><b class="">1</b>', page)
    assert re.search(r'data-testid="card-settled-from-scratch"><b class="">1</b>', page)


def test_a_frame_brought_back_from_retirement_leaves_the_models_figures(apps: Apps, predictions: str) -> None:
    """Later disagreeing labels reopen a settled frame: it no longer counts as settled, nor its comparison with the model."""
    client = apps.start()
    post_all(apps, client, [placed(10, f"places-{n:04d}") for n in range(3)])
    assert _model_rows(client.get("/dashboard").text)["nose"] == "1 of 1"
    far = [placed(10, f"far-{n:04d}") for n in range(2)]
    for body in far:
        for label in body["labels"]:
            label.update(pixel_x=(label["pixel_x"] + VIDEO.width / 2) % VIDEO.width, pixel_y=(label["pixel_y"] + VIDEO.height / 2) % VIDEO.height)
    post_all(apps, client, far)
    page = client.get("/dashboard").text
    assert retired(client) == 0
    assert _model_rows(page) == {}
    assert re.search(r'data-testid="card-settled-from-scratch"><b class="">0</b>', page)


def test_without_predictions_the_dashboard_has_no_model_section(apps: Apps) -> None:
    client = apps.start()
    post_all(apps, client, [placed(10, f"places-{n:04d}") for n in range(3)])
    assert retired(client) == 1
    assert "The model and the crowd" not in client.get("/dashboard").text


def test_a_frame_whose_cap_is_filled_by_echoes_of_the_model_is_not_handed_out_again(apps: Apps, predictions: str) -> None:
    """Further labels of a frame at its label cap cannot count, so a frame full of acceptances stops being handed out, though it is not retired."""
    client = apps.start(videos=(replace(VIDEO, frames=11),), label_cap=4)
    post_all(apps, client, [placed(frame, "places-0001") for frame in range(10)])
    post_all(apps, client, [accepting(10, f"accepts-{n:04d}") for n in range(4)])
    answer = apps.volunteer(client, "newcomer-0001").get("/api/next-frame", {"count": "10"})
    assert answer.status_code == 200, answer.text
    assert retired(client) == 0
    assert sorted(frame["frame_index"] for frame in answer.json()["frames"]) == list(range(10))


NEW_TABLES = ("settled_frames", "settled_keypoints", "settled_counts", "model_agreement")


def _drop_new_tables(apps: Apps) -> None:
    """Make the journal one an earlier receiver wrote: without the tables the model's figures live in."""
    if apps.journal_url:
        with psycopg.connect(apps.journal_url, autocommit=True) as connection:
            for table in NEW_TABLES:
                connection.execute(f"DROP TABLE {table}".encode())
        return
    with contextlib.closing(sqlite3.connect(apps.journal_path)) as connection, connection:
        for table in NEW_TABLES:
            connection.execute(f"DROP TABLE {table}")


def test_a_journal_from_an_earlier_receiver_gains_the_tables_and_keeps_its_frames(apps: Apps, predictions: str) -> None:
    """Frames settled before the upgrade stay retired; frames settled after it are counted on the dashboard."""
    client = apps.start()
    post_all(apps, client, [placed(10, f"places-{n:04d}") for n in range(3)])
    assert retired(client) == 1
    apps.stop(client)
    _drop_new_tables(apps)
    client = apps.start()
    post_all(apps, client, [placed(11, f"places-{n:04d}") for n in range(3)])
    page = client.get("/dashboard").text
    assert retired(client) == 2
    assert _model_rows(page) == {k: "1 of 1" for k in KEYPOINTS}


def test_a_higher_retire_after_takes_unretired_frames_out_of_the_models_figures(apps: Apps, predictions: str) -> None:
    """Restarted with RECEIVER_RETIRE_AFTER=4, a frame of three agreeing labels is no longer settled, nor counted beside the model."""
    client = apps.start()
    post_all(apps, client, [placed(10, f"places-{n:04d}") for n in range(3)])
    post_all(apps, client, [placed(11, f"places-{n:04d}") for n in range(4)])
    assert _model_rows(client.get("/dashboard").text)["nose"] == "2 of 2"
    apps.stop(client)
    client = apps.start(retire_after=4)
    page = client.get("/dashboard").text
    assert retired(client) == 1
    assert _model_rows(page)["nose"] == "1 of 1"
    assert re.search(r'data-testid="card-settled-from-scratch"><b class="">1</b>', page)
