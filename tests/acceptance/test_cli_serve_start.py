"""What `receiver serve` prints on start: where to go next, and where the data goes, never a secret."""

from __future__ import annotations

from pathlib import Path

from receiver.cli import start_message
from receiver.settings import load_settings


def test_start_message_names_the_page_dashboard_docs_and_data_folder(tmp_path: Path) -> None:
    """The three addresses a newcomer opens next, and the absolute folder of the local store."""
    settings = load_settings({"RECEIVER_PORT": "8123", "RECEIVER_LOCAL_REPO": str(tmp_path / "data.git")})
    message = start_message(settings)
    for path in ("/label", "/dashboard", "/docs"):
        assert f"http://127.0.0.1:8123{path}\n" in message
    assert f"data           {tmp_path / 'data.git'}\n" in message


def test_a_wildcard_address_is_shown_as_one_a_browser_opens() -> None:
    """Listening on 0.0.0.0 is shown as 127.0.0.1, which a browser on the machine can open."""
    message = start_message(load_settings({"RECEIVER_HOST": "0.0.0.0"}))
    assert "http://127.0.0.1:8000/label" in message and "0.0.0.0" not in message


def test_a_postgresql_journal_is_named_without_its_password() -> None:
    """A journal URL carries credentials: the message names host and database only."""
    settings = load_settings({"RECEIVER_JOURNAL": "postgresql://receiver:s3cret@db.example.org:5433/labels"})
    message = start_message(settings)
    assert "PostgreSQL at db.example.org:5433/labels" in message
    assert "s3cret" not in message and "receiver:" not in message.split("journal", 1)[1]


def test_a_github_store_is_named_by_repository() -> None:
    settings = load_settings({"RECEIVER_STORE": "github", "RECEIVER_GITHUB_REPOSITORY": "lab/labels", "GITHUB_TOKEN": "t"})
    assert "GitHub repository lab/labels (pull-request)" in start_message(settings)
