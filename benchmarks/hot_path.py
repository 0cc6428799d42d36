"""Where a submission's time goes inside the receiver: each step of the hot path, timed alone.

    python benchmarks/hot_path.py [--requests 20000]

The steps a POST /api/labels goes through after the HTTP server and the
framework hand over its body, in order, each timed over the same distinct
valid submissions (made from the captured labeling-page post, as
benchmarks/intake.py makes them):

- decode: the fast intake's msgspec decode into Structs and its one pass of
  the rules (`receiver.contract.decoding`), what a page's post takes;
- record: names filled in, the canonical id, the stored bytes and path;
- journal: admission to an SQLite journal in a temporary folder, 64 at a time
  from one event loop, as under load: wall time per record, the fsync included;
- answer: the 202's JSON body.

Below them, for comparison, the full path a refused or unusual body takes:
parse (`receiver.contract.parsing`), validate (`Validator.check_submission`)
and its record (`Record.create`).

Figures are microseconds a request in this process alone. Under HTTP load
the same steps cost more (the server, the load generator and the kernel
share two cores and their caches); benchmarks/intake.py prints both, the
measured CPU per accepted submission beside this split.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

import orjson
from loadgen import Submissions

from receiver.contract.decoding import Decoded, SubmissionDecoder
from receiver.contract.parsing import parse_json
from receiver.contract.records import Record
from receiver.contract.validation import Validator, fill_names
from receiver.journal import Journal

CAPTURE = ROOT / "tests" / "captured" / "post_six_placed.json"
CLIENTS = 64


def _each(items: Sequence[Any], step: Callable[[Any], Any]) -> tuple[float, list[Any]]:
    started = time.perf_counter()
    results = [step(item) for item in items]
    return (time.perf_counter() - started) / len(items) * 1e6, results


def _journal_us(records: Sequence[Record]) -> float:
    async def admit_all(journal: Journal) -> float:
        pending = iter(records)

        async def client() -> None:
            for record in pending:
                await journal.admit(record)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(CLIENTS)))
        return (time.perf_counter() - started) / len(records) * 1e6

    with tempfile.TemporaryDirectory() as folder, Journal(Path(folder) / "journal.sqlite3") as journal:
        return asyncio.run(admit_all(journal))


def stages(requests: int) -> list[tuple[str, float]]:
    """Microseconds a request spends in each step, in order; then the full path's steps, for comparison."""
    template = json.loads(CAPTURE.read_text(encoding="utf-8"))["body_json"]
    bodies = list(Submissions(template).take(requests))
    validator = Validator(allowances={})
    decoder = SubmissionDecoder(validator)
    now = datetime.now(timezone.utc)

    def fast_record(decoded: Decoded) -> Record:
        made = decoded.record(submitter="anonymous", received_at=now, receiver_version="bench")
        made.path  # noqa: B018 - the path is part of what a record costs
        return made

    def record(document: dict[str, Any]) -> Record:
        made = Record.create(fill_names(document, validator.skeleton), submitter="anonymous", received_at=now, receiver_version="bench")
        made.to_bytes()
        made.path  # noqa: B018
        return made

    def answer(made: Record) -> bytes:
        frame = made.submission["frame_index"]
        return orjson.dumps({
            "message": f"Thank you! Your labels for frame {frame} were received and will be saved to the repository.",
            "id": made.id, "status": "queued", "status_url": f"/api/submissions/{made.id}", "path": made.path,
        })

    decode_us, decoded = _each(bodies, decoder.decode)
    if any(item is None for item in decoded):
        raise SystemExit("hot_path: the fast intake handed a generated submission on; the benchmark's template no longer fits it")
    record_us, made = _each(decoded, fast_record)
    journal_us = _journal_us(made)
    answer_us, _ = _each(made, answer)
    parse_us, documents = _each(bodies, parse_json)
    validate_us, problems = _each(documents, validator.check_submission)
    if any(problems):
        raise SystemExit("hot_path: a generated submission was refused; the benchmark's template no longer fits the schema")
    full_record_us, _ = _each(documents, record)
    return [("decode", decode_us), ("record", record_us), ("journal", journal_us), ("answer", answer_us),
            (FULL + "parse", parse_us), (FULL + "validate", validate_us), (FULL + "record", full_record_us)]


#: Prefix of the full path's steps, shown after the fast path's total.
FULL = "full path: "


def table(measured: list[tuple[str, float]]) -> str:
    steps = [(name, us) for name, us in measured if not name.startswith(FULL)]
    total = sum(us for _, us in steps)
    lines = ["| step | µs a request | share |", "|---|---:|---:|"]
    lines += [f"| {name} | {us:.1f} | {us / total:.0%} |" for name, us in steps]
    lines.append(f"| all steps | {total:.1f} | 100% |")
    lines += [f"| {name} | {us:.1f} | |" for name, us in measured if name.startswith(FULL)]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=20000, help="distinct submissions per step (default 20000)")
    args = parser.parse_args(argv)
    print(f"The hot path in one process, {args.requests:,} distinct submissions, journal admissions {CLIENTS} at a time:")
    print()
    print(table(stages(args.requests)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
