#!/usr/bin/env python3
"""Merge a receiver pull request once validation has passed: `scripts/merge_receiver_pr.py`.

Reads GitHub's standard Actions variables; the gate's decisions live in
`receiver.datarepo.gate`, the API calls in `receiver.datarepo.automerge`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from receiver.datarepo.automerge import run_automerge  # noqa: E402

if __name__ == "__main__":
    sys.exit(run_automerge(os.environ, sys.stdout))
