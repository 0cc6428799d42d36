"""`receiver doctor --journal`: one line per check of the PostgreSQL journal's grants; exit 0 when all pass, 1 when any fails, 2 for SQLite."""

from __future__ import annotations

import json
from pathlib import Path

from receiver.journal.engines import open_journal
from tests.acceptance.conftest import RunCLI
from tests.journal.test_grants import Location, documented_receiver
from tests.support.pgcluster import Cluster


def test_an_sqlite_journal_is_refused_with_exit_2(run_cli: RunCLI, tmp_path: Path) -> None:
    """Nothing to grant on a file: one sentence saying what to keep instead."""
    result = run_cli("doctor", "--journal", environ={"RECEIVER_JOURNAL": str(tmp_path / "journal.sqlite3")})
    assert result.code == 2 and result.out == ""
    assert result.err == (
        "receiver doctor: doctor --journal checks a PostgreSQL journal;"
        " an SQLite journal is a file: keep it readable by the receiver's user only\n"
    )


def test_a_fresh_database_fails_with_the_revoke_and_exit_1(run_cli: RunCLI, postgres_cluster: Cluster) -> None:
    url = postgres_cluster.database()
    database = url.split("@/", 1)[1].split("?", 1)[0]
    result = run_cli("doctor", "--journal", environ={"RECEIVER_JOURNAL": url})
    assert result.code == 1 and result.err == ""
    lines = result.out.splitlines()
    assert lines[0].startswith("FAIL public connect: PUBLIC may connect to")
    assert lines[0].endswith(f'REVOKE CONNECT, TEMPORARY ON DATABASE "{database}" FROM PUBLIC;')
    assert [line.split(":")[0] for line in lines[1:]] == ["PASS public create", "PASS receiver role", "PASS lock secret", "3 of 4 checks pass"]


def test_a_receiver_set_up_as_documented_passes_with_exit_0(run_cli: RunCLI, postgres_cluster: Cluster) -> None:
    url = documented_receiver(postgres_cluster)
    open_journal(Location(url)).close()
    result = run_cli("doctor", "--journal", environ={"RECEIVER_JOURNAL": url})
    assert result.code == 0 and result.err == ""
    assert [line.split(":")[0] for line in result.out.splitlines()] == [
        "PASS public connect",
        "PASS public create",
        "PASS receiver role",
        "PASS lock secret",
        "4 of 4 checks pass",
    ]


def test_json_output_is_one_document(run_cli: RunCLI, postgres_cluster: Cluster) -> None:
    result = run_cli("doctor", "--journal", "--format", "json", environ={"RECEIVER_JOURNAL": postgres_cluster.database()})
    document = json.loads(result.out)
    assert result.code == 1 and document["passed"] is False
    assert [(check["name"], check["passed"]) for check in document["checks"]] == [
        ("public connect", False),
        ("public create", True),
        ("receiver role", True),
        ("lock secret", True),
    ]


def test_an_unreachable_journal_is_one_sentence_and_exit_1(run_cli: RunCLI) -> None:
    """The database is named, its password never."""
    url = "postgresql://receiver:secret@/journal?host=/nonexistent-socket-dir&port=1"
    result = run_cli("doctor", "--journal", environ={"RECEIVER_JOURNAL": url})
    assert result.code == 1 and result.out == "" and result.err.count("\n") == 1
    assert result.err.startswith("receiver doctor: the PostgreSQL journal (database journal on /nonexistent-socket-dir) cannot be read: ")
    assert "check RECEIVER_JOURNAL" in result.err and "secret" not in result.err
