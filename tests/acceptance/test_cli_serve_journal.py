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


def test_videos_with_a_postgresql_journal_are_refused_at_start(run_cli: RunCLI, tmp_path: object) -> None:
    """The frame tally needs SQLite for now: serve says so instead of starting without it."""
    videos = __import__("pathlib").Path(str(tmp_path)) / "videos.json"
    videos.write_text('[{"url": "https://example.org/v.mp4", "fps": 30, "frames": 10, "width": 640, "height": 480}]')
    result = run_cli("serve", environ={"RECEIVER_JOURNAL": "postgresql://receiver@/journal", "RECEIVER_VIDEOS": str(videos)})
    assert result.code == 2 and "RECEIVER_VIDEOS needs the SQLite journal for now" in result.err
