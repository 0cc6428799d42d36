"""GET /api/next-frame, /api/progress and /api/review/{id} over the app, and the tally they read."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from tests.support.captured import captured_body
from tests.volunteers.frames.conftest import OTHER, VIDEO, Apps, far_label, honest_label

ALICE = "alice-0001"
BOB = "bob-00000002"
CAROL = "carol-000003"

SMALL = replace(VIDEO, url="https://videos.example.org/short.mp4", frames=3)


class TestNextFrame:
    def test_answers_a_frame_of_a_configured_video(self, apps: Apps) -> None:
        """200 with a sentence, the video, a frame index inside it, no agreeing labels yet, K and the frames left."""
        answer = apps.start().get("/api/next-frame", params={"volunteer": ALICE})
        body = answer.json()
        assert answer.status_code == 200
        assert list(body)[0] == "message" and "frame" in body["message"]
        assert body["video"] == {"url": VIDEO.url, "fps": 30.0, "frames": 50, "width": 1280, "height": 720}
        assert 0 <= body["frame_index"] < 50
        assert (body["labels"], body["retire_after"], body["remaining"]) == (0, 3, 50)
        assert body["frames"] == [{"video": body["video"], "frame_index": body["frame_index"], "labels": 0}]

    def test_count_hands_out_that_many_distinct_frames_the_first_also_on_top(self, apps: Apps) -> None:
        """count=5 gives five different frames; the single-frame fields repeat the first."""
        body = apps.start().get("/api/next-frame", params={"volunteer": ALICE, "count": "5"}).json()
        indices = [item["frame_index"] for item in body["frames"]]
        assert len(set(indices)) == 5 and body["frame_index"] == indices[0]

    def test_frames_with_fewest_agreeing_labels_come_first(self, apps: Apps) -> None:
        """With every frame but one labelled once, a new volunteer gets the untouched one."""
        client = apps.start(videos=(SMALL,))
        for frame in (0, 2):
            assert apps.volunteer(client, ALICE).post(honest_label(SMALL, frame, ALICE)).status_code == 202
        picks = {apps.volunteer(client, BOB).get("/api/next-frame", params={"volunteer": BOB}).json()["frame_index"] for _ in range(10)}
        assert picks == {1}

    def test_retired_frames_are_never_handed_out(self, apps: Apps) -> None:
        """Once a frame has K agreeing labels nobody gets it again, whatever the random pick."""
        client = apps.start(videos=(SMALL,), retire_after=2)
        for volunteer in (ALICE, BOB):
            apps.volunteer(client, volunteer).post(honest_label(SMALL, 1, volunteer))
        picks = {apps.volunteer(client, f"other-{n:04d}").get("/api/next-frame", params={"volunteer": f"other-{n:04d}", "count": "3"}).json()["frame_index"] for n in range(30)}
        assert 1 not in picks and picks - {None} <= {0, 2}

    def test_a_volunteer_never_gets_a_frame_they_labelled(self, apps: Apps) -> None:
        """Alice, having labelled frames 0 and 1, is only ever handed frame 2."""
        client = apps.start(videos=(SMALL,))
        for frame in (0, 1):
            apps.volunteer(client, ALICE).post(honest_label(SMALL, frame, ALICE))
        answers = [apps.volunteer(client, ALICE).get("/api/next-frame", params={"volunteer": ALICE, "count": "3"}).json() for _ in range(10)]
        assert all([item["frame_index"] for item in a["frames"]] == [2] for a in answers)

    def test_volunteer_who_labelled_all_that_remain_gets_no_frame_and_a_sentence(self, apps: Apps) -> None:
        """200, frame_index and video null, a message saying they have labelled every frame left."""
        client = apps.start(videos=(SMALL,))
        for frame in range(3):
            apps.volunteer(client, ALICE).post(honest_label(SMALL, frame, ALICE))
        body = apps.volunteer(client, ALICE).get("/api/next-frame", params={"volunteer": ALICE}).json()
        assert (body["frame_index"], body["video"], body["frames"], body["remaining"]) == (None, None, [], 3)
        assert "You have labelled every frame" in body["message"]

    def test_when_every_frame_is_retired_nobody_gets_a_frame(self, apps: Apps) -> None:
        """200 with frame_index null, remaining 0, and a message saying every frame is labelled."""
        client = apps.start(videos=(SMALL,), retire_after=1)
        for frame in range(3):
            apps.volunteer(client, ALICE).post(honest_label(SMALL, frame, ALICE))
        body = apps.volunteer(client, BOB).get("/api/next-frame", params={"volunteer": BOB}).json()
        assert (body["frame_index"], body["video"], body["remaining"]) == (None, None, 0)
        assert body["message"].startswith("Every frame is labelled")

    def test_video_parameter_keeps_to_that_video(self, apps: Apps) -> None:
        """video=<url> hands out frames of that video only."""
        client = apps.start(videos=(VIDEO, OTHER))
        body = apps.volunteer(client, ALICE).get("/api/next-frame", params={"volunteer": ALICE, "video": OTHER.url, "count": "10"}).json()
        assert {item["video"]["url"] for item in body["frames"]} == {OTHER.url} and body["remaining"] == 20

    def test_equally_needed_frames_are_spread_over_volunteers(self, apps: Apps) -> None:
        """Twenty volunteers asking at once do not all get the same frame."""
        client = apps.start(videos=(VIDEO, OTHER))
        picks = {
            (a["video"]["url"], a["frame_index"])
            for a in (apps.volunteer(client, f"volunteer-{n:03d}").get("/api/next-frame", params={"volunteer": f"volunteer-{n:03d}"}).json() for n in range(20))
        }
        assert len(picks) >= 15 and {url for url, _ in picks} == {VIDEO.url, OTHER.url}


class TestCounting:
    def test_disagreeing_label_does_not_count_toward_retirement(self, apps: Apps) -> None:
        """Three honest labels and one far off: 3 agreeing of 4, the frame retires at K=3."""
        client = apps.start(videos=(SMALL,))
        apps.volunteer(client, "wrong-0001").post(far_label(SMALL, 0, "wrong-0001"))
        for volunteer in (ALICE, BOB):
            apps.volunteer(client, volunteer).post(honest_label(SMALL, 0, volunteer))
        assert client.get("/api/progress").json()["videos"][0]["retired"] == 0
        apps.volunteer(client, CAROL).post(honest_label(SMALL, 0, CAROL))
        assert client.get("/api/progress").json()["videos"][0] == {"url": SMALL.url, "frames": 3, "retired": 1, "in_progress": 0, "untouched": 2}

    def test_label_of_an_unconfigured_video_is_accepted_and_not_counted(self, apps: Apps) -> None:
        """202 as ever; no frame of the configured videos moves."""
        client = apps.start(videos=(SMALL,))
        body = captured_body()
        body["metadata"] = {"volunteer": ALICE}
        assert client.post("/api/labels", json=body).status_code == 202
        assert apps.volunteer(client, ALICE).get("/api/progress", params={"volunteer": ALICE}).json()["videos"][0]["untouched"] == 3
        assert apps.volunteer(client, ALICE).get("/api/progress", params={"volunteer": ALICE}).json()["volunteer"] == {"id": apps.pseudonym(ALICE), "done": 0}

    @pytest.mark.parametrize("change", [{"frame_width": 640, "frame_height": 360}, {"fps": 25}, {"frame_index": 3, "total_frames": 4}])
    def test_label_describing_the_video_otherwise_is_not_counted(self, apps: Apps, change: dict[str, int]) -> None:
        """Another size, another fps or a frame past the end: accepted, not counted."""
        client = apps.start(videos=(SMALL,))
        body = honest_label(SMALL, 0, ALICE)
        for label in body["labels"]:
            label.update(pixel_x=10, pixel_y=10)
        body.update(change)
        assert client.post("/api/labels", json=body).status_code == 202
        assert client.get("/api/progress").json()["videos"][0]["untouched"] == 3

    def test_repost_of_the_same_label_counts_once(self, apps: Apps) -> None:
        """The same submission twice is one label."""
        client = apps.start(videos=(SMALL,), retire_after=2)
        label = honest_label(SMALL, 0, ALICE)
        assert [client.post("/api/labels", json=label).status_code for _ in range(2)] == [202, 200]
        assert client.get("/api/progress").json()["videos"][0]["retired"] == 0


class TestSharedState:
    def test_restart_keeps_the_tally(self, apps: Apps) -> None:
        """A new app on the same journal knows what the first one counted and who labelled what."""
        first = apps.start(videos=(SMALL,), retire_after=1)
        apps.volunteer(first, ALICE).post(honest_label(SMALL, 0, ALICE))
        apps.volunteer(first, BOB).post(honest_label(SMALL, 1, BOB))
        apps.stop(first)
        second = apps.start(videos=(SMALL,), retire_after=1)
        assert apps.volunteer(second, ALICE).get("/api/progress", params={"volunteer": ALICE}).json()["volunteer"]["done"] == 1
        assert apps.volunteer(second, CAROL).get("/api/next-frame", params={"volunteer": CAROL, "count": "3"}).json()["frames"][0]["frame_index"] == 2

    def test_two_apps_on_one_journal_share_the_tally(self, apps: Apps) -> None:
        """Labels taken in by one process retire frames for the other at once."""
        one, two = apps.start(videos=(SMALL,), retire_after=1), apps.start(videos=(SMALL,), retire_after=1)
        apps.volunteer(one, ALICE).post(honest_label(SMALL, 0, ALICE))
        apps.volunteer(two, BOB).post(honest_label(SMALL, 2, BOB))
        picks = {apps.volunteer(two, CAROL).get("/api/next-frame", params={"volunteer": CAROL}).json()["frame_index"] for _ in range(5)}
        picks |= {apps.volunteer(one, CAROL).get("/api/next-frame", params={"volunteer": CAROL}).json()["frame_index"] for _ in range(5)}
        assert picks == {1}

    def test_video_configured_later_is_rebuilt_from_kept_records(self, apps: Apps) -> None:
        """Labels taken in before the video was configured count once it is."""
        before = apps.start(videos=())
        apps.volunteer(before, ALICE).post(honest_label(SMALL, 0, ALICE))
        apps.stop(before)
        after = apps.start(videos=(SMALL,), retire_after=1)
        assert apps.volunteer(after, ALICE).get("/api/progress", params={"volunteer": ALICE}).json() == {
            "message": "2 frames still need labels.",
            "videos": [{"url": SMALL.url, "frames": 3, "retired": 1, "in_progress": 0, "untouched": 2}],
            "frames_left": 2,
            "reopened": 0,
            "volunteer": {"id": apps.pseudonym(ALICE), "done": 1},
        }

    def test_video_taken_out_of_the_configuration_is_dropped_with_a_warning(self, apps: Apps, caplog: pytest.LogCaptureFixture) -> None:
        """Its frames leave the tally (a volunteer's count of it too), and the log names it and the rule for several receivers."""
        first = apps.start(videos=(SMALL, OTHER), retire_after=1)
        apps.volunteer(first, ALICE).post(honest_label(OTHER, 0, ALICE))
        apps.stop(first)
        with caplog.at_level(logging.WARNING, logger="receiver.frames"):
            second = apps.start(videos=(SMALL,), retire_after=1)
        assert apps.volunteer(second, ALICE).get("/api/progress", params={"volunteer": ALICE}).json()["volunteer"]["done"] == 0
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and OTHER.url in r.getMessage()]
        assert len(warnings) == 1 and "must all be given the same videos" in warnings[0]

    def test_changed_retire_after_applies_at_restart(self, apps: Apps) -> None:
        """A frame retired at K=1 is handed out again when the receiver restarts with K=2."""
        first = apps.start(videos=(SMALL,), retire_after=1)
        apps.volunteer(first, ALICE).post(honest_label(SMALL, 0, ALICE))
        apps.stop(first)
        second = apps.start(videos=(SMALL,), retire_after=2)
        assert second.get("/api/progress").json()["frames_left"] == 3


class TestReceiversGivenDifferentVideos:
    """Receivers on one journal hand out frames from one tally: the videos the last one started was given.

    As in a rolling update, where receivers restart one by one with a new videos file.
    """

    def test_a_video_another_receiver_added_is_handed_out_by_every_receiver(self, apps: Apps) -> None:
        old = apps.start(videos=(SMALL,), retire_after=1)
        new = apps.start(videos=(SMALL, OTHER), retire_after=1)
        for frame in range(3):
            apps.volunteer(new, ALICE).post(honest_label(SMALL, frame, ALICE))
        body = apps.volunteer(old, BOB).get("/api/next-frame", params={"volunteer": BOB}).json()
        assert (body["video"], body["remaining"]) == (OTHER.public(), 20)
        assert apps.volunteer(old, BOB).get("/api/next-frame", params={"volunteer": BOB, "video": OTHER.url}).status_code == 200

    def test_a_receiver_with_several_videos_never_fails_on_one_it_was_not_given(self, apps: Apps) -> None:
        third = replace(OTHER, url="https://videos.example.org/mouse-3.mp4")
        old = apps.start(videos=(SMALL, OTHER))
        apps.start(videos=(SMALL, OTHER, third))
        answers = [apps.volunteer(old, BOB).get("/api/next-frame", params={"volunteer": BOB, "count": "10"}) for _ in range(20)]
        assert {a.status_code for a in answers} == {200}
        handed = {item["video"]["url"] for a in answers for item in a.json()["frames"]}
        assert handed == {SMALL.url, OTHER.url, third.url}

    def test_a_video_another_receiver_dropped_is_no_longer_handed_out(self, apps: Apps) -> None:
        old = apps.start(videos=(SMALL, OTHER))
        apps.start(videos=(SMALL,))
        answers = [apps.volunteer(old, BOB).get("/api/next-frame", params={"volunteer": BOB, "count": "10"}).json() for _ in range(5)]
        assert {item["video"]["url"] for body in answers for item in body["frames"]} == {SMALL.url}
        assert [v["url"] for v in old.get("/api/progress").json()["videos"]] == [SMALL.url]
        assert apps.volunteer(old, BOB).get("/api/next-frame", params={"volunteer": BOB, "video": OTHER.url}).status_code == 404

    def test_a_video_another_receiver_gave_other_geometry_is_handed_out_as_changed(self, apps: Apps, caplog: pytest.LogCaptureFixture) -> None:
        longer = replace(SMALL, frames=5)
        old = apps.start(videos=(SMALL,))
        with caplog.at_level(logging.WARNING, logger="receiver.frames"):
            apps.start(videos=(longer,))
        body = apps.volunteer(old, BOB).get("/api/next-frame", params={"volunteer": BOB, "count": "5"}).json()
        assert sorted(item["frame_index"] for item in body["frames"]) == [0, 1, 2, 3, 4]
        assert {item["video"]["frames"] for item in body["frames"]} == {5}
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and SMALL.url in r.getMessage()]
        assert len(warnings) == 1 and "must all be given the same videos" in warnings[0]


    def test_retire_after_is_what_the_last_receiver_started_was_given(self, apps: Apps, caplog: pytest.LogCaptureFixture) -> None:
        """A label taken in by the receiver still on K=2 retires its frame at the K=1 another receiver started with."""
        old = apps.start(videos=(SMALL,), retire_after=2)
        with caplog.at_level(logging.WARNING, logger="receiver.frames"):
            apps.start(videos=(SMALL,), retire_after=1)
        apps.volunteer(old, ALICE).post(honest_label(SMALL, 0, ALICE))
        body = apps.volunteer(old, BOB).get("/api/next-frame", params={"volunteer": BOB, "count": "3"}).json()
        assert (body["retire_after"], body["remaining"]) == (1, 2)
        assert sorted(item["frame_index"] for item in body["frames"]) == [1, 2]
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "retire at 1 agreeing labels" in warnings[0] and "instead of 2" in warnings[0]

class TestProgress:
    def test_counts_retired_in_progress_and_untouched_per_video(self, apps: Apps) -> None:
        """One frame retired, one in progress, the rest untouched; the volunteer's own count."""
        client = apps.start(videos=(SMALL, OTHER), retire_after=2)
        for volunteer in (ALICE, BOB):
            apps.volunteer(client, volunteer).post(honest_label(SMALL, 0, volunteer))
        apps.volunteer(client, ALICE).post(honest_label(SMALL, 1, ALICE))
        body = apps.volunteer(client, ALICE).get("/api/progress", params={"volunteer": ALICE}).json()
        assert body["videos"] == [
            {"url": SMALL.url, "frames": 3, "retired": 1, "in_progress": 1, "untouched": 1},
            {"url": OTHER.url, "frames": 20, "retired": 0, "in_progress": 0, "untouched": 20},
        ]
        assert (body["frames_left"], body["volunteer"], body["message"]) == (22, {"id": apps.pseudonym(ALICE), "done": 2}, "22 frames still need labels.")

    def test_without_volunteer_says_null(self, apps: Apps) -> None:
        """The volunteer field is null when no id is given."""
        assert apps.start().get("/api/progress").json()["volunteer"] is None


class TestReview:
    def test_shows_the_record_the_other_labels_of_its_frame_and_their_consensus(self, apps: Apps) -> None:
        """The stored document, the configured video, the others of the same frame, and a point per keypoint."""
        client = apps.start(videos=(SMALL,))
        ids = [apps.volunteer(client, v).post(honest_label(SMALL, 1, v)).json()["id"] for v in (ALICE, BOB, CAROL)]
        apps.volunteer(client, ALICE).post(honest_label(SMALL, 2, ALICE))
        body = client.get(f"/api/review/{ids[0]}").json()
        assert body["record"]["receipt"]["id"] == ids[0] and body["record"]["submission"]["frame_index"] == 1
        assert body["video"] == SMALL.public()
        assert sorted(o["receipt"]["id"] for o in body["others"]) == sorted(ids[1:])
        assert set(body["consensus"]) == {label["id"] for label in body["record"]["submission"]["labels"]}
        assert all(abs(point["x"] - label["pixel_x"]) < 20 for label in body["record"]["submission"]["labels"] for point in [body["consensus"][label["id"]]])

    def test_a_frame_piled_past_its_cap_is_answered_with_the_labels_that_count(self, apps: Apps) -> None:
        """Twelve unleased labels and three counted ones: the answer holds the counted others, and says how many there are in all."""
        client = apps.start(videos=(SMALL,))
        for n in range(12):
            apps.volunteer(client, f"piler-{n:06d}").post(honest_label(SMALL, 1, f"piler-{n:06d}"), leased=False)
        ids = [apps.volunteer(client, v).post(honest_label(SMALL, 1, v)).json()["id"] for v in (ALICE, BOB, CAROL)]
        body = client.get(f"/api/review/{ids[0]}").json()
        assert sorted(o["receipt"]["id"] for o in body["others"]) == sorted(ids[1:])
        assert "14 other labels" in body["message"] and "The 2 that count are shown." in body["message"]
        assert body["consensus"] is not None

    def test_lone_label_of_an_unconfigured_video_has_no_video_and_no_consensus(self, apps: Apps) -> None:
        """video and consensus are null, others empty."""
        client = apps.start()
        identifier = client.post("/api/labels", json=captured_body()).json()["id"]
        body = client.get(f"/api/review/{identifier}").json()
        assert (body["video"], body["others"], body["consensus"]) == (None, [], None)

    @pytest.mark.parametrize("identifier", ["0" * 32, "not-an-id"])
    def test_unknown_id_is_404_with_a_sentence(self, apps: Apps, identifier: str) -> None:
        """404 whose error is a sentence."""
        answer = apps.start().get(f"/api/review/{identifier}")
        assert answer.status_code == 404 and answer.json()["error"].startswith("No submission has this id")


class TestBadInput:
    @pytest.mark.parametrize("volunteer", ["short", "x" * 65, "has space1", "émile-0001", "a/b/c/d/e"])
    def test_malformed_volunteer_id_is_400_with_a_sentence(self, apps: Apps, volunteer: str) -> None:
        """400 explaining what a volunteer id looks like, on both endpoints."""
        client = apps.start()
        for path in ("/api/next-frame", "/api/progress"):
            answer = client.get(path, params={"volunteer": volunteer})
            assert answer.status_code == 400 and answer.json()["error"].startswith("The volunteer id must be 8 to 64")

    def test_next_frame_without_volunteer_is_400_with_a_sentence(self, apps: Apps) -> None:
        """400 asking for the volunteer id."""
        answer = apps.start().get("/api/next-frame")
        assert answer.status_code == 400 and answer.json()["error"].startswith("Say who is asking")

    @pytest.mark.parametrize("count", ["0", "11", "two", "-1", "٣"])
    def test_count_outside_one_to_ten_is_400_with_a_sentence(self, apps: Apps, count: str) -> None:
        """400 naming the range."""
        answer = apps.start().get("/api/next-frame", params={"volunteer": ALICE, "count": count})
        assert answer.status_code == 400 and answer.json()["error"] == "The query parameter count must be a whole number from 1 to 10."

    @pytest.mark.parametrize("path", ["/api/next-frame", "/api/progress"])
    def test_unknown_video_is_404_with_a_sentence(self, apps: Apps, path: str) -> None:
        """404 saying no such video is being labelled."""
        answer = apps.start().get(path, params={"volunteer": ALICE, "video": "https://videos.example.org/nope.mp4"})
        assert answer.status_code == 404 and answer.json()["error"].startswith("No video with this URL is being labelled")

    @pytest.mark.parametrize("path", ["/api/next-frame", "/api/progress"])
    def test_without_videos_configured_is_404_saying_so(self, apps: Apps, path: str) -> None:
        """404 whose sentence says no videos are configured."""
        answer = apps.start(videos=()).get(path, params={"volunteer": ALICE})
        assert answer.status_code == 404 and answer.json()["error"].startswith("This receiver has no videos configured")
