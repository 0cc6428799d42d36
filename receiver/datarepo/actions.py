"""The GitHub Actions run a script is in: the standard variables, read in one place.

Scripts that workflows call read `GITHUB_API_URL`, `GITHUB_REPOSITORY`,
`GITHUB_TOKEN`, `GITHUB_EVENT_PATH` and `GITHUB_STEP_SUMMARY` through this
module, so pointing `GITHUB_API_URL` at a test server runs them here exactly as
on GitHub. What they print back to the runner (workflow commands) is escaped
here too. See https://docs.github.com/actions/reference/workflows-and-actions/variables
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ActionsContext", "ActionsError", "escape_data", "escape_property"]


class ActionsError(ValueError):
    """A variable the script needs is missing or unreadable; the message names it."""


@dataclass(frozen=True)
class ActionsContext:
    api_url: str
    repository: str
    token: str = field(repr=False)
    event: dict[str, Any]
    step_summary: Path | None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ActionsContext:
        missing = [name for name in ("GITHUB_REPOSITORY", "GITHUB_TOKEN", "GITHUB_EVENT_PATH") if not environ.get(name)]
        if missing:
            raise ActionsError(f"{', '.join(missing)} not set; this script runs inside a GitHub Actions job")
        try:
            event = json.loads(Path(environ["GITHUB_EVENT_PATH"]).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ActionsError(f"GITHUB_EVENT_PATH does not hold a readable event payload ({exc.__class__.__name__})") from exc
        summary = environ.get("GITHUB_STEP_SUMMARY")
        return cls(
            api_url=environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/"),
            repository=environ["GITHUB_REPOSITORY"],
            token=environ["GITHUB_TOKEN"],
            event=event,
            step_summary=Path(summary) if summary else None,
        )

    def write_summary(self, markdown: str) -> None:
        """Append to the job summary, when the run has one."""
        if self.step_summary is not None:
            with self.step_summary.open("a", encoding="utf-8") as summary:
                summary.write(markdown)


def escape_data(text: str) -> str:
    """Escape a workflow command's message (the runner's `escapeData`)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value (the runner's `escapeProperty`)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
