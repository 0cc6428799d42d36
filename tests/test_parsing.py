"""Untrusted bytes to JSON: every refusal is a sentence, never an exception of another kind."""

from __future__ import annotations

import pytest

from receiver.parsing import MAX_DOCUMENT_BYTES, ParseError, parse_json


@pytest.mark.parametrize(
    ("data", "phrase"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"{nope", "not valid JSON"),
        (b'{"a": "\xff\xfe"}', "UTF-8"),
        (b'{"x": NaN}', "NaN"),
        (b'{"x": Infinity}', "Infinity"),
        (b'{"x": -Infinity}', "Infinity"),
        (b'{"x": ' + b"9" * 5000 + b"}", "too many digits"),
        (b'{"a": 1, "a": 2}', "appears twice"),
        (b"[" * 100 + b"]" * 100, "nests too deeply"),
        (b"[" * 100_000, "nests too deeply"),
    ],
)
def test_refusals_are_sentences(data: bytes, phrase: str) -> None:
    with pytest.raises(ParseError, match=phrase):
        parse_json(data, max_bytes=1_000_000)


def test_oversized_document_is_refused_before_parsing() -> None:
    with pytest.raises(ParseError, match="limit"):
        parse_json(b" " * (MAX_DOCUMENT_BYTES + 1))


def test_byte_order_mark_is_tolerated() -> None:
    assert parse_json(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}


def test_ordinary_document_parses() -> None:
    assert parse_json(b'{"a": [1, 2.5, null, true, "x"]}') == {"a": [1, 2.5, None, True, "x"]}


def test_number_past_float_range_is_infinity_for_the_schema_to_refuse(validator: object) -> None:
    """1e400 parses as infinity; every numeric bound of the submission schema refuses it."""
    from tests.captured import captured_body
    import json

    body = json.dumps(captured_body()).replace('"fps": 30', '"fps": 1e400').encode()
    document = parse_json(body)
    assert document["fps"] == float("inf")
    assert [p.pointer for p in validator.check_submission(document)] == ["/fps"]  # type: ignore[attr-defined]
