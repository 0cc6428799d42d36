"""The fast intake's Structs are read from the submission schema, not restated beside it."""

from __future__ import annotations

import copy
import json

import pytest

from receiver.contract.decoding import SubmissionDecoder, UnsupportedSchema
from receiver.contract.schemas import SUBMISSION, load_schema
from receiver.contract.validation import Validator
from tests.support.captured import captured_body

VALIDATOR = Validator(allowances={})
BODY = json.dumps(captured_body(), separators=(",", ":")).encode()


def test_the_schema_as_shipped_gives_a_fast_intake_that_takes_the_page_post() -> None:
    assert SubmissionDecoder(VALIDATOR).decode(BODY) is not None


def test_a_bound_changed_in_the_schema_is_the_bound_the_fast_intake_checks() -> None:
    schema = copy.deepcopy(load_schema(SUBMISSION))
    schema["properties"]["frame_width"]["maximum"] = 100  # the captured frame is 1280 wide
    assert SubmissionDecoder(VALIDATOR, schema).decode(BODY) is None


def test_a_pattern_changed_in_the_schema_is_the_pattern_the_fast_intake_checks() -> None:
    schema = copy.deepcopy(load_schema(SUBMISSION))
    schema["properties"]["video_url"]["pattern"] = "^ftp:.*$"
    assert SubmissionDecoder(VALIDATOR, schema).decode(BODY) is None


def test_a_field_the_schema_no_longer_has_is_refused_by_the_fast_intake() -> None:
    schema = copy.deepcopy(load_schema(SUBMISSION))
    del schema["properties"]["fps"]
    schema["required"].remove("fps")
    assert SubmissionDecoder(VALIDATOR, schema).decode(BODY) is None


@pytest.mark.parametrize("change", ["keyword", "alternatives", "nested keyword", "label keyword"])
def test_a_schema_saying_what_the_fast_intake_cannot_check_is_refused_when_it_is_built(change: str) -> None:
    """Then the receiver logs it and every submission takes the full path, rather than the fast intake accepting too much."""
    schema = copy.deepcopy(load_schema(SUBMISSION))
    if change == "keyword":
        schema["minProperties"] = 9
    elif change == "nested keyword":
        schema["properties"]["frame_index"]["multipleOf"] = 2
    elif change == "label keyword":
        schema["$defs"]["label"]["properties"]["pixel_x"]["format"] = "double"
    else:
        schema["anyOf"] = [{"required": ["labels"]}]
    with pytest.raises(UnsupportedSchema):
        SubmissionDecoder(VALIDATOR, schema)
