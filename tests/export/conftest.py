"""The CLI runner of the acceptance tests, shared (not copied) for the export commands' end-to-end tests."""

from __future__ import annotations

from tests.acceptance.conftest import run_cli

__all__ = ["run_cli"]
