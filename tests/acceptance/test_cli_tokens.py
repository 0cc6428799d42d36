"""`receiver tokens`: revoke and list, run in-process."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path

from receiver.access.tokens import add_token, revoke_token
from receiver.cli import main as receiver_cli


def test_list_shows_when_a_token_was_revoked(tmp_path: Path) -> None:
    """A revoked token stays listed, with its revocation time."""
    tokens = tmp_path / "tokens.json"
    add_token(tokens, "lab-tool")
    add_token(tokens, "other-tool")
    revoke_token(tokens, "lab-tool", now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    out = io.StringIO()
    assert receiver_cli(["tokens", "list", "--file", str(tokens)], environ={}, out=out) == 0
    assert out.getvalue() == "lab-tool (revoked 2026-01-02T03:04:05+00:00)\nother-tool\n"


def test_revoking_an_unknown_name_exits_1(tmp_path: Path) -> None:
    """No token in force by that name: exit 1 and a sentence naming it."""
    tokens = tmp_path / "tokens.json"
    add_token(tokens, "lab-tool")
    err = io.StringIO()
    assert receiver_cli(["tokens", "revoke", "nobody", "--file", str(tokens)], environ={}, err=err) == 1
    assert "'nobody'" in err.getvalue()
