"""The validator on several animals: instances take the label rules one animal at a time, and the video's allowance on top."""

from __future__ import annotations

from datetime import datetime, timezone

from receiver.contract.records import Record
from receiver.contract.schemas import load_skeleton
from receiver.contract.validation import Allowance, Problem, Validator, _plainly_acceptable, fill_names
from tests.support.animals import several_animals
from tests.support.captured import captured_body

URL = captured_body()["video_url"]
PAIR = Validator(allowances={URL: Allowance(2, ("mother", "pup"))})
#: What a receiver without a videos file knows: every video has one animal.
CATALOG_OF_ONE = Validator(allowances={})


def record_of(body: dict[str, object]) -> Record:
    return Record.create(fill_names(body, PAIR.skeleton), submitter="anonymous", received_at=datetime(2026, 1, 1, tzinfo=timezone.utc), receiver_version="0.1.0")


class TestAllowance:
    def test_a_video_not_in_the_mapping_allows_one_animal_without_tracks(self) -> None:
        assert PAIR.allowance_of("https://videos.example.org/other.mp4") == Allowance(1, ())

    def test_two_instances_within_the_allowance_pass(self) -> None:
        assert PAIR.check_submission(several_animals("mother", "pup")) == []

    def test_two_instances_on_a_video_the_catalog_gives_one_animal_are_refused_at_instances(self) -> None:
        problems = CATALOG_OF_ONE.check_submission(several_animals(None, None))
        assert problems == [Problem("/instances", "has 2 animals but this video allows one animal; send it as labels")]

    def test_without_a_catalog_count_and_track_names_are_not_judged_but_repeats_are(self) -> None:
        """A validator told no videos (an export reading stored records) cannot know what a video allows."""
        assert Validator().check_submission(several_animals("a", "b", "c")) == []
        assert [p.pointer for p in Validator().check_submission(several_animals("a", "a"))] == ["/instances/1/track"]


class TestInstanceLabels:
    def test_a_missing_keypoint_in_one_instance_is_pointed_at_in_that_instance(self) -> None:
        body = several_animals("mother", "pup")
        del body["instances"][1]["labels"][3]
        problems = PAIR.check_submission(body)
        assert [p.pointer for p in problems] == ["/instances/1/labels"]
        assert "missing" in problems[0].message

    def test_a_wrong_name_in_an_instance_is_refused(self) -> None:
        body = several_animals("mother", "pup")
        body["instances"][0]["labels"][0]["name"] = "Paw"
        assert [p.pointer for p in PAIR.check_submission(body)] == ["/instances/0/labels/0/name"]

    def test_a_track_with_a_right_to_left_override_is_refused_by_name(self) -> None:
        body = several_animals("mother", "pup")
        body["instances"][0]["track"] = "mo\u202ether"
        problems = PAIR.check_submission(body)
        assert [p.pointer for p in problems] == ["/instances/0/track"]
        assert "U+202E" in problems[0].message

    def test_names_left_out_are_filled_in_every_instance(self) -> None:
        body = several_animals("mother", "pup")
        for instance in body["instances"]:
            for label in instance["labels"]:
                del label["name"]
        filled = fill_names(body, load_skeleton())
        assert [label["name"] for label in filled["instances"][1]["labels"]] == [k.name for k in load_skeleton().keypoints]
        assert "name" not in body["instances"][1]["labels"][0]


class TestFastPath:
    def test_a_clean_pair_takes_the_fast_path(self) -> None:
        assert _plainly_acceptable(several_animals("mother", "pup"), PAIR.skeleton, allowance_of=PAIR.allowance_of)

    def test_a_pair_beyond_the_allowance_is_never_waved_through(self) -> None:
        assert not _plainly_acceptable(several_animals(None, None), PAIR.skeleton, allowance_of=CATALOG_OF_ONE.allowance_of)

    def test_a_repeated_track_is_never_waved_through(self) -> None:
        assert not _plainly_acceptable(several_animals("pup", "pup"), PAIR.skeleton, allowance_of=PAIR.allowance_of)


class TestStoredRecords:
    def test_a_stored_pair_passes_with_its_allowance(self) -> None:
        record = record_of(several_animals("mother", "pup"))
        assert PAIR.check_record(record.document(), filename=record.path) == []

    def test_a_stored_pair_fails_where_the_video_allows_one_animal(self) -> None:
        record = record_of(several_animals("mother", "pup"))
        pointers = [p.pointer for p in CATALOG_OF_ONE.check_record(record.document(), filename=record.path)]
        assert pointers == ["/submission/instances", "/submission/instances/0/track", "/submission/instances/1/track"]

    def test_a_stored_instance_without_names_is_refused(self) -> None:
        record = record_of(several_animals("mother", "pup"))
        document = record.document()
        del document["submission"]["instances"][0]["labels"][0]["name"]
        assert "/submission/instances/0/labels/0/name" in [p.pointer for p in PAIR.check_record(document)]
