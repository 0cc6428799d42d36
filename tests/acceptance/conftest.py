"""Run the CLI in-process, as a user would type it, and show its output when a test fails."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pytest

from receiver.cli import main


@dataclass
class Run:
    code: int
    out: str
    err: str


RunCLI = Callable[..., Run]


@pytest.fixture
def run_cli() -> RunCLI:
    def run(*argv: str, environ: Mapping[str, str] | None = None) -> Run:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), environ=environ or {}, out=out, err=err)
        result = Run(code, out.getvalue(), err.getvalue())
        print(f"$ receiver {' '.join(argv)}\n{result.out}{result.err}exit {code}")
        return result

    return run
