"""Turn untrusted bytes into a JSON value, within bounds, or say why not.

Used for HTTP bodies and for files alike, so both refuse the same things:
bodies over the size limit, invalid UTF-8, NaN and Infinity, numbers past
float range, repeated keys in one object (two readers could disagree on
which one wins), and nesting deeper than any submission needs. orjson reads
the value and names what is wrong with broken input; the stdlib parser, which
can show every key of an object, is asked only whether a key repeats.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

__all__ = ["MAX_DOCUMENT_BYTES", "MAX_DEPTH", "ParseError", "parse_json"]

MAX_DOCUMENT_BYTES = 64 * 1024
MAX_DEPTH = 16

_BOM = b"\xef\xbb\xbf"


class ParseError(ValueError):
    """Bytes that are not one bounded JSON document; `str()` is a sentence for the sender."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ParseError(f"the key {key[:40]!r} appears twice in one object; send it once")
            seen.add(key)
    return document


def _key_count(value: Any, limit: int) -> int | None:
    """How many object keys `value` holds, or None when containers nest more than `limit` levels; walks one level at a time."""
    level = [value] if isinstance(value, (dict, list)) else []
    keys = 0
    for _ in range(limit):
        children: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                keys += len(item)
                children.extend(item.values())
            else:
                children.extend(item)
        level = [child for child in children if isinstance(child, (dict, list))]
        if not level:
            return keys
    return None


#: Where a key can end: a quote, JSON whitespace, a colon. Every key of a document ends so, and text inside strings may too.
_KEY_END = re.compile(rb'"[ \t\r\n]*:')


def _line_and_column(data: bytes, position: int) -> tuple[int, int]:
    before = data[:position]
    return before.count(b"\n") + 1, position - (before.rfind(b"\n") + 1) + 1


def parse_json(data: bytes, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> Any:
    """Parse one JSON document from bytes, raising `ParseError` with a sentence on any refusal."""
    if len(data) > max_bytes:
        raise ParseError(f"the document is {len(data)} bytes; the limit is {max_bytes} bytes")
    if not data.strip():
        raise ParseError("the document is empty; send a JSON object")
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as bad:
            raise ParseError(f"the document is not valid UTF-8 (byte {bad.start}); send UTF-8 text") from exc
        if b"NaN" in data or b"Infinity" in data:
            reason = "NaN and Infinity are not JSON numbers; send a finite number or null"
        elif "depth" in exc.msg or "recursion" in exc.msg:
            reason = f"the document nests too deeply; at most {MAX_DEPTH} levels"
        else:
            line, column = _line_and_column(data, exc.pos)
            reason = f"not valid JSON at line {line}, column {column}: {exc.msg}"
        raise ParseError(reason) from exc
    keys = _key_count(value, MAX_DEPTH)
    if keys is None:
        raise ParseError(f"the document nests too deeply; at most {MAX_DEPTH} levels")
    # The text has at least as many key endings as keys. If the parsed value kept
    # as many keys, none repeated and none was dropped: skip the slower reader.
    if len(_KEY_END.findall(data)) != keys:
        json.loads(data, object_pairs_hook=_unique_keys)
    return value
