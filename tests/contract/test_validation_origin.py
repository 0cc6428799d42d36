"""A label's origin (a model's suggestion accepted, or placed by the volunteer) and the model named in metadata."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from receiver.contract.records import Record
from receiver.contract.validation import Allowance, Validator, _plainly_acceptable
from tests.support.animals import several_animals
from tests.support.captured import captured_body

URL = captured_body()["video_url"]
PAIR = Validator(allowances={URL: Allowance(2, ("mother", "pup"))})


@pytest.fixture
def body() -> dict[str, Any]:
    return captured_body("post_six_placed")


class TestOrigin:
    @pytest.mark.parametrize("origin", ["suggested", "placed"])
    def test_either_origin_on_a_placed_keypoint_is_accepted(self, validator: Validator, body: dict[str, Any], origin: str) -> None:
        """A placed keypoint may say whether it was a suggestion accepted or placed by the volunteer."""
        body["labels"][0]["origin"] = origin
        assert validator.check_submission(body) == []

    def test_another_origin_is_refused_with_a_sentence_naming_both(self, validator: Validator, body: dict[str, Any]) -> None:
        """An origin other than the two is a problem at its pointer, saying what to send."""
        body["labels"][3]["origin"] = "model"
        problems = validator.check_submission(body)
        assert [p.pointer for p in problems] == ["/labels/3/origin"]
        assert "'suggested'" in problems[0].message and "'placed'" in problems[0].message

    def test_origin_on_an_unplaced_keypoint_is_refused(self, validator: Validator) -> None:
        """Nothing was accepted or placed on an unplaced keypoint, so it carries no origin."""
        body = captured_body("post_one_unplaced")
        index = next(i for i, label in enumerate(body["labels"]) if not label["placed"])
        body["labels"][index]["origin"] = "suggested"
        problems = validator.check_submission(body)
        assert [p.pointer for p in problems] == [f"/labels/{index}/origin"]
        assert "only to a placed keypoint" in problems[0].message

    def test_origin_on_an_unplaced_keypoint_never_takes_the_fast_path(self, validator: Validator) -> None:
        """The hot path leaves an unplaced keypoint with an origin to the rules, which refuse it."""
        body = captured_body("post_one_unplaced")
        index = next(i for i, label in enumerate(body["labels"]) if not label["placed"])
        body["labels"][index]["origin"] = "placed"
        assert not _plainly_acceptable(body, validator.skeleton)

    def test_the_record_keeps_each_labels_origin(self, validator: Validator, body: dict[str, Any]) -> None:
        """The stored record holds the origins as sent and revalidates."""
        body["labels"][0]["origin"] = "suggested"
        body["labels"][1]["origin"] = "placed"
        record = Record.create(body, submitter="anonymous", received_at=datetime(2026, 1, 1, tzinfo=timezone.utc), receiver_version="0.1.0")
        assert [label.get("origin") for label in record.submission["labels"][:3]] == ["suggested", "placed", None]
        assert validator.check_record(record.document(), filename=record.path) == []

    def test_labels_of_several_animals_take_an_origin_too(self) -> None:
        """The label shape is shared, so an instance's label may carry an origin, and a wrong one is refused there."""
        body = several_animals("mother", "pup")
        body["instances"][0]["labels"][0]["origin"] = "suggested"
        assert PAIR.check_submission(body) == []
        body["instances"][1]["labels"][0]["origin"] = "guessed"
        assert [p.pointer for p in PAIR.check_submission(body)] == ["/instances/1/labels/0/origin"]


class TestModel:
    def test_a_model_version_in_metadata_is_accepted(self, validator: Validator, body: dict[str, Any]) -> None:
        """metadata.model names the model whose suggestions were shown."""
        body["metadata"] = {"volunteer": "abcdefgh12", "model": "sleap-2026-11-30"}
        assert validator.check_submission(body) == []

    @pytest.mark.parametrize("model", [7, "", "x" * 129])
    def test_a_model_that_is_not_a_short_string_is_refused(self, validator: Validator, body: dict[str, Any], model: Any) -> None:
        """A number, an empty string or a long one is refused at /metadata/model."""
        body["metadata"] = {"model": model}
        problems = validator.check_submission(body)
        assert [p.pointer for p in problems] == ["/metadata/model"]
