"""A token revoked on one machine is refused by every receiver on the same PostgreSQL journal.

Two apps with their own folders and their own copy of the tokens file stand
for two machines: the only state they share is the database.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

from starlette.testclient import TestClient

from receiver.access.tokens import add_token, in_force
from receiver.cli import main as receiver_cli
from tests.support.captured import numbered_submission
from tests.support.pgcluster import Cluster
from tests.support.servers import wait_until
from tests.web.app.conftest import ClientFactory

JSON = {"Content-Type": "application/json"}


def post(client: TestClient, n: int, token: str) -> int:
    headers = {**JSON, "Authorization": f"Bearer {token}"}
    return client.post("/api/labels", content=json.dumps(numbered_submission(n)).encode(), headers=headers).status_code


def machine(make_client: ClientFactory, folder: Path, url: str, tokens: Path) -> TestClient:
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / "tokens.json"
    shutil.copy(tokens, copy)
    return make_client(local_repo=folder / "annotations.git", journal=None, journal_url=url, tokens_file=copy)


def test_a_token_revoked_on_one_machine_is_refused_by_the_other(make_client: ClientFactory, tmp_path: Path, postgres_cluster: Cluster) -> None:
    url = postgres_cluster.database()
    token = add_token(tmp_path / "tokens.json", "lab-tool")
    here, there = machine(make_client, tmp_path / "a", url, tmp_path / "tokens.json"), machine(make_client, tmp_path / "b", url, tmp_path / "tokens.json")
    assert post(there, 0, token) == 202
    out = io.StringIO()
    environ = {"RECEIVER_JOURNAL": url, "RECEIVER_TOKENS_FILE": str(tmp_path / "a" / "tokens.json")}
    assert receiver_cli(["tokens", "revoke", "lab-tool"], environ=environ, out=out) == 0
    assert "every receiver on the PostgreSQL journal" in out.getvalue()
    # The other machine's file still holds the token in force; the database is what refuses it.
    assert in_force(tmp_path / "b" / "tokens.json", "lab-tool")
    wait_until(lambda: post(there, 1, token) == 403, timeout=10, what="the other machine to refuse the revoked token")
    assert post(here, 2, token) == 403


def test_a_receiver_that_cannot_read_the_revocations_lets_no_token_through(make_client: ClientFactory, tmp_path: Path, postgres_cluster: Cluster) -> None:
    """Database gone: a tokened post is answered 503 (nothing saved), never accepted on a stale list; back, it passes again."""
    url = postgres_cluster.database()
    token = add_token(tmp_path / "tokens.json", "lab-tool")
    client = machine(make_client, tmp_path / "a", url, tmp_path / "tokens.json")
    assert post(client, 0, token) == 202
    postgres_cluster.stop()
    try:
        wait_until(lambda: post(client, 1, token) == 503, timeout=10, what="the receiver to say it cannot check tokens")
    finally:
        postgres_cluster.start()
    wait_until(lambda: post(client, 2, token) == 202, timeout=30, what="tokened posts to pass again")


def test_a_revocation_the_database_cannot_take_leaves_the_token_in_force_to_try_again(tmp_path: Path) -> None:
    """Nothing half done: the file keeps the token in force, so running the command again once the database is back revokes it everywhere."""
    tokens = tmp_path / "tokens.json"
    add_token(tokens, "lab-tool")
    err = io.StringIO()
    environ = {"RECEIVER_JOURNAL": "postgresql://receiver@127.0.0.1:1/journal", "RECEIVER_TOKENS_FILE": str(tokens)}
    assert receiver_cli(["tokens", "revoke", "lab-tool"], environ=environ, out=io.StringIO(), err=err) != 0
    assert "could not be written to the PostgreSQL journal" in err.getvalue() and "run it again" in err.getvalue()
    assert in_force(tokens, "lab-tool")
