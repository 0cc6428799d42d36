"""The fast intake against the full path: the same verdict on every body, the same record for every accepted one.

Bodies come from the schema (hypothesis-jsonschema), from the valid-submission
strategy, from the labeling page's captured posts, from the hostile corpus
placed in every text field, and from mutations of all of them, made both on
the document (a value replaced, a key dropped or added, a label repeated) and
on its text (a key repeated, an integer written as a float, a byte flipped,
whitespace before a colon, a BOM, a truncation). The quick tests check a few
thousand bodies; the slow ones 25,000 mutated bodies plus 3,000 from hypothesis.
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receiver.contract.decoding import _KEY_END, SubmissionDecoder
from receiver.contract.parsing import ParseError, parse_json
from receiver.contract.records import Record
from receiver.contract.validation import Allowance, Problem, Validator, fill_names
from tests.support.captured import captured_body, hostile_submissions
from tests.support.strategies import schema_documents, valid_submissions

HERD = "https://example.org/herd.mp4"
#: As the receiver builds it: with the videos it knows (here one that allows three tracked animals).
VALIDATOR = Validator(allowances={HERD: Allowance(animals=3, tracks=("mouse_1", "mouse_2", "mouse_3"))})
DECODER = SubmissionDecoder(VALIDATOR)
RECEIVED = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
CAPTURED = ("post_six_placed", "post_fps_25", "post_fps_29_97", "post_only_one_placed", "post_one_unplaced")
#: Who sent it: the anonymous public, a token's owner with text JSON escapes, a volunteer session.
SENDERS: tuple[tuple[str, str | None, bool], ...] = (("anonymous", None, False), ("lab-7", None, False), ("anonymous", "Quiet Otter 17", True), ("anonymous", "Ünïcode Owl", False))


@dataclass(frozen=True)
class Refusal:
    """What the full path answers a body it refuses: a parse error (400) or the problems (422)."""

    status: int
    problems: tuple[Problem, ...] = ()


def full_path(body: bytes, submitter: str = "anonymous", volunteer: str | None = None, assigned: bool = False) -> Record | Refusal:
    """What the submit path did before the fast intake: parse, validate, fill names, build the record."""
    try:
        document = parse_json(body)
    except ParseError:
        return Refusal(400)
    problems = VALIDATOR.check_submission(document)
    if problems:
        return Refusal(422, tuple(problems))
    return Record.create(fill_names(document, VALIDATOR.skeleton), submitter=submitter, received_at=RECEIVED, receiver_version="9.9.9",
                         volunteer=volunteer, assigned=assigned)


@dataclass
class Tally:
    checked: int = 0
    fast: int = 0
    accepted: int = 0


def agree(body: bytes, tally: Tally | None = None, sender: int = 0) -> None:
    """The fast intake accepts exactly what the full path accepts, and builds the same record: bytes, id, path, submission."""
    submitter, volunteer, assigned = SENDERS[sender % len(SENDERS)]
    decoded = DECODER.decode(body)
    expected = full_path(body, submitter, volunteer, assigned)
    if tally is not None:
        tally.checked += 1
        tally.fast += decoded is not None
        tally.accepted += isinstance(expected, Record)
    if decoded is None:
        # Handed on: the full path answers. It may only be something the full path refuses, or one of the few
        # spellings the fast intake leaves to it on purpose.
        assert not isinstance(expected, Record) or handed_on_by_design(body), body
        return
    assert isinstance(expected, Record), (body, expected)
    record = decoded.record(submitter=submitter, received_at=RECEIVED, receiver_version="9.9.9", volunteer=volunteer, assigned=assigned)
    assert record.to_bytes() == expected.to_bytes(), body
    assert record.id == expected.id
    assert record.path == expected.path
    assert record.submission == expected.submission
    assert (decoded.video_url, decoded.frame_index) == (expected.submission["video_url"], expected.submission["frame_index"])


def handed_on_by_design(body: bytes) -> bool:
    """A valid body the fast intake leaves to the full path: a BOM, a whole number written as a float where the
    schema says integer, or text that holds what looks like a key's end (a quote, then a colon).

    msgspec's integer fields take JSON integers only; the schema's `integer` also takes 5.0. A repeated key is told
    from the text's key endings, which such text adds to. All are rare enough that the full path's cost does not
    matter, and it writes the same record.
    """
    if body.startswith(b"\xef\xbb\xbf"):
        return True
    document = json.loads(body.decode("utf-8-sig"))
    integers = ("frame_index", "total_frames", "frame_width", "frame_height")
    return any(isinstance(document.get(key), float) for key in integers) or len(_KEY_END.findall(body)) != _keys(document)


def _keys(value: Any) -> int:
    if isinstance(value, dict):
        return len(value) + sum(_keys(item) for item in value.values())
    if isinstance(value, list):
        return sum(_keys(item) for item in value)
    return 0


# -- what is mutated ----------------------------------------------------------------


def herd_body() -> dict[str, Any]:
    """A captured post turned into several animals of a video that allows them."""
    body = captured_body()
    labels = body.pop("labels")
    body["video_url"] = HERD
    body["instances"] = [{"labels": copy.deepcopy(labels), "track": "mouse_1"}, {"labels": copy.deepcopy(labels)}]
    return body


def seeds() -> list[dict[str, Any]]:
    """The captured posts, a several-animal post, and a captured post with each hostile text in each text field."""
    found = [captured_body(name) for name in CAPTURED] + [herd_body()]
    meta = captured_body()
    meta["metadata"] = {"tool": "page 1.2", "model": "resnet-50", "n": 3, "ok": True, "none": None, "x": 2.5}
    found.append(meta)
    found.extend(hostile_submissions())
    return found


_VALUES: list[Any] = [
    None, True, False, 0, -1, 1, 2, 5.0, 1.5, 0.1, 1e-7, 3e-5, 65536, 65536.0, 65537, 1000, 1000.5, 1e15, 1e16, 2**63, 2**64 + 1, -0.0,
    "", "x", "nose", "Nose", "tail_base", "Tail Base", "mouse_1", "a\u202eb", "a\nb", "caf\u00e9", "\U0001f42d", " ", "https://example.org/v.mp4",
    "2024-01-15T12:34:56Z", "2024-02-30T00:00:00Z", "2024-01-15T12:34:56", "2024-01-15T12:34:56.123456789+02:00", "suggested", "placed",
    [], {}, [1], {"a": 1}, [{"id": "nose"}],
]
_KEYS = ["video_url", "frame_index", "total_frames", "fps", "frame_width", "frame_height", "timestamp", "labels", "instances", "metadata", "extra",
         "id", "name", "placed", "pixel_x", "pixel_y", "visible", "origin", "track", "model", "note", "1bad"]


def _value(rng: random.Random) -> Any:
    return copy.deepcopy(rng.choice(_VALUES))


def _containers(document: Any) -> list[Any]:
    found = [document]
    for value in (document.values() if isinstance(document, dict) else document if isinstance(document, list) else ()):
        if isinstance(value, (dict, list)):
            found += _containers(value)
    return found


def mutate_document(document: dict[str, Any], rng: random.Random) -> Any:
    """One to three edits anywhere in the document."""
    document = copy.deepcopy(document)
    for _ in range(rng.randint(1, 3)):
        target = rng.choice(_containers(document))
        edit = rng.randrange(6)
        if isinstance(target, dict) and target and edit < 3:
            key = rng.choice(sorted(target))
            if edit == 0:
                target[key] = _value(rng)
            elif edit == 1:
                del target[key]
            else:
                target[key] = copy.deepcopy(rng.choice(_containers(document)))
        elif isinstance(target, dict) and edit < 5:
            target[rng.choice(_KEYS)] = _value(rng)
        elif isinstance(target, list) and target:
            index = rng.randrange(len(target))
            choice = rng.randrange(3)
            if choice == 0:
                target.append(copy.deepcopy(target[index]))
            elif choice == 1:
                del target[index]
            else:
                target[index] = _value(rng)
        elif isinstance(target, dict) and "labels" in target and isinstance(target["labels"], list):
            for label in target["labels"]:
                if isinstance(label, dict) and rng.random() < 0.5:
                    label.update(placed=False, pixel_x=None, pixel_y=None)
    return document


def serialise(document: Any, rng: random.Random) -> bytes:
    """The document as a page, a script or a person might write it."""
    style = rng.randrange(4)
    if style == 0:
        text = json.dumps(document, separators=(",", ":"))
    elif style == 1:
        text = json.dumps(document)
    elif style == 2:
        text = json.dumps(document, indent=rng.choice([1, 2, "\t"]), ensure_ascii=False)
    else:
        text = json.dumps(document, separators=(",", " : "), ensure_ascii=False)
    return text.encode("utf-8")


def mutate_text(body: bytes, rng: random.Random) -> bytes:
    """One edit of the text itself: what a document edit cannot make."""
    edit = rng.randrange(11)
    if edit == 0 and b'"frame_index"' in body:
        return body.replace(b"{", b'{"frame_index":0,', 1)  # a repeated key
    if edit == 1 and b'"id"' in body:
        return body.replace(b'"id"', b'"id":"nose","id"', 1)
    if edit == 2:
        return body.replace(b'"frame_width":', b'"frame_width" :', 1).replace(b'"frame_width": ', b'"frame_width" :\n', 1)
    if edit == 3:
        digits = [i for i in range(1, len(body)) if body[i : i + 1].isdigit() and not body[i - 1 : i].isdigit() and body[i - 1 : i] not in (b".", b"-", b"e")]
        if digits:
            start = rng.choice(digits)
            end = start
            while end < len(body) and body[end : end + 1].isdigit():
                end += 1
            return body[:end] + rng.choice([b".0", b".5", b"e0", b"E2", b"0"]) + body[end:] if body[end : end + 1] not in (b".", b"e", b"E") else body
    if edit == 4:
        return b"\xef\xbb\xbf" + body
    if edit == 5:
        return body[: rng.randrange(len(body))]
    if edit == 6:
        at = rng.randrange(len(body))
        return body[:at] + bytes([rng.randrange(256)]) + body[at + 1 :]
    if edit == 7:
        at = rng.randrange(len(body))
        return body[:at] + rng.choice([b" ", b"\n", b",", b"}", b"]", b'"', b"\\", b"\x00", b"\xff", b"NaN", b"-", b"01"]) + body[at:]
    if edit == 8:
        return body.replace(b"null", b"NaN", 1) if rng.random() < 0.5 else body.replace(b"true", b"1", 1)
    if edit == 9:
        return b"  \n" + body + b"\n "
    return body.replace(b"}", b"}}", 1) if rng.random() < 0.5 else body + b"{}"


def generated(count: int, seed: int) -> list[bytes]:
    """`count` bodies: the seeds as they are, then mutations of them, on the document, on the text, or both."""
    rng = random.Random(seed)
    pool = seeds()
    bodies = [serialise(document, rng) for document in pool]
    while len(bodies) < count:
        document = rng.choice(pool)
        kind = rng.randrange(4)
        if kind == 0:
            bodies.append(serialise(mutate_document(document, rng), rng))
        elif kind == 1:
            bodies.append(mutate_text(serialise(document, rng), rng))
        elif kind == 2:
            bodies.append(mutate_text(serialise(mutate_document(document, rng), rng), rng))
        else:
            bodies.append(serialise(document, rng))  # the same document, another spelling
    return bodies[:count]


# -- the checks ------------------------------------------------------------------------


def test_every_captured_post_takes_the_fast_intake_and_gives_the_same_record() -> None:
    """The labeling page's own posts are what the fast intake is for: all accepted by it, byte for byte the full path's record."""
    tally = Tally()
    for name in CAPTURED:
        for sender in range(len(SENDERS)):
            agree(json.dumps(captured_body(name), separators=(",", ":")).encode(), tally, sender)
    assert tally.fast == tally.checked == tally.accepted == len(CAPTURED) * len(SENDERS)


def test_several_animals_take_the_fast_intake() -> None:
    tally = Tally()
    agree(json.dumps(herd_body()).encode(), tally)
    assert tally.fast == 1


def test_hostile_text_in_every_field_gets_the_full_paths_verdict() -> None:
    tally = Tally()
    for document in seeds():
        agree(json.dumps(document, ensure_ascii=False).encode(), tally)
    assert tally.checked > 500


def test_a_repeated_key_is_never_accepted_by_the_fast_intake() -> None:
    """msgspec keeps the last of two keys; the full path refuses the document, so the fast intake must hand it on."""
    body = json.dumps(captured_body(), separators=(",", ":")).encode()
    for repeated in (body.replace(b"{", b'{"frame_index":0,', 1), body.replace(b'"id"', b'"id":"nose","id"', 1),
                     body.replace(b'"fps":', b'"fps" : 1, "fps":', 1)):
        assert DECODER.decode(repeated) is None
        assert isinstance(full_path(repeated), Refusal)


def test_mutated_bodies_get_the_same_verdict() -> None:
    """A quick run of the mutations (the slow test runs 25,000)."""
    tally = Tally()
    for n, body in enumerate(generated(2_000, seed=1)):
        agree(body, tally, n)
    assert tally.checked == 2_000 and tally.fast > 100 and tally.accepted > tally.fast * 0.5


@pytest.mark.slow
def test_slow_twenty_five_thousand_mutated_bodies_get_the_same_verdict() -> None:
    tally = Tally()
    for n, body in enumerate(generated(25_000, seed=34)):
        agree(body, tally, n)
    assert tally.checked == 25_000


_bodies = st.one_of(schema_documents(), valid_submissions(), valid_submissions().map(lambda d: {**d, "video_url": HERD}))


@settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_bodies, st.randoms(use_true_random=False), st.integers(0, 3))
def test_schema_documents_and_their_mutations_get_the_same_verdict(document: Any, rng: random.Random, sender: int) -> None:
    """What the schema and the valid-submission strategy generate, as written and mutated."""
    agree(serialise(document, rng), sender=sender)
    agree(mutate_text(serialise(mutate_document(document, rng), rng), rng), sender=sender)


@pytest.mark.slow
@settings(max_examples=1_000, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_bodies, st.randoms(use_true_random=False), st.integers(0, 3))
def test_slow_schema_documents_and_their_mutations_get_the_same_verdict(document: Any, rng: random.Random, sender: int) -> None:
    agree(serialise(document, rng), sender=sender)
    agree(serialise(mutate_document(document, rng), rng), sender=sender)
    agree(mutate_text(serialise(document, rng), rng), sender=sender)
