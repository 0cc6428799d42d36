#!/usr/bin/env python3
"""Validate annotation files in a workflow: `scripts/validate_annotations.py [--format github] PATH...`.

A thin entry point so workflow steps name a script; the logic is `receiver validate`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from receiver.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["validate", *sys.argv[1:]]))
