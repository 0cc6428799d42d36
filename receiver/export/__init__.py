"""Turn stored records into training data: sleap-io `Labels`, written by sleap-io's own writers.

The modules here: `gold` (expert labels read from a source),
`labels` (records or consensus into a `Labels`, one instance per frame),
`frames` (the labeled frames, found, decoded and handed to sleap-io),
`formats` (the writer of each output format), `summary` (what was exported and what was skipped),
`progress` (a progress bar on a terminal), `tables` (the consensus table as
text, JSON or CSV) and `cli` (the `export` and `consensus` subcommands).

Importing this package imports nothing heavy: sleap-io, numpy and rich come
from the optional `export` extra and are imported only when an export runs.

May import: `contract`, `consensus`, `stores` (the records are read back out of where they ended up), `media` (the labeled frames, decoded exactly).
"""

from __future__ import annotations

__all__: list[str] = []
