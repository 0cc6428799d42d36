"""Expert labels read from where they are kept: a folder or git repository of records, or a JSON file of them.

What they mean for the consensus (each frame's expert points) is
`receiver.consensus.gold`'s business; this module only finds and checks them.
"""

from __future__ import annotations

import json
from pathlib import Path

from receiver.contract.records import Record
from receiver.contract.validation import Validator
from receiver.stores.sources import SourceError, collect, open_source

__all__ = ["GoldError", "read_gold"]


class GoldError(ValueError):
    """Expert labels that cannot be read; the message says what to pass."""


def read_gold(path: Path, validator: Validator) -> list[Record]:
    """The valid records of a gold source: a folder, a git repository, or a JSON file of record documents."""
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
