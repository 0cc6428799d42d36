"""The adversarial run's report, as a plugin the root conftest loads: counts from every xdist worker, summed and shown once.

Each worker keeps its own tally (tests add to it through the `tally`
fixture); at the end a worker hands its counts to the controller
(`workeroutput`), which adds them up, prints the section and, with
`ADVERSARIAL_REPORT=FILE`, writes them as JSON (benchmarks/run_all.py reads
it). Without xdist the one process is both.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.adversarial.harness import PROFILES, Tally

__all__ = ["TALLY", "profile_name"]

TALLY = pytest.StashKey[Tally]()
_OUTPUT = "adversarial_tally"


def profile_name(config: pytest.Config) -> str:
    """--adversarial-profile (tests/adversarial/conftest.py adds it when that folder is named), else ADVERSARIAL_PROFILE, else short."""
    chosen: str | None = config.getoption("--adversarial-profile", default=None)
    name = chosen or os.environ.get("ADVERSARIAL_PROFILE", "short")
    if name not in PROFILES:
        raise pytest.UsageError(f"ADVERSARIAL_PROFILE={name!r}: expected one of {', '.join(sorted(PROFILES))}")
    return name


def pytest_configure(config: pytest.Config) -> None:
    config.stash[TALLY] = Tally()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On an xdist worker: hand this worker's counts to the controller."""
    output: dict[str, Any] | None = getattr(session.config, "workeroutput", None)
    if output is not None:
        output[_OUTPUT] = dict(session.config.stash[TALLY].counts)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """On the xdist controller: add a finished worker's counts to the run's."""
    counts = getattr(node, "workeroutput", {}).get(_OUTPUT)
    if counts:
        node.config.stash[TALLY].counts.update(counts)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    if hasattr(config, "workeroutput"):
        return
    tally = config.stash[TALLY]
    if not tally.counts:
        return
    counts = tally.as_dict()
    terminalreporter.section(f"adversarial report ({profile_name(config)} profile)")
    for key, value in counts.items():
        terminalreporter.write_line(f"{key:>22}: {value}")
    target = os.environ.get("ADVERSARIAL_REPORT")
    if target:
        Path(target).write_text(json.dumps({"profile": profile_name(config), **counts}, indent=2) + "\n", encoding="utf-8")
