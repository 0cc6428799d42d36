"""Properties of the validator over generated submissions."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from typing import Any

import jsonschema
import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receiver.contract.records import Record
from receiver.contract.schemas import SUBMISSION, load_schema
from receiver.contract.validation import Validator
from tests.support.strategies import schema_documents, valid_submissions

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
        # An animal's labels in `instances` meet the same rules as `labels` (and repeated tracks a rule too).
        assert problem.pointer in ("/video_url", "/timestamp", "/frame_index", "/labels") or problem.pointer.startswith(("/labels/", "/instances/"))


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


# The fast path: `_plainly_acceptable` may send a good submission on to the rules,
# but may never wave through one the rules would refuse.

from receiver.contract.validation import _plainly_acceptable  # noqa: E402
from tests.support.captured import captured_body, hostile_submissions  # noqa: E402


def _rules_say_nothing(document: Any, prefix: tuple[str, ...] = ()) -> bool:
    return list(VALIDATOR._rules(document, prefix)) == []


def _fast_path_is_sound(document: Any) -> None:
    """Both shortcuts: a posted submission's, and a stored record's submission's (names required there)."""
    if _FAST.is_valid(document) and _plainly_acceptable(document, VALIDATOR.skeleton):
        assert _rules_say_nothing(document), document
    if _FAST.is_valid(document) and _plainly_acceptable(document, VALIDATOR.skeleton, stored=True):
        assert _rules_say_nothing(document, ("submission",)), document


@_SLOW
@given(schema_documents())
def test_the_fast_path_never_accepts_what_the_rules_refuse(document: Any) -> None:
    _fast_path_is_sound(document)


_EDITS: list[tuple[str, Any]] = [
    ("frame_index", 10**6), ("frame_width", 1.5), ("fps", float("nan")), ("timestamp", "2024-02-30T00:00:00Z"),
    ("timestamp", "2024-01-15T12:34:56"), ("video_url", "ftp://example.org/v.mp4"), ("video_url", "https:///v.mp4"),
    ("video_url", "https://[::1/v.mp4"), ("metadata", {"note": float("inf")}), ("metadata", {"note": "a\u202eb"}),
]


@_SLOW
@given(valid_submissions(), st.data())
def test_the_fast_path_never_accepts_a_broken_label_or_field(submission: dict[str, Any], data: st.DataObject) -> None:
    """One edit that a rule refuses, anywhere in a good submission: the fast path sends it on to the rules."""
    labels = submission["labels"]
    i = data.draw(st.integers(0, len(labels) - 1))
    edit = data.draw(st.sampled_from([
        "swap id", "repeat id", "drop label", "rename", "unplace with coordinates", "visible on unplaced",
        "outside frame", "nan coordinate", "unplace all", "field",
    ]))
    if edit == "swap id":
        labels[i]["id"] = "tail_tip"
    elif edit == "repeat id":
        labels[i]["id"] = labels[(i + 1) % len(labels)]["id"]
    elif edit == "drop label":
        del labels[i]
    elif edit == "rename":
        labels[i]["name"] = data.draw(st.sampled_from(["Nose ", "nose", "Left\u200bFront", "Tail"]))
    elif edit == "unplace with coordinates":
        labels[i].update(placed=False, pixel_x=1, pixel_y=1)
    elif edit == "visible on unplaced":
        labels[i].update(placed=False, pixel_x=None, pixel_y=None, visible=True)
    elif edit == "outside frame":
        labels[i].update(placed=True, pixel_x=submission["frame_width"] + 1, pixel_y=0)
    elif edit == "nan coordinate":
        labels[i].update(placed=True, pixel_x=float("nan"), pixel_y=0)
    elif edit == "unplace all":
        for label in labels:
            label.update(placed=False, pixel_x=None, pixel_y=None)
            label.pop("visible", None)
    else:
        field, value = data.draw(st.sampled_from(_EDITS))
        submission[field] = value
    _fast_path_is_sound(submission)


def test_the_fast_path_never_accepts_hostile_text() -> None:
    for body in hostile_submissions():
        _fast_path_is_sound(body)


def test_the_captured_submissions_take_the_fast_path() -> None:
    """The labeling page's own posts are the common case the fast path is for."""
    for name in ("post_six_placed", "post_fps_25", "post_fps_29_97", "post_only_one_placed", "post_one_unplaced"):
        assert _plainly_acceptable(captured_body(name), VALIDATOR.skeleton), name


@pytest.mark.parametrize(("field", "value"), _EDITS, ids=[f"{f}={v!r}" for f, v in _EDITS])
def test_a_stored_record_takes_no_shortcut_past_a_broken_field(field: str, value: Any) -> None:
    """A record whose id matches its broken submission (as if committed by hand): the rules still name the field."""
    body = captured_body()
    body[field] = value
    document = Record.create(body, submitter="anonymous", received_at=datetime(2026, 1, 1, tzinfo=timezone.utc), receiver_version="0.1.0").document()
    pointers = [p.pointer for p in VALIDATOR.check_record(document)]
    assert any(p.startswith(f"/submission/{field}") for p in pointers), pointers


def test_the_captured_submissions_pass_as_stored_records() -> None:
    """The common case of `receiver validate`: a clean record is clean, at its own path or with no path."""
    for name in ("post_six_placed", "post_fps_25", "post_fps_29_97", "post_only_one_placed", "post_one_unplaced"):
        record = Record.create(captured_body(name), submitter="anonymous", received_at=datetime(2026, 1, 1, tzinfo=timezone.utc), receiver_version="0.1.0")
        assert VALIDATOR.check_record(record.document(), filename=record.path) == [], name
        assert VALIDATOR.check_record(record.document()) == [], name
