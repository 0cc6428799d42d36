"""`receiver retry`: failed records go back in the queue, from the command line, while a receiver may run."""

from __future__ import annotations

import io
from pathlib import Path

from receiver.cli import main
from receiver.journal import Journal
from receiver.stores import Refused
from tests.support.captured import numbered_record as record
from tests.support.pgcluster import Cluster


def run(*argv: str, journal: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["retry", *argv], environ={"RECEIVER_JOURNAL": str(journal)}, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def failed_journal(path: Path, *numbers: int) -> list[str]:
    with Journal(path) as journal:
        records = [record(n) for n in numbers]
        for rec in records:
            journal.admit_async(rec).result(timeout=10)
        journal.mark_refused([Refused(r.id, "422 Repository rule violations found") for r in records], max_refusals=1, retry_at=0.0)
    return [r.id for r in records]


def states(path: Path, ids: list[str]) -> list[str]:
    with Journal(path) as journal:
        return [journal.get(i).state for i in ids]  # type: ignore[union-attr]


def test_failed_flag_requeues_every_failed_record(tmp_path: Path) -> None:
    """--failed puts each failed record back in the queue."""
    path = tmp_path / "journal.sqlite3"
    ids = failed_journal(path, 1, 2)
    code, out, _ = run("--failed", journal=path)
    assert code == 0 and out.startswith("2 record(s) queued")
    assert states(path, ids) == ["queued", "queued"]


def test_named_id_requeues_only_that_record(tmp_path: Path) -> None:
    """Naming an id leaves the other failed records alone."""
    path = tmp_path / "journal.sqlite3"
    ids = failed_journal(path, 1, 2)
    code, _, _ = run(ids[0], journal=path)
    assert code == 0 and states(path, ids) == ["queued", "failed"]


def test_unknown_id_is_named_and_exits_one(tmp_path: Path) -> None:
    """An id the journal does not know is reported, not silently ignored."""
    path = tmp_path / "journal.sqlite3"
    failed_journal(path, 1)
    code, _, err = run("0" * 32, journal=path)
    assert code == 1 and "no record has the id" in err


def test_nothing_named_is_a_usage_error(tmp_path: Path) -> None:
    """Without ids or --failed, nothing is guessed."""
    code, _, err = run(journal=tmp_path / "journal.sqlite3")
    assert code == 2 and "--failed" in err


def test_failed_flag_requeues_in_a_postgresql_journal(postgres_cluster: Cluster) -> None:
    """The same command, with RECEIVER_JOURNAL naming a database, requeues there."""
    from receiver.journal.postgres import PostgresConnector

    url = postgres_cluster.database()
    with Journal(PostgresConnector(url)) as journal:
        identifier = journal.admit_async(record(1)).result(timeout=30).entry.id
        journal.mark_refused([Refused(identifier, "422 no")], max_refusals=1, retry_at=0.0)
    out, err = io.StringIO(), io.StringIO()
    code = main(["retry", "--failed"], environ={"RECEIVER_JOURNAL": url}, out=out, err=err)
    with Journal(PostgresConnector(url)) as journal:
        assert code == 0 and out.getvalue().startswith("1 record(s) queued")
        assert journal.get(identifier).state == "queued"  # type: ignore[union-attr]
