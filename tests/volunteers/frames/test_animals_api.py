"""Frames of several animals over HTTP: next-frame says how many the page may send, the review which animal is which."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tests.volunteers.frames.conftest import VIDEO, Apps, honest_label

ALICE = "alice-000001"
BOB = "bob-0000002"

HERD = replace(VIDEO, url="https://videos.example.org/herd.mp4", frames=4, animals=2, tracks=("mouse_a", "mouse_b"))
PAIR = replace(VIDEO, url="https://videos.example.org/pair.mp4", frames=4, animals=2)


def two_animals(video: Any, frame: int, volunteer: str, *, swapped: bool = False, tracks: tuple[str | None, str | None] = (None, None)) -> dict[str, Any]:
    """A submission of two animals, the second 300 px right of the first (`swapped`: sent second first)."""
    body = honest_label(video, frame, volunteer)
    first = body.pop("labels")
    second = [{**label, "pixel_x": label["pixel_x"] + 300 if label["pixel_x"] < video.width - 400 else label["pixel_x"] - 300} for label in first]
    instances = [{"labels": first}, {"labels": second}]
    for instance, track in zip(instances, tracks):
        if track is not None:
            instance["track"] = track
    body["instances"] = instances[::-1] if swapped else instances
    return body


class TestNextFrameOfSeveralAnimals:
    def test_each_frame_says_how_many_animals_and_which_tracks(self, apps: Apps) -> None:
        """A video of two named mice: every handed-out frame carries animals 2 and its tracks, and so does the first on top."""
        body = apps.start(videos=(HERD,)).get("/api/next-frame", params={"volunteer": ALICE, "count": "3"}).json()
        assert [(item["animals"], item["tracks"]) for item in body["frames"]] == [(2, ["mouse_a", "mouse_b"])] * 3
        assert (body["animals"], body["tracks"]) == (2, ["mouse_a", "mouse_b"])

    def test_a_video_without_tracks_says_how_many_animals_and_no_tracks(self, apps: Apps) -> None:
        """Two animals and no tracks: animals 2, no tracks key."""
        item = apps.start(videos=(PAIR,)).get("/api/next-frame", params={"volunteer": ALICE}).json()["frames"][0]
        assert item["animals"] == 2 and "tracks" not in item

    def test_a_single_animal_frame_reads_as_before(self, apps: Apps) -> None:
        """One animal: neither animals nor tracks, so pages that know nothing of them see what they always saw."""
        item = apps.start().get("/api/next-frame", params={"volunteer": ALICE}).json()["frames"][0]
        assert set(item) == {"video", "frame_index", "labels"}


class TestReviewOfSeveralAnimals:
    def test_another_volunteers_animals_are_matched_to_the_submissions(self, apps: Apps) -> None:
        """Bob sent the same two mice in the other order: his first is Alice's second, his second her first."""
        client = apps.start(videos=(HERD,))
        mine = apps.volunteer(client, ALICE).post(two_animals(HERD, 1, ALICE, tracks=("mouse_a", "mouse_b")))
        assert mine.status_code == 202, mine.text
        assert apps.volunteer(client, BOB).post(two_animals(HERD, 1, BOB, swapped=True)).status_code == 202
        body = client.get(f"/api/review/{mine.json()['id']}").json()
        assert [i.get("track") for i in body["record"]["submission"]["instances"]] == ["mouse_a", "mouse_b"]
        assert body["matched"] == [[1, 0]]

    def test_an_animal_like_none_of_the_submissions_is_matched_to_none(self, apps: Apps) -> None:
        """Bob's second animal is nowhere near Alice's one: it matches none; his first matches hers."""
        client = apps.start(videos=(PAIR,))
        body = two_animals(PAIR, 1, ALICE)
        body["instances"] = body["instances"][:1]
        mine = apps.volunteer(client, ALICE).post(body).json()["id"]
        theirs = two_animals(PAIR, 1, BOB)
        assert apps.volunteer(client, BOB).post(theirs).status_code == 202
        assert client.get(f"/api/review/{mine}").json()["matched"] == [[0, None]]

    def test_a_review_of_single_animals_has_no_matching(self, apps: Apps) -> None:
        """Single-animal labels only: the answer reads as before, without matched."""
        client = apps.start()
        mine = apps.volunteer(client, ALICE).post(honest_label(VIDEO, 1, ALICE)).json()["id"]
        apps.volunteer(client, BOB).post(honest_label(VIDEO, 1, BOB))
        assert "matched" not in client.get(f"/api/review/{mine}").json()
