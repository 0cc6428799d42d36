"""Log configuration for `receiver serve`: one line per event, never a traceback.

Tracebacks can carry paths and fragments of requests; a log line keeps only
the exception's class, and tests (which run the app in-process) still see the
real error.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any

__all__ = ["logging_config", "NoTracebacks", "JsonLines"]


class NoTracebacks(logging.Filter):
    """Replace a record's exception with its class name."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[0] is not None:
            record.msg = f"{record.getMessage().strip()} ({record.exc_info[0].__name__})"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        record.stack_info = None
        return True


class JsonLines(logging.Formatter):
    """One JSON object per line, for log collectors: time, level, logger, message, and the record id when a line is about one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        record_id = getattr(record, "record_id", None)
        if record_id is not None:
            line["record_id"] = record_id
        return json.dumps(line, ensure_ascii=False)


def logging_config(level: str = "INFO", *, format: str = "text") -> dict[str, Any]:
    """The `logging.config.dictConfig` of `receiver serve`: `text` lines for people, `json` lines for collectors."""
    formatter = "json" if format == "json" else "plain"
    handler = {"class": "logging.StreamHandler", "formatter": formatter, "filters": ["no_tracebacks"], "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"no_tracebacks": {"()": NoTracebacks}},
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}, "json": {"()": JsonLines}},
        "handlers": {"default": handler},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": ["default"], "level": "WARNING", "propagate": False},
            "receiver": {"handlers": ["default"], "level": level, "propagate": False},
        },
    }
