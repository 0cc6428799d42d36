"""Turn untrusted bytes into a JSON value, within bounds, or say why not.

Used for HTTP bodies and for files alike, so both refuse the same things:
bodies over the size limit, invalid UTF-8, NaN and Infinity, numbers past
float range, and nesting deeper than any submission needs. orjson does the
parsing (a tenth of the stdlib's time on the hot path of every submission);
a repeated key keeps its last value, as in most JSON readers, and is harmless
here because only the receiver's own re-encoding is ever stored.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["MAX_DOCUMENT_BYTES", "MAX_DEPTH", "ParseError", "parse_json"]

MAX_DOCUMENT_BYTES = 64 * 1024
MAX_DEPTH = 16

_BOM = b"\xef\xbb\xbf"


class ParseError(ValueError):
    """Bytes that are not one bounded JSON document; `str()` is a sentence for the sender."""


def _too_deep(value: Any, limit: int) -> bool:
    """Whether containers nest more than `limit` levels, walking one level at a time."""
    level = [value]
    for _ in range(limit):
        level = [child for item in level if isinstance(item, (dict, list)) for child in (item.values() if isinstance(item, dict) else item)]
        if not any(isinstance(item, (dict, list)) for item in level):
            return False
    return True


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
        elif "recursion" in exc.msg:
            reason = f"the document nests too deeply; at most {MAX_DEPTH} levels"
        else:
            line, column = _line_and_column(data, exc.pos)
            reason = f"not valid JSON at line {line}, column {column}: {exc.msg}"
        raise ParseError(reason) from exc
    if _too_deep(value, MAX_DEPTH):
        raise ParseError(f"the document nests too deeply; at most {MAX_DEPTH} levels")
    return value
