"""Gold standard: expert labels for some frames, which the crowd never outvotes.

Expert labels are ordinary stored records: a folder or git repository of them
(`read_gold`), a JSON file holding a list of record documents, or the records
of a named token in the main source (the CLI's ``--gold-from``). Each becomes
the frame's points (`gold_points`); a frame an expert labeled twice keeps the
mean of the expert clicks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from receiver.consensus.votes import FrameKey, Point, vote_of
from receiver.records import Record
from receiver.validation import Validator

__all__ = ["GoldError", "gold_points", "read_gold"]


class GoldError(ValueError):
    """Expert labels that cannot be read; the message says what to pass."""


def read_gold(path: Path, validator: Validator) -> list[Record]:
    """The valid records of a gold source: a folder, a git repository, or a JSON file of record documents."""
    from receiver.export.sources import SourceError, collect, open_source

    if path.is_file():
        try:
            documents = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise GoldError(f"cannot read {path.name}: {exc}") from exc
        documents = documents if isinstance(documents, list) else [documents]
        records = []
        for i, document in enumerate(documents):
            problems = validator.check_record(document)
            if problems:
                raise GoldError(f"{path.name}: entry {i}: {problems[0]}; each entry must be a stored record")
            records.append(Record.from_document(document))
        return records
    try:
        return collect(open_source(path), validator).records
    except SourceError as exc:
        raise GoldError(str(exc)) from exc


def gold_points(records: Iterable[Record], keypoints: Sequence[str]) -> dict[FrameKey, tuple[Point | None, ...]]:
    """Each gold frame's expert points in skeleton order (None where the expert placed nothing)."""
    sums: dict[FrameKey, list[list[float]]] = {}
    for record in records:
        key = FrameKey(record.submission["video_url"], int(record.submission["frame_index"]))
        acc = sums.setdefault(key, [[0.0, 0.0, 0.0] for _ in keypoints])
        for k, point in enumerate(vote_of(record, keypoints).points):
            if point is not None:
                acc[k][0] += point[0]
                acc[k][1] += point[1]
                acc[k][2] += 1
    return {key: tuple((x / n, y / n) if n else None for x, y, n in acc) for key, acc in sums.items()}
