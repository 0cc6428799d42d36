"""Turn untrusted bytes into a JSON value, within bounds, or say why not.

Used for HTTP bodies and for files alike, so both refuse the same things:
bodies over the size limit, invalid UTF-8, NaN and Infinity, numbers past
float range, duplicate keys (two readers could disagree on which one wins),
and nesting deeper than any submission needs. Numbers past float range
parse as infinity, which every numeric bound of the schemas refuses.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["MAX_DOCUMENT_BYTES", "MAX_DEPTH", "ParseError", "parse_json"]

MAX_DOCUMENT_BYTES = 64 * 1024
MAX_DEPTH = 16


class ParseError(ValueError):
    """Bytes that are not one bounded JSON document; `str()` is a sentence for the sender."""


def _refuse_constant(name: str) -> Any:
    raise ParseError(f"{name} is not a JSON number; send a finite number or null")


def _encodable(value: Any) -> None:
    """Refuse a string with a lone surrogate (a `\\ud800` escape): it has no UTF-8 form, so it could be neither stored nor echoed."""
    if isinstance(value, str):
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ParseError("a string holds a lone UTF-16 surrogate escape (like \\ud800); send valid Unicode text") from None
    elif isinstance(value, list):
        for item in value:
            _encodable(item)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Objects' own values were checked by the inner call of this hook; strings here are keys, values and list items.
    for key, value in pairs:
        _encodable(key)
        _encodable(value)
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ParseError(f"the key {key[:40]!r} appears twice in one object; send it once")
            seen.add(key)
    return document


def _too_deep(value: Any, limit: int) -> bool:
    """Whether containers nest more than `limit` levels, walking one level at a time."""
    level = [value]
    for _ in range(limit):
        level = [child for item in level if isinstance(item, (dict, list)) for child in (item.values() if isinstance(item, dict) else item)]
        if not any(isinstance(item, (dict, list)) for item in level):
            return False
    return True


def parse_json(data: bytes, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> Any:
    """Parse one JSON document from bytes, raising `ParseError` with a sentence on any refusal."""
    if len(data) > max_bytes:
        raise ParseError(f"the document is {len(data)} bytes; the limit is {max_bytes} bytes")
    if not data.strip():
        raise ParseError("the document is empty; send a JSON object")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"the document is not valid UTF-8 (byte {exc.start}); send UTF-8 text") from exc
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        value = json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_unique_keys)
    except ParseError:
        raise
    except json.JSONDecodeError as exc:
        raise ParseError(f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
    except RecursionError as exc:
        raise ParseError(f"the document nests too deeply; at most {MAX_DEPTH} levels") from exc
    except ValueError as exc:
        # int() refuses numbers of more than 4,300 digits (CPython's guard against slow conversions).
        raise ParseError("a number in the document has too many digits") from exc
    if _too_deep(value, MAX_DEPTH):
        raise ParseError(f"the document nests too deeply; at most {MAX_DEPTH} levels")
    return value
