"""Untrusted bytes to JSON: every refusal is a sentence, never an exception of another kind."""

from __future__ import annotations

import pytest

from receiver.contract.parsing import MAX_DOCUMENT_BYTES, ParseError, parse_json


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
        (b'{"x": 1e400}', "infinity"),
        (b"[" * 100 + b"]" * 100, "nests too deeply"),
        (b"[" * 100_000, "nests too deeply"),
    ],
    ids=["empty", "blank", "not-json", "not-utf8", "nan", "infinity", "minus-infinity", "past-float-range", "deep", "deep-unclosed"],
)
def test_refusals_are_sentences(data: bytes, phrase: str) -> None:
    with pytest.raises(ParseError, match=phrase):
        parse_json(data, max_bytes=1_000_000)


@pytest.mark.parametrize("data", [b'{"a": 1, "a": 2}', b'{"b": [{"a": 1, "a": 1}]}', b'{"a": 1, "\\u0061": 2}'])
def test_repeated_key_is_refused(data: bytes) -> None:
    """Two readers could disagree on which value wins, so neither does."""
    with pytest.raises(ParseError, match="appears twice"):
        parse_json(data)


def test_number_with_thousands_of_digits_is_refused() -> None:
    with pytest.raises(ParseError, match="not valid JSON"):
        parse_json(b'{"x": ' + b"9" * 5000 + b"}")


def test_oversized_document_is_refused_before_parsing() -> None:
    with pytest.raises(ParseError, match="limit"):
        parse_json(b" " * (MAX_DOCUMENT_BYTES + 1))


def test_byte_order_mark_is_tolerated() -> None:
    assert parse_json(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}


def test_ordinary_document_parses() -> None:
    assert parse_json(b'{"a": [1, 2.5, null, true, "x"]}') == {"a": [1, 2.5, None, True, "x"]}
