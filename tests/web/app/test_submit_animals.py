"""POST /api/labels with several animals: what a video's entry allows, and the 422s for what it does not."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from receiver.volunteers.videos import Video
from tests.support.animals import several_animals
from tests.support.captured import captured_body
from tests.web.app.conftest import ClientFactory

JSON = {"Content-Type": "application/json"}
TRACKS = ("mother", "pup")


def _video(body: dict[str, Any], animals: int, tracks: tuple[str, ...] = ()) -> Video:
    return Video(body["video_url"], float(body["fps"]), body["total_frames"], body["frame_width"], body["frame_height"], animals=animals, tracks=tracks)


@pytest.fixture
def pair_client(make_client: ClientFactory) -> TestClient:
    """A receiver whose one video allows two animals tracked as mother and pup."""
    return make_client(videos=(_video(captured_body(), 2, TRACKS),))


def post(client: TestClient, body: object) -> Any:
    return client.post("/api/labels", content=json.dumps(body).encode(), headers=JSON)


def _stored(client: TestClient) -> int:
    count: int = client.get("/api/annotations").json()["count"]
    return count


def test_two_tracked_animals_are_accepted_and_stored_as_sent(pair_client: TestClient) -> None:
    """A video allowing two animals takes both; the record keeps each instance's points and track."""
    body = several_animals("mother", "pup")
    response = post(pair_client, body)
    assert response.status_code == 202, response.text
    record = pair_client.get(response.json()["status_url"]).json()
    assert response.json()["id"] == record["id"]
    assert _stored(pair_client) == 1


def test_single_animal_labels_still_accepted_on_a_video_of_several(pair_client: TestClient) -> None:
    assert post(pair_client, captured_body()).status_code == 202


def test_a_single_instance_is_accepted_on_a_one_animal_video(client: TestClient) -> None:
    """Without a videos entry saying otherwise a video has one animal, which may come as one instance."""
    body = several_animals(None, None)
    body["instances"] = body["instances"][:1]
    assert post(client, body).status_code == 202


def _problems(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 422, response.text
    problems: list[dict[str, str]] = response.json()["problems"]
    return problems


def test_two_animals_on_a_one_animal_video_get_422_and_nothing_is_stored(client: TestClient) -> None:
    problems = _problems(post(client, several_animals(None, None)))
    assert problems == [{"pointer": "/instances", "message": "has 2 animals but this video allows one animal; send it as labels"}]
    assert _stored(client) == 0


def test_more_instances_than_allowed_get_422(pair_client: TestClient) -> None:
    body = several_animals("mother", "pup")
    body["instances"].append(copy.deepcopy(body["instances"][0]) | {"track": "mother"})
    problems = _problems(post(pair_client, body))
    assert {"pointer": "/instances", "message": "has 3 animals but this video allows at most 2 animals; label the 2 clearest"} in problems
    assert _stored(pair_client) == 0


def test_labels_and_instances_together_get_422(pair_client: TestClient) -> None:
    body = several_animals("mother", "pup") | {"labels": captured_body()["labels"]}
    problems = _problems(post(pair_client, body))
    assert problems == [{"pointer": "/instances", "message": "cannot come with labels; send labels for one animal or instances for several, not both"}]
    assert _stored(pair_client) == 0


def test_an_unknown_track_gets_422(pair_client: TestClient) -> None:
    problems = _problems(post(pair_client, several_animals("mother", "father")))
    assert problems == [{"pointer": "/instances/1/track", "message": "'father' is not a track of this video; expected one of mother, pup"}]
    assert _stored(pair_client) == 0


def test_a_track_on_a_video_without_tracks_gets_422(make_client: ClientFactory) -> None:
    client = make_client(videos=(_video(captured_body(), 2),))
    problems = _problems(post(client, several_animals("mother", None)))
    assert problems == [{"pointer": "/instances/0/track", "message": "this video names no tracks; leave track out"}]


def test_a_track_used_twice_gets_422(pair_client: TestClient) -> None:
    problems = _problems(post(pair_client, several_animals("pup", "pup")))
    assert problems == [{"pointer": "/instances/1/track", "message": "repeats track 'pup' already given at /instances/0/track; give each animal its own track"}]
    assert _stored(pair_client) == 0


@pytest.mark.parametrize(
    ("instance", "expected"),
    [
        ({"labels": []}, {"pointer": "/instances/1/labels", "message": "has 0 entries; it must have at least 1"}),
        ({}, {"pointer": "/instances/1/labels", "message": "is missing; every animal in instances needs 'labels'"}),
        ("unplaced", {"pointer": "/instances/1/labels", "message": "no keypoint is placed; place at least one before submitting"}),
    ],
    ids=["no-labels", "no-labels-key", "nothing-placed"],
)
def test_an_empty_instance_gets_422(pair_client: TestClient, instance: Any, expected: dict[str, str]) -> None:
    body = several_animals("mother", "pup")
    if instance == "unplaced":
        instance = {"labels": [{"id": label["id"], "placed": False, "pixel_x": None, "pixel_y": None} for label in body["instances"][1]["labels"]]}
    body["instances"][1] = instance
    assert _problems(post(pair_client, body)) == [expected]
    assert _stored(pair_client) == 0


def test_a_point_outside_the_frame_in_an_instance_is_pointed_at(pair_client: TestClient) -> None:
    body = several_animals("mother", "pup")
    body["instances"][1]["labels"][0]["pixel_x"] = 5000
    problems = _problems(post(pair_client, body))
    assert problems == [{"pointer": "/instances/1/labels/0/pixel_x", "message": "5000 is outside the frame (width 1280)"}]
