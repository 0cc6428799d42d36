"""Log lines of `receiver serve`: one line per event, the exception's class instead of its traceback."""

from __future__ import annotations

import logging
import sys

from receiver.logs import NoTracebacks


def test_exception_becomes_its_class_name_on_the_same_line() -> None:
    try:
        raise OverflowError("int too large to convert to float /secret/path")
    except OverflowError:
        record = logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1, "Exception in ASGI application\n", (), sys.exc_info())
    assert NoTracebacks().filter(record)
    assert record.getMessage() == "Exception in ASGI application (OverflowError)"
    assert record.exc_info is None and "/secret/path" not in record.getMessage()
