"""Check files on disk: find the JSON files under some paths, read each within bounds, validate.

Loading and checking only; turning results into text, JSON or GitHub
workflow commands is `reporting`'s job. A file that cannot be read or parsed
becomes a problem of that file, and the run goes on to the next one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from receiver.parsing import MAX_DOCUMENT_BYTES, ParseError, parse_json
from receiver.validation import Problem, Validator

__all__ = ["FileResult", "UsageError", "find_json_files", "check_file", "check_paths"]


@dataclass(frozen=True)
class FileResult:
    path: str
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


class UsageError(ValueError):
    """A command line that names something that is not there."""


def find_json_files(paths: Iterable[str]) -> Iterator[str]:
    """Each named file, and every `*.json` below each named folder, in a stable order."""
    for given in paths:
        if os.path.isfile(given):
            yield given
        elif os.path.isdir(given):
            for folder, dirs, files in os.walk(given):
                dirs[:] = sorted(d for d in dirs if d != ".git")
                for name in sorted(files):
                    if name.endswith(".json"):
                        yield os.path.join(folder, name)
        else:
            raise UsageError(f"{given}: no such file or folder")


def check_file(path: str, validator: Validator) -> FileResult:
    """Read, parse and validate one file; every failure is a problem, never an exception."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        return FileResult(path, (Problem("", f"cannot be read: {exc.strerror or exc}"),))
    try:
        document = parse_json(data)
    except ParseError as exc:
        return FileResult(path, (Problem("", str(exc)),))
    return FileResult(path, tuple(validator.check_document(document, filename=Path(path).as_posix())))


def check_paths(paths: Iterable[str], validator: Validator) -> Iterator[FileResult]:
    """Check every JSON file found under `paths`, lazily, one result per file."""
    for path in find_json_files(paths):
        yield check_file(path, validator)
