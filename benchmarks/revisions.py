"""Another revision's files, for benchmarks that measure this tree beside an earlier one."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

__all__ = ["ROOT", "tree_of"]

ROOT = Path(__file__).resolve().parents[1]


def tree_of(revision: str | None, into: Path) -> Path:
    """The files of `revision` (this working tree when None), extracted under `into` so a receiver can run from them."""
    if revision is None:
        return ROOT
    archive = into / "tree.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), revision], check=True)
    target = into / revision.replace("/", "_")
    with tarfile.open(archive) as tar:
        # The archive is our own `git archive`; the "data" filter exists from Python 3.11.4 (and 3.12).
        tar.extractall(target, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return target
