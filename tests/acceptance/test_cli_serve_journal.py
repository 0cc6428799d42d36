"""`receiver serve` with a journal it cannot use says so in one sentence and exits before listening."""

from __future__ import annotations

from tests.acceptance.conftest import RunCLI


def test_an_unreachable_postgresql_journal_stops_serve_at_start(run_cli: RunCLI) -> None:
    """Exit 1, one line naming the database (never its password) and what to check."""
    url = "postgresql://receiver:secret@/journal?host=/nonexistent-socket-dir&port=1"
    result = run_cli("serve", environ={"RECEIVER_JOURNAL": url})
    assert result.code == 1
    assert result.err.count("\n") == 1 and result.err.startswith("receiver serve: the PostgreSQL journal (database journal on /nonexistent-socket-dir)")
    assert "check RECEIVER_JOURNAL" in result.err and "secret" not in result.err
