"""Render check results for people and machines: plain text, JSON, or GitHub workflow commands.

The GitHub reporter prints `::error file=...` commands, which the Actions
runner turns into annotations on the pull request's diff, and appends a
Markdown table to the job summary when `GITHUB_STEP_SUMMARY` names a file.
See https://docs.github.com/actions/reference/workflows-and-actions/workflow-commands
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Protocol, TextIO

from receiver.datarepo.actions import escape_data, escape_property
from receiver.datarepo.checking import FileResult

__all__ = ["Reporter", "TextReporter", "JsonReporter", "GithubReporter", "REPORTERS", "escape_data", "escape_property"]


class Reporter(Protocol):
    def report(self, results: Iterable[FileResult], out: TextIO) -> tuple[int, int]:
        """Write the results; return (files checked, files failing)."""
        ...


class TextReporter:
    def __init__(self, verbose: bool = False) -> None:
        self.verbose = verbose

    def report(self, results: Iterable[FileResult], out: TextIO) -> tuple[int, int]:
        checked = failed = 0
        for result in results:
            checked += 1
            if result.ok:
                if self.verbose:
                    out.write(f"ok  {result.path}\n")
                continue
            failed += 1
            for problem in result.problems:
                out.write(f"{result.path}: {problem}\n")
        verdict = "all valid" if not failed else f"{failed} failing"
        out.write(f"{checked} file(s) checked, {verdict}\n")
        return checked, failed


class JsonReporter:
    def report(self, results: Iterable[FileResult], out: TextIO) -> tuple[int, int]:
        files = [
            {
                "path": r.path,
                "ok": r.ok,
                "problems": [{"pointer": p.pointer, "message": p.message} for p in r.problems],
            }
            for r in results
        ]
        failed = sum(1 for f in files if not f["ok"])
        # One write: json.dump with an indent writes every token on its own, a million writes for 100,000 files.
        out.write(json.dumps({"checked": len(files), "failed": failed, "files": files}, indent=2) + "\n")
        return len(files), failed


class GithubReporter:
    """Workflow commands on stdout, plus a Markdown table in the job summary if one is given."""

    def __init__(self, summary: TextIO | None = None) -> None:
        self.summary = summary

    def report(self, results: Iterable[FileResult], out: TextIO) -> tuple[int, int]:
        checked = 0
        failures: list[FileResult] = []
        for result in results:
            checked += 1
            if result.ok:
                continue
            failures.append(result)
            for problem in result.problems:
                title = escape_property(f"Invalid annotation {problem.pointer or '/'}")
                out.write(f"::error file={escape_property(result.path)},title={title}::{escape_data(str(problem))}\n")
        out.write(f"{checked} file(s) checked, {len(failures)} failing\n")
        if self.summary is not None:
            self.summary.write(_summary_markdown(checked, failures))
        return checked, len(failures)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _summary_markdown(checked: int, failures: list[FileResult]) -> str:
    if not failures:
        return f"### Annotation validation passed\n\n{checked} file(s) checked, all valid.\n\n"
    lines = [
        "### Annotation validation failed",
        "",
        f"{checked} file(s) checked, {len(failures)} failing.",
        "",
        "| File | Where | Problem |",
        "| --- | --- | --- |",
    ]
    for result in failures:
        for problem in result.problems:
            lines.append(f"| `{_cell(result.path)}` | `{_cell(problem.pointer or '/')}` | {_cell(problem.message)} |")
    return "\n".join(lines) + "\n\n"


REPORTERS = ("text", "json", "github")
