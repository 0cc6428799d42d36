"""Properties of the validator over generated submissions."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import jsonschema_rs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receiver.schemas import SUBMISSION, load_schema
from receiver.validation import Validator
from tests.strategies import schema_documents, valid_submissions

VALIDATOR = Validator()
_SCHEMA = load_schema(SUBMISSION)
_REFERENCE = jsonschema.Draft202012Validator(_SCHEMA)
_FAST = jsonschema_rs.validator_for(_SCHEMA)
_SLOW = settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)

_SCALARS = ["frame_index", "total_frames", "fps", "frame_width", "frame_height"]
_WRONG_TYPES: list[Any] = [True, False, "12", None, [1], {"n": 1}]


@_SLOW
@given(valid_submissions())
def test_generated_valid_submissions_pass(submission: dict[str, Any]) -> None:
    """Any submission within the schema and the rules is accepted."""
    assert VALIDATOR.check_submission(submission) == []


@_SLOW
@given(valid_submissions(), st.sampled_from(_SCALARS), st.sampled_from(_WRONG_TYPES))
def test_wrong_type_of_a_scalar_is_pointed_at(submission: dict[str, Any], field: str, value: Any) -> None:
    """Replacing one number with a value of another type fails at that field."""
    submission[field] = value
    assert f"/{field}" in [p.pointer for p in VALIDATOR.check_submission(submission)]


@_SLOW
@given(valid_submissions(), st.data())
def test_removed_field_is_pointed_at(submission: dict[str, Any], data: st.DataObject) -> None:
    field = data.draw(st.sampled_from(sorted(set(submission) - {"metadata"})))
    del submission[field]
    assert f"/{field}" in [p.pointer for p in VALIDATOR.check_submission(submission)]


@_SLOW
@given(valid_submissions(), st.data())
def test_coordinate_moved_out_of_frame_is_pointed_at(submission: dict[str, Any], data: st.DataObject) -> None:
    placed = [i for i, label in enumerate(submission["labels"]) if label["placed"]]
    index = data.draw(st.sampled_from(placed))
    axis, size = data.draw(st.sampled_from([("pixel_x", "frame_width"), ("pixel_y", "frame_height")]))
    submission["labels"][index][axis] = submission[size] + data.draw(st.integers(1, 1000))
    assert f"/labels/{index}/{axis}" in [p.pointer for p in VALIDATOR.check_submission(submission)]


@_SLOW
@given(valid_submissions(), st.data())
def test_label_mutation_is_pointed_at(submission: dict[str, Any], data: st.DataObject) -> None:
    """Breaking one field of one label fails at that label's field."""
    index = data.draw(st.integers(0, len(submission["labels"]) - 1))
    field, value = data.draw(
        st.sampled_from([("placed", "yes"), ("id", "Not An Id"), ("name", ""), ("pixel_x", "10"), ("pixel_y", -1)])
    )
    submission["labels"][index][field] = value
    assert f"/labels/{index}/{field}" in [p.pointer for p in VALIDATOR.check_submission(submission)]


@_SLOW
@given(valid_submissions(), st.text(min_size=1, max_size=20).filter(lambda k: k not in _SCHEMA["properties"]))
def test_unknown_field_is_pointed_at(submission: dict[str, Any], key: str) -> None:
    submission[key] = 1
    problems = VALIDATOR.check_submission(submission)
    assert any(p.pointer.startswith("/") and key[:40] in p.message for p in problems)


@_SLOW
@given(schema_documents())
def test_schema_documents_fail_only_on_rules_the_schema_cannot_say(document: dict[str, Any]) -> None:
    """What hypothesis-jsonschema derives from the schema never trips a structural check."""
    problems = VALIDATOR.check_submission(document)
    structural = list(_REFERENCE.iter_errors(document))
    assert structural == []
    for problem in problems:
        assert problem.pointer in ("/video_url", "/timestamp", "/frame_index", "/labels") or problem.pointer.startswith("/labels/")


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=30,
)


def _mutants() -> st.SearchStrategy[Any]:
    @st.composite
    def mutate(draw: st.DrawFn) -> Any:
        document = copy.deepcopy(draw(valid_submissions()))
        target: Any = document
        if draw(st.booleans()):
            target = draw(st.sampled_from(document["labels"]))
        key = draw(st.sampled_from(sorted(target)))
        target[key] = draw(_json_values)
        return document

    return mutate()


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.one_of(schema_documents(), valid_submissions(), _mutants(), _json_values))
def test_fast_path_agrees_with_jsonschema(document: Any) -> None:
    """The compiled schema accepts and rejects exactly what jsonschema does."""
    document = json.loads(json.dumps(document))
    assert _FAST.is_valid(document) == _REFERENCE.is_valid(document)
