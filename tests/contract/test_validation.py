"""The one validator: the prototype's rules, the holes it left, and every problem at once."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any

import pytest

from receiver.contract.records import Record
from receiver.contract.validation import Problem, Validator, fill_names
from tests.support.captured import captured_body, captured_posts


def pointers(problems: list[Problem]) -> list[str]:
    return [p.pointer for p in problems]


def only_pointer(problems: list[Problem]) -> str:
    assert len(problems) == 1, problems
    return problems[0].pointer


@pytest.fixture
def body() -> dict[str, Any]:
    return captured_body("post_six_placed")


class TestCapturedRequests:
    @pytest.mark.parametrize("request_", captured_posts(), ids=lambda r: r.name)
    def test_every_captured_body_validates(self, validator: Validator, request_: Any) -> None:
        """Each body the real labeling page sent is accepted as it is."""
        assert validator.check_submission(request_.json()) == []

    def test_stored_record_revalidates(self, validator: Validator, body: dict[str, Any]) -> None:
        """A record built from an accepted body passes as a stored record at its own path."""
        record = Record.create(body, submitter="anonymous", received_at=datetime(2026, 1, 1, tzinfo=timezone.utc), receiver_version="0.1.0")
        assert validator.check_record(record.document(), filename=record.path) == []


class TestPrototypeRules:
    @pytest.mark.parametrize("field", ["video_url", "frame_index", "total_frames", "fps", "frame_width", "frame_height", "timestamp", "labels"])
    def test_missing_required_field_is_named(self, validator: Validator, body: dict[str, Any], field: str) -> None:
        """A missing top-level field is reported at its own pointer."""
        del body[field]
        problems = validator.check_submission(body)
        assert f"/{field}" in pointers(problems)
        assert any("missing" in p.message for p in problems)

    def test_non_http_video_url_is_refused(self, validator: Validator, body: dict[str, Any]) -> None:
        """The video URL must be http or https."""
        body["video_url"] = "file:///etc/passwd"
        assert only_pointer(validator.check_submission(body)) == "/video_url"

    @pytest.mark.parametrize("url", ["https://[x/a.mp4", "http://[::1/x.mp4"])
    def test_an_address_no_url_parser_reads_is_refused_not_a_crash(self, validator: Validator, body: dict[str, Any], url: str) -> None:
        """An unclosed bracket in the host made the URL parser raise; it is a problem like any other."""
        body["video_url"] = url
        problems = validator.check_submission(body)
        assert only_pointer(problems) == "/video_url" and "http or https URL" in problems[0].message

    def test_negative_frame_index_is_refused(self, validator: Validator, body: dict[str, Any]) -> None:
        body["frame_index"] = -1
        assert only_pointer(validator.check_submission(body)) == "/frame_index"

    @pytest.mark.parametrize("fps", [0, -30])
    def test_fps_must_be_positive(self, validator: Validator, body: dict[str, Any], fps: int) -> None:
        body["fps"] = fps
        assert only_pointer(validator.check_submission(body)) == "/fps"

    def test_unparsable_timestamp_is_refused(self, validator: Validator, body: dict[str, Any]) -> None:
        body["timestamp"] = "2026-13-45T99:00:00Z"
        assert only_pointer(validator.check_submission(body)) == "/timestamp"

    def test_empty_labels_are_refused(self, validator: Validator, body: dict[str, Any]) -> None:
        body["labels"] = []
        assert "/labels" in pointers(validator.check_submission(body))

    def test_label_that_is_not_an_object_is_refused(self, validator: Validator, body: dict[str, Any]) -> None:
        body["labels"][3] = "nose"
        assert "/labels/3" in pointers(validator.check_submission(body))

    def test_duplicate_label_id_is_refused(self, validator: Validator, body: dict[str, Any]) -> None:
        """A repeated keypoint points at the repeat and names the first."""
        body["labels"][5]["id"] = "nose"
        problems = validator.check_submission(body)
        assert "/labels/5/id" in pointers(problems)
        assert any("/labels/4" in p.message for p in problems)

    def test_placed_must_be_boolean(self, validator: Validator, body: dict[str, Any]) -> None:
        body["labels"][0]["placed"] = "yes"
        assert only_pointer(validator.check_submission(body)) == "/labels/0/placed"

    def test_coordinate_must_be_number_or_null(self, validator: Validator, body: dict[str, Any]) -> None:
        body["labels"][0]["pixel_y"] = "12"
        assert only_pointer(validator.check_submission(body)) == "/labels/0/pixel_y"

    def test_placed_keypoint_needs_coordinates(self, validator: Validator, body: dict[str, Any]) -> None:
        body["labels"][2]["pixel_x"] = None
        problems = validator.check_submission(body)
        assert only_pointer(problems) == "/labels/2/pixel_x"
        assert "marked placed" in problems[0].message

    def test_unplaced_keypoint_has_null_coordinates(self, validator: Validator) -> None:
        body = captured_body("post_one_unplaced")
        unplaced = next(i for i, label in enumerate(body["labels"]) if not label["placed"])
        body["labels"][unplaced]["pixel_x"] = 10
        assert only_pointer(validator.check_submission(body)) == f"/labels/{unplaced}/pixel_x"

    def test_missing_keypoint_of_skeleton_is_named(self, validator: Validator, body: dict[str, Any]) -> None:
        del body["labels"][4]
        problems = validator.check_submission(body)
        assert only_pointer(problems) == "/labels"
        assert "nose" in problems[0].message

    def test_keypoint_outside_skeleton_is_refused(self, validator: Validator, body: dict[str, Any]) -> None:
        body["labels"][5]["id"] = "tail_tip"
        problems = validator.check_submission(body)
        assert "/labels/5/id" in pointers(problems)


class TestHolesClosed:
    @pytest.mark.parametrize("field", ["frame_index", "total_frames", "frame_width", "frame_height"])
    def test_boolean_is_not_an_integer(self, validator: Validator, body: dict[str, Any], field: str) -> None:
        """`true` is not a frame index (the prototype took it as 1)."""
        body[field] = True
        problems = validator.check_submission(body)
        assert f"/{field}" in pointers(problems)
        assert "boolean" in problems[0].message

    def test_boolean_is_not_a_coordinate(self, validator: Validator, body: dict[str, Any]) -> None:
        body["labels"][0]["pixel_x"] = True
        assert only_pointer(validator.check_submission(body)) == "/labels/0/pixel_x"

    def test_float_frame_index_is_refused(self, validator: Validator, body: dict[str, Any]) -> None:
        body["frame_index"] = 4.5
        assert only_pointer(validator.check_submission(body)) == "/frame_index"

    @pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
    def test_non_finite_coordinate_is_refused(self, validator: Validator, body: dict[str, Any], value: float) -> None:
        """NaN and Infinity are not numbers a frame can hold."""
        body["labels"][1]["pixel_x"] = value
        assert "/labels/1/pixel_x" in pointers(validator.check_submission(body))

    def test_timestamp_without_zone_is_refused(self, validator: Validator, body: dict[str, Any]) -> None:
        body["timestamp"] = "2026-11-25T08:24:17.520"
        problems = validator.check_submission(body)
        assert only_pointer(problems) == "/timestamp"
        assert "zone" in problems[0].message

    def test_timestamp_with_offset_is_accepted(self, validator: Validator, body: dict[str, Any]) -> None:
        body["timestamp"] = "2026-11-25T09:24:17+01:00"
        assert validator.check_submission(body) == []

    def test_coordinate_outside_frame_is_refused(self, validator: Validator) -> None:
        """The sentence names the value and the frame's size."""
        body = captured_body("post_six_placed")
        body["frame_width"], body["labels"][2]["pixel_x"] = 1920, 2000
        problems = validator.check_submission(body)
        assert [str(p) for p in problems] == ["/labels/2/pixel_x: 2000 is outside the frame (width 1920)"]

    def test_coordinate_on_frame_edge_is_accepted(self, validator: Validator, body: dict[str, Any]) -> None:
        body["labels"][0]["pixel_x"], body["labels"][0]["pixel_y"] = 1280, 720
        assert validator.check_submission(body) == []

    def test_frame_index_past_the_video_is_refused(self, validator: Validator, body: dict[str, Any]) -> None:
        body["frame_index"] = body["total_frames"] + 1
        assert only_pointer(validator.check_submission(body)) == "/frame_index"

    def test_unknown_top_level_field_is_named(self, validator: Validator, body: dict[str, Any]) -> None:
        body["volunteer_email"] = "a@example.org"
        problems = validator.check_submission(body)
        assert only_pointer(problems) == "/volunteer_email"
        assert "volunteer_email" in problems[0].message and "/metadata" in problems[0].message

    def test_unknown_label_field_is_named(self, validator: Validator, body: dict[str, Any]) -> None:
        body["labels"][0]["confidence"] = 0.9
        assert only_pointer(validator.check_submission(body)) == "/labels/0/confidence"

    def test_small_metadata_object_is_accepted(self, validator: Validator, body: dict[str, Any]) -> None:
        body["metadata"] = {"tool": "pozoo", "tool_version": "1.2.0", "zoom": 2}
        assert validator.check_submission(body) == []

    def test_metadata_is_bounded(self, validator: Validator, body: dict[str, Any]) -> None:
        body["metadata"] = {f"k{i}": i for i in range(100)}
        assert only_pointer(validator.check_submission(body)) == "/metadata"

    def test_nested_metadata_is_refused(self, validator: Validator, body: dict[str, Any]) -> None:
        body["metadata"] = {"tool": {"name": "x"}}
        assert only_pointer(validator.check_submission(body)) == "/metadata/tool"

    def test_huge_string_is_refused(self, validator: Validator, body: dict[str, Any]) -> None:
        body["labels"][0]["name"] = "x" * 10_000
        assert only_pointer(validator.check_submission(body)) == "/labels/0/name"

    def test_submission_with_nothing_placed_is_refused(self, validator: Validator) -> None:
        body = captured_body("post_only_one_placed")
        placed = next(i for i, label in enumerate(body["labels"]) if label["placed"])
        body["labels"][placed].update(placed=False, pixel_x=None, pixel_y=None)
        assert only_pointer(validator.check_submission(body)) == "/labels"

    @pytest.mark.parametrize("document", [None, [], "labels", 42])
    def test_document_that_is_not_an_object_is_refused(self, validator: Validator, document: Any) -> None:
        assert pointers(validator.check_submission(document)) == [""]


class TestAllProblemsAtOnce:
    def test_every_problem_is_reported_with_its_pointer(self, validator: Validator, body: dict[str, Any]) -> None:
        """Six independent mistakes give six problems, in one answer."""
        body["frame_index"] = True
        body["timestamp"] = "yesterday"
        body["extra"] = 1
        del body["fps"]
        body["labels"][0]["pixel_x"] = 5000
        body["labels"][1]["pixel_y"] = None
        assert sorted(pointers(validator.check_submission(body))) == sorted(
            ["/frame_index", "/timestamp", "/extra", "/fps", "/labels/0/pixel_x", "/labels/1/pixel_y"]
        )

    def test_each_place_is_reported_once(self, validator: Validator, body: dict[str, Any]) -> None:
        """A place the schema flags gets no second sentence from the Python rules."""
        body["timestamp"] = "2026-11-25 08:24"
        assert len(validator.check_submission(body)) == 1


class TestStoredRecords:
    def record(self, body: dict[str, Any]) -> Record:
        return Record.create(body, submitter="anonymous", received_at=datetime(2026, 1, 1, tzinfo=timezone.utc), receiver_version="0.1.0")

    def test_edited_record_fails_its_id(self, validator: Validator, body: dict[str, Any]) -> None:
        """Changing a stored coordinate by hand breaks the content-derived id."""
        document = self.record(body).document()
        document["submission"]["labels"][0]["pixel_x"] = 1
        assert only_pointer(validator.check_record(document)) == "/receipt/id"

    def test_file_name_must_match_id(self, validator: Validator, body: dict[str, Any]) -> None:
        record = self.record(body)
        problems = validator.check_record(record.document(), filename="somewhere/other.json")
        assert len(problems) == 1 and f"{record.id}.json" in problems[0].message

    def test_record_stored_at_wrong_path_is_refused(self, validator: Validator, body: dict[str, Any]) -> None:
        record = self.record(body)
        problems = validator.check_record(record.document(), filename=f"annotations/{record.id}.json")
        assert len(problems) == 1 and record.path in problems[0].message

    def test_record_at_either_layouts_path_is_valid(self, validator: Validator, body: dict[str, Any]) -> None:
        """Records stored before the deeper layout stay valid where they are; new ones are valid at the new path."""
        record = self.record(body)
        assert record.path != record.legacy_path
        assert validator.check_record(record.document(), filename=record.path) == []
        assert validator.check_record(record.document(), filename=f"data-repo/{record.legacy_path}") == []

    def test_record_between_the_layouts_is_refused_naming_both(self, validator: Validator, body: dict[str, Any]) -> None:
        """One folder short of the new layout is neither layout: the sentence names both homes."""
        record = self.record(body)
        halfway = record.path.replace(f"/{record.id[3]}/{record.id}.json", f"/{record.id}.json")
        problems = validator.check_record(record.document(), filename=halfway)
        assert len(problems) == 1 and record.path in problems[0].message and record.legacy_path in problems[0].message

    def test_record_problems_point_inside_submission(self, validator: Validator, body: dict[str, Any]) -> None:
        document = copy.deepcopy(self.record(body).document())
        document["submission"]["fps"] = -1
        assert "/submission/fps" in pointers(validator.check_record(document))

    def test_receipt_is_required(self, validator: Validator, body: dict[str, Any]) -> None:
        document = self.record(body).document()
        del document["receipt"]["submitter"]
        assert "/receipt/submitter" in pointers(validator.check_record(document))


class TestCharacters:
    @pytest.mark.parametrize(
        "url",
        [
            "https://example.org/v.mp4\n\nCloses #1",
            "https://example.org/v.mp4\n",
            "https://example.org/a b.mp4",
            "https://example.org/v\u200b.mp4",
            "https://example.org/\u202ev.mp4",
            "https://example.org/v.mp4\u2028",
            "https://example.org/v.mp4\r\n",
            "https://example.org/v\u00a0.mp4",
            "https://example.org/v\U000e0041.mp4",
        ],
        ids=["newline-closes", "trailing-newline", "space", "zero-width", "bidi", "line-separator", "crlf", "nbsp", "tag-character"],
    )
    def test_url_with_whitespace_or_invisible_character_is_refused(self, validator: Validator, body: dict[str, Any], url: str) -> None:
        """The URL is checked as sent, not after urlsplit strips what it dislikes."""
        body["video_url"] = url
        problems = validator.check_submission(body)
        assert only_pointer(problems) == "/video_url"
        assert "U+" in problems[0].message and "%20" in problems[0].message

    def test_id_with_trailing_newline_is_refused(self, validator: Validator, body: dict[str, Any]) -> None:
        """A schema `$` must not let a final line break through, as Python's `$` alone would."""
        body["labels"][4]["id"] = "nose\n"
        problems = validator.check_submission(body)
        assert "/labels/4/id" in pointers(problems)
        assert any("U+000A" in p.message for p in problems)

    @pytest.mark.parametrize("name", ["Nose\n\n@octocat", "No\u200bse", "\u202eNose", "Nose\t"])
    def test_name_with_control_or_invisible_character_is_refused(self, validator: Validator, body: dict[str, Any], name: str) -> None:
        body["labels"][4]["name"] = name
        problems = validator.check_submission(body)
        assert only_pointer(problems) == "/labels/4/name"
        assert "invisible" in problems[0].message

    @pytest.mark.parametrize("value", ["pozoo\nCo-authored-by: x <x@example.org>", "a\u202eb", "zero\u200bwidth", "bell\u0007", "tag\U000e0001"])
    def test_metadata_string_with_control_or_invisible_character_is_refused(self, validator: Validator, body: dict[str, Any], value: str) -> None:
        body["metadata"] = {"tool": value}
        problems = validator.check_submission(body)
        assert only_pointer(problems) == "/metadata/tool"
        assert "U+" in problems[0].message

    def test_metadata_text_with_spaces_and_letters_is_accepted(self, validator: Validator, body: dict[str, Any]) -> None:
        """Other text is fine in metadata: spaces, accents, other scripts, punctuation."""
        body["metadata"] = {"tool": "Pózoo étiqueteur 1.2 (ラベル) #1 @home"}
        assert validator.check_submission(body) == []

    def test_metadata_key_with_trailing_newline_is_refused(self, validator: Validator, body: dict[str, Any]) -> None:
        body["metadata"] = {"tool\n": "pozoo"}
        problems = validator.check_submission(body)
        assert only_pointer(problems) == "/metadata" and "field names" in problems[0].message

    def test_long_metadata_string_names_its_length(self, validator: Validator, body: dict[str, Any]) -> None:
        body["metadata"] = {"tool": "x" * 300}
        problems = validator.check_submission(body)
        assert only_pointer(problems) == "/metadata/tool" and "300 characters" in problems[0].message

    def test_stored_record_with_invisible_character_is_refused(self, validator: Validator, body: dict[str, Any]) -> None:
        """The same characters are refused inside a stored record, at their place in it."""
        body["video_url"] = "https://example.org/v.mp4\u2066"
        document = Record.create(body, submitter="anonymous", received_at=datetime(2026, 1, 1, tzinfo=timezone.utc), receiver_version="0.1.0").document()
        assert "/submission/video_url" in pointers(validator.check_record(document))

    def test_schema_patterns_name_every_basic_plane_format_character(self) -> None:
        """The schema says what Python enforces for the basic plane, so other readers of the schema agree."""
        import re
        import unicodedata

        from receiver.contract.schemas import SUBMISSION, load_schema

        schema = load_schema(SUBMISSION)
        url = re.compile(schema["properties"]["video_url"]["pattern"])
        name = re.compile(schema["$defs"]["label"]["properties"]["name"]["pattern"])
        for code in range(0x10000):
            character = chr(code)
            category = unicodedata.category(character)
            if category in ("Cc", "Cf", "Zl", "Zp"):
                assert not name.match(f"a{character}b"), hex(code)
            if category in ("Cc", "Cf", "Zl", "Zp", "Zs"):
                assert not url.match(f"a{character}b"), hex(code)


class TestNames:
    def test_name_other_than_the_skeletons_is_refused(self, validator: Validator, body: dict[str, Any]) -> None:
        """A label's name is the skeleton's display name for its id, never free text."""
        body["labels"][4]["name"] = "Closes #1"
        problems = validator.check_submission(body)
        assert only_pointer(problems) == "/labels/4/name"
        assert "'Nose'" in problems[0].message and "leave name out" in problems[0].message

    def test_omitted_names_are_accepted(self, validator: Validator, body: dict[str, Any]) -> None:
        for label in body["labels"]:
            del label["name"]
        assert validator.check_submission(body) == []

    def test_fill_names_takes_omitted_names_from_the_skeleton(self, validator: Validator, body: dict[str, Any]) -> None:
        """Filling gives back exactly the body the page sends with names."""
        bare = copy.deepcopy(body)
        for label in bare["labels"]:
            del label["name"]
        assert fill_names(bare, validator.skeleton) == body
        assert all("name" not in label for label in bare["labels"])

    def test_record_id_is_the_same_with_names_sent_or_filled(self, validator: Validator, body: dict[str, Any]) -> None:
        bare = copy.deepcopy(body)
        for label in bare["labels"]:
            del label["name"]
        when = datetime(2026, 1, 1, tzinfo=timezone.utc)
        filled = Record.create(fill_names(bare, validator.skeleton), submitter="anonymous", received_at=when, receiver_version="0.1.0")
        sent = Record.create(body, submitter="anonymous", received_at=when, receiver_version="0.1.0")
        assert filled.id == sent.id

    def test_stored_record_without_names_is_refused(self, validator: Validator, body: dict[str, Any]) -> None:
        """Records are built from filled submissions, so a stored label always carries its name."""
        for label in body["labels"]:
            del label["name"]
        document = Record.create(body, submitter="anonymous", received_at=datetime(2026, 1, 1, tzinfo=timezone.utc), receiver_version="0.1.0").document()
        assert "/submission/labels/0/name" in pointers(validator.check_record(document))


# Record ids of the captured bodies, as they were before `visible` existed.
_CAPTURED_IDS = {
    "post_fps_25": "b257a3357cbe477c2c0836b2138c7df0",
    "post_fps_29_97": "05e164b5f97286baf4db7716adbdb2c1",
    "post_one_unplaced": "1d851e302e8d5d6068261fc472861a8f",
    "post_only_one_placed": "05d9e68639382390bb3ddd46d428a8a7",
    "post_six_placed": "b79e98e5a7c7e677ff7c5a3aaaabecfd",
}


class TestVisible:
    def test_a_hidden_placed_keypoint_is_accepted(self, validator: Validator, body: dict[str, Any]) -> None:
        """A placed keypoint may say it is hidden with visible false."""
        body["labels"][0]["visible"] = False
        assert validator.check_submission(body) == []

    def test_visible_true_on_a_placed_keypoint_is_accepted(self, validator: Validator, body: dict[str, Any]) -> None:
        """visible true says what absence says, and is accepted."""
        body["labels"][0]["visible"] = True
        assert validator.check_submission(body) == []

    def test_visible_on_an_unplaced_keypoint_is_refused_with_a_sentence(self, validator: Validator) -> None:
        """visible on a keypoint not placed is refused at its own pointer, saying what to do."""
        body = captured_body("post_one_unplaced")
        index = next(i for i, label in enumerate(body["labels"]) if not label["placed"])
        body["labels"][index]["visible"] = False
        problems = validator.check_submission(body)
        assert only_pointer(problems) == f"/labels/{index}/visible"
        assert "only to a placed keypoint" in problems[0].message

    def test_visible_must_be_a_boolean(self, validator: Validator, body: dict[str, Any]) -> None:
        """A string for visible is refused as a type error."""
        body["labels"][1]["visible"] = "no"
        problems = validator.check_submission(body)
        assert only_pointer(problems) == "/labels/1/visible"
        assert "true or false" in problems[0].message

    def test_a_stored_record_keeps_visible_and_revalidates(self, validator: Validator, body: dict[str, Any]) -> None:
        """A record of a submission with a hidden keypoint stores the flag and passes as a record."""
        body["labels"][2]["visible"] = False
        record = Record.create(body, submitter="anonymous", received_at=datetime(2026, 1, 1, tzinfo=timezone.utc), receiver_version="0.1.0")
        assert record.submission["labels"][2]["visible"] is False
        assert validator.check_record(record.document(), filename=record.path) == []

    @pytest.mark.parametrize("request_", captured_posts(), ids=lambda r: r.name)
    def test_captured_bodies_keep_their_record_ids(self, validator: Validator, request_: Any) -> None:
        """Submissions without visible get no default injected: their record ids are unchanged."""
        submission = fill_names(request_.json(), validator.skeleton)
        record = Record.create(submission, submitter="anonymous", received_at=datetime(2026, 1, 1, tzinfo=timezone.utc), receiver_version="0.1.0")
        assert record.id == _CAPTURED_IDS[request_.name]
        assert all("visible" not in label for label in record.submission["labels"])
