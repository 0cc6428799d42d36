"""Check files on disk: find the JSON files under some paths, read each within bounds, validate.

Loading and checking only; turning results into text, JSON or GitHub
workflow commands is `reporting`'s job. A file that cannot be read or parsed
becomes a problem of that file, and the run goes on to the next one.

With `jobs` above 1, chunks of paths are checked in that many worker
processes, each building its validator once; results come back in the order
the paths were found, so every reporter prints the same as with one job.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from pathlib import Path

from receiver.contract.parsing import MAX_DOCUMENT_BYTES, ParseError, parse_json
from receiver.contract.schemas import Skeleton
from receiver.contract.validation import Allowance, Problem, Validator
from receiver.stores.sources import UsageError, find_json_files

__all__ = ["FileResult", "UsageError", "find_json_files", "check_file", "check_paths", "available_cores"]

#: Paths per task handed to a worker process: large enough that sending them costs little, small enough to share the work evenly.
CHUNK = 256


@dataclass(frozen=True)
class FileResult:
    path: str
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


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


def available_cores() -> int:
    """How many CPUs this process may run on (its affinity, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not offered on every platform
        return max(1, os.cpu_count() or 1)


# Each worker process's own validator, built once by `_start_worker`: compiling the
# schemas costs more than checking hundreds of files, and a validator cannot be
# sent between processes. Set only inside worker processes, never in the parent.
_worker_validator: Validator | None = None


def _start_worker(skeleton: Skeleton, allowances: Mapping[str, Allowance] | None = None) -> None:
    global _worker_validator
    _worker_validator = Validator(skeleton, allowances=allowances)


def _check_chunk(paths: list[str]) -> list[FileResult]:
    assert _worker_validator is not None, "worker processes are started by check_paths"
    return [check_file(path, _worker_validator) for path in paths]


def _chunks(paths: Iterator[str], size: int) -> Iterator[list[str]]:
    while chunk := list(itertools.islice(paths, size)):
        yield chunk


def _start_method() -> BaseContext:
    """Fork when this process runs no other thread: workers start at once. Forking beside other threads can deadlock them, so then spawn."""
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def check_paths(paths: Iterable[str], validator: Validator, *, jobs: int = 1) -> Iterator[FileResult]:
    """Check every JSON file found under `paths`, one result per file, in the order found.

    With `jobs` 1 (or too few files to share) the files are checked here, lazily;
    otherwise in `jobs` worker processes, each with a validator for the same skeleton.
    """
    found = find_json_files(paths)
    first = list(itertools.islice(found, CHUNK))
    if jobs <= 1 or len(first) < CHUNK:
        for path in itertools.chain(first, found):
            yield check_file(path, validator)
        return
    with ProcessPoolExecutor(max_workers=jobs, mp_context=_start_method(), initializer=_start_worker, initargs=(validator.skeleton, validator.allowances)) as pool:
        for results in pool.map(_check_chunk, _chunks(itertools.chain(first, found), CHUNK)):
            yield from results
