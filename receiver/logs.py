"""Log configuration for `receiver serve`: one line per event, never a traceback.

Tracebacks can carry paths and fragments of requests; a log line keeps only
the exception's class, and tests (which run the app in-process) still see the
real error.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["logging_config", "NoTracebacks"]


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


def logging_config(level: str = "INFO") -> dict[str, Any]:
    handler = {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["no_tracebacks"], "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"no_tracebacks": {"()": NoTracebacks}},
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {"default": handler},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": ["default"], "level": "WARNING", "propagate": False},
            "receiver": {"handlers": ["default"], "level": level, "propagate": False},
        },
    }
