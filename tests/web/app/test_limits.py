"""Limits that hold across the processes of one receiver: shared buckets, the hourly ceiling, revoked tokens.

Two apps built on the same settings in one test stand for two worker
processes: they share only the files beside the journal, as processes do.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from starlette.testclient import TestClient

from receiver.access.tokens import add_token
from receiver.cli import main as receiver_cli
from receiver.settings import RateLimit
from tests.support.captured import numbered_submission
from tests.web.app.conftest import ClientFactory, FakeClock

JSON = {"Content-Type": "application/json"}


def post(client: TestClient, n: int, **headers: str) -> object:
    return client.post("/api/labels", content=json.dumps(numbered_submission(n)).encode(), headers={**JSON, **headers})


def test_two_processes_allow_the_limit_once(make_client: ClientFactory) -> None:
    """Posting past 10/hour through two apps sharing a journal directory: exactly 10 are accepted."""
    first, second = make_client(rate_limit=RateLimit(10, 3600.0)), make_client(rate_limit=RateLimit(10, 3600.0))
    codes = [post(first if n % 2 else second, n).status_code for n in range(30)]
    assert codes.count(202) == 10 and codes.count(429) == 20


def test_ceiling_answers_429_with_seconds_until_a_slot_frees(make_client: ClientFactory, clock: FakeClock) -> None:
    """Three an hour: the fourth, 10 minutes after the first, waits 50 minutes; then one more passes."""
    client = make_client(anonymous_per_hour=3)
    codes = []
    for n in range(3):
        codes.append(post(client, n).status_code)
        clock.advance(300)
    refused = post(client, 3)
    assert codes == [202, 202, 202] and refused.status_code == 429
    assert refused.headers["retry-after"] == "2700"
    assert refused.json()["error"].startswith("The receiver has taken all the labels it can this hour; wait 2700 s")
    clock.advance(2700)
    assert post(client, 4).status_code == 202


def test_ceiling_is_shared_by_two_processes(make_client: ClientFactory) -> None:
    """A ceiling of 4 an hour through two apps: 4 accepted in all."""
    first, second = make_client(anonymous_per_hour=4), make_client(anonymous_per_hour=4)
    codes = [post(first if n % 2 else second, n).status_code for n in range(8)]
    assert codes == [202] * 4 + [429] * 4


def test_ceiling_does_not_count_token_holders(make_client: ClientFactory, tmp_path: Path) -> None:
    """Trusted tools with a token pass a full ceiling."""
    token = add_token(tmp_path / "tokens.json", "lab-tool")
    client = make_client(anonymous_per_hour=1, tokens_file=tmp_path / "tokens.json")
    assert [post(client, n).status_code for n in range(2)] == [202, 429]
    assert post(client, 2, Authorization=f"Bearer {token}").status_code == 202


def test_revoked_token_is_refused_at_once_by_another_process(make_client: ClientFactory, tmp_path: Path) -> None:
    """`receiver tokens revoke` while two apps run: the other app answers the next post with 403."""
    tokens = tmp_path / "tokens.json"
    token = add_token(tokens, "lab-tool")
    first, second = make_client(tokens_file=tokens), make_client(tokens_file=tokens)
    assert post(second, 0, Authorization=f"Bearer {token}").status_code == 202
    assert receiver_cli(["tokens", "revoke", "lab-tool", "--file", str(tokens)], environ={}, out=io.StringIO()) == 0
    refused = post(second, 1, Authorization=f"Bearer {token}")
    assert refused.status_code == 403 and token not in refused.text
    assert post(first, 2, Authorization=f"Bearer {token}").status_code == 403


def test_a_new_token_for_a_revoked_name_is_accepted(make_client: ClientFactory, tmp_path: Path) -> None:
    """Revocation is of the token, not the name: a token added afterwards works while the old one stays refused."""
    tokens = tmp_path / "tokens.json"
    old = add_token(tokens, "lab-tool")
    client = make_client(tokens_file=tokens)
    assert receiver_cli(["tokens", "revoke", "lab-tool", "--file", str(tokens)], environ={}, out=io.StringIO()) == 0
    new = add_token(tokens, "lab-tool")
    assert post(client, 0, Authorization=f"Bearer {new}").status_code == 202
    assert post(client, 1, Authorization=f"Bearer {old}").status_code == 403


def test_unreadable_tokens_file_refuses_with_503(make_client: ClientFactory, tmp_path: Path) -> None:
    """A tokens file that changed into something unreadable lets no token through, and says it is the receiver's fault."""
    tokens = tmp_path / "tokens.json"
    token = add_token(tokens, "lab-tool")
    client = make_client(tokens_file=tokens)
    tokens.write_text("{not json", encoding="utf-8")
    refused = post(client, 0, Authorization=f"Bearer {token}")
    assert refused.status_code == 503 and refused.headers["retry-after"] == "60"
