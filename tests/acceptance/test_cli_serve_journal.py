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


def test_a_journal_file_that_is_not_a_database_stops_serve_at_start(run_cli: RunCLI, tmp_path: Path) -> None:
    """Exit 1, one line naming the file and the two ways out; the file is left as it was."""
    path = tmp_path / "journal.sqlite3"
    content = b"notes that someone saved under the journal's name, long enough for SQLite to read a header\n" * 2
    path.write_bytes(content)
    result = run_cli("serve", environ={"RECEIVER_JOURNAL": str(path), "RECEIVER_LOCAL_REPO": str(tmp_path / "annotations.git")})
    assert result.code == 1
    assert result.err == (
        f"receiver serve: the journal {path} cannot be opened (file is not a database);"
        " set RECEIVER_JOURNAL to another file, or move this one away if it is not a journal\n"
    )
    assert path.read_bytes() == content


def test_a_journal_whose_folder_is_a_file_stops_serve_at_start(run_cli: RunCLI, tmp_path: Path) -> None:
    (tmp_path / "data").write_text("a file")
    result = run_cli("serve", environ={"RECEIVER_JOURNAL": str(tmp_path / "data" / "journal.sqlite3")})
    assert result.code == 1
    assert result.err == f"receiver serve: the journal's folder {tmp_path / 'data'} is a file; set RECEIVER_JOURNAL to a file in a folder this user can write\n"


def test_a_journal_folder_that_cannot_be_made_stops_serve_at_start(run_cli: RunCLI) -> None:
    """/proc takes no new folders, whoever runs the test (root included)."""
    result = run_cli("serve", environ={"RECEIVER_JOURNAL": "/proc/no-such-receiver/journal.sqlite3"})
    assert result.code == 1 and result.err.count("\n") == 1
    assert result.err.startswith("receiver serve: the journal's folder /proc/no-such-receiver cannot be made (")


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
