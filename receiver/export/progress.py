"""A progress bar for long exports: rich, on the error stream, and only on a terminal.

Off when the stream is not a TTY (CI logs, pipes, tests), so output stays
plain text. It knows nothing about records; callers report (done, total).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from receiver.export.extra import require

__all__ = ["Step", "progress_bar"]

Step = Callable[[int, "int | None"], None]

# Redrawing for every record would cost more than reading it.
_EVERY = 500


def _noop(done: int, total: int | None) -> None:
    return None


@contextmanager
def progress_bar(stream: TextIO, description: str) -> Iterator[Step]:
    """Yield a `step(done, total)` that draws on `stream` when it is a terminal, else does nothing."""
    if not stream.isatty():
        yield _noop
        return
    rich_console = require("rich.console")
    rich_progress = require("rich.progress")
    console = rich_console.Console(file=stream)
    with rich_progress.Progress(console=console, transient=True) as bar:
        task = bar.add_task(description, total=None)

        def step(done: int, total: int | None) -> None:
            if done % _EVERY == 0 or done == total:
                bar.update(task, completed=done, total=total)

        yield step
