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


def test_json_lines_carry_the_record_id_when_there_is_one() -> None:
    """RECEIVER_LOG_FORMAT=json: one object per line; a line about one record names it."""
    import json

    from receiver.logs import JsonLines

    record = logging.LogRecord("receiver.delivery", logging.WARNING, __file__, 1, "record %s refused", ("abc",), None)
    record.record_id = "abc"
    line = json.loads(JsonLines().format(record))
    assert line["message"] == "record abc refused" and line["record_id"] == "abc" and line["level"] == "WARNING"
    assert line["time"].endswith("Z")


def test_json_lines_from_a_running_receiver_all_parse(tmp_path: object) -> None:
    """Every line `receiver serve` writes with RECEIVER_LOG_FORMAT=json is one JSON object."""
    import json
    from pathlib import Path

    import httpx

    from tests.e2e.conftest import wait_delivered
    from tests.support.captured import captured_posts
    from tests.support.servers import ReceiverProcess

    assert isinstance(tmp_path, Path)
    with ReceiverProcess(tmp_path, {"RECEIVER_LOG_FORMAT": "json"}) as server:
        body = captured_posts()[0].body
        assert httpx.post(f"{server.url}/api/labels", content=body, headers={"Content-Type": "application/json"}).status_code == 202
        wait_delivered(server.url)
    lines = [line for line in server.log().splitlines() if line.strip()]
    assert lines and all(isinstance(json.loads(line), dict) for line in lines)
