"""`receiver serve` with a journal or a repository it cannot use says so in one sentence and exits before listening."""

from __future__ import annotations

from pathlib import Path

from tests.acceptance.conftest import RunCLI


def test_an_unreachable_postgresql_journal_stops_serve_at_start(run_cli: RunCLI) -> None:
    """Exit 1, one line naming the database (never its password) and what to check."""
    url = "postgresql://receiver:secret@/journal?host=/nonexistent-socket-dir&port=1"
    result = run_cli("serve", environ={"RECEIVER_JOURNAL": url})
    assert result.code == 1
    assert result.err.count("\n") == 1 and result.err.startswith("receiver serve: the PostgreSQL journal (database journal on /nonexistent-socket-dir)")
    assert "check RECEIVER_JOURNAL" in result.err and "secret" not in result.err


def test_a_folder_that_is_not_a_repository_stops_serve_at_start(run_cli: RunCLI, tmp_path: Path) -> None:
    """Exit 1, one line naming the path, what is there, and the two ways out; nothing is made or moved."""
    repository = tmp_path / "data" / "annotations.git"
    repository.mkdir(parents=True)
    (repository / "notes.txt").write_text("someone else's folder")
    result = run_cli("serve", environ={"RECEIVER_LOCAL_REPO": str(repository), "RECEIVER_JOURNAL": str(tmp_path / "journal.sqlite3")})
    assert result.code == 1
    assert result.err == (
        f"receiver serve: the local store at {repository} cannot be opened: its path holds a folder that is not empty and no git"
        " repository; move that away (a new repository is made in its place) or set RECEIVER_LOCAL_REPO to a bare repository\n"
    )
    assert sorted(p.name for p in repository.iterdir()) == ["notes.txt"]


def test_a_file_where_the_repository_belongs_stops_serve_at_start(run_cli: RunCLI, tmp_path: Path) -> None:
    path = tmp_path / "annotations.git"
    path.write_text("a file")
    result = run_cli("serve", environ={"RECEIVER_LOCAL_REPO": str(path), "RECEIVER_JOURNAL": str(tmp_path / "journal.sqlite3")})
    assert result.code == 1 and result.err.count("\n") == 1
    assert f"the local store at {path} cannot be opened: its path holds a file and no git repository" in result.err


def test_a_standalone_deliverer_with_an_unusable_repository_stops_at_start(run_cli: RunCLI, tmp_path: Path) -> None:
    """`--role deliver` typed by an operator says so at once; only a deliverer that serve started keeps trying."""
    path = tmp_path / "annotations.git"
    path.write_text("a file")
    result = run_cli("serve", "--role", "deliver", environ={"RECEIVER_LOCAL_REPO": str(path), "RECEIVER_JOURNAL": str(tmp_path / "journal.sqlite3")})
    assert result.code == 1 and "cannot be opened: its path holds a file" in result.err
