"""What `receiver serve` prints on start: where to go next, and where the data goes, never a secret."""

from __future__ import annotations

from pathlib import Path

from receiver.cli import start_message
from receiver.settings import load_settings


def test_start_message_names_the_page_dashboard_docs_and_data_folder() -> None:
    """The three addresses a newcomer opens next, and the local store's folder relative to where serve runs."""
    message = start_message(load_settings({"RECEIVER_PORT": "8123"}))
    for path in ("/label", "/dashboard", "/docs"):
        assert f"http://127.0.0.1:8123{path}\n" in message
    assert "data           ./receiver-data/annotations.git\n" in message
    assert "journal        ./receiver-data/journal.sqlite3\n" in message


def test_a_folder_outside_the_working_folder_is_named_by_its_setting_not_its_path(tmp_path: Path) -> None:
    """Output may end in logs, which never carry a server path: a store elsewhere is named by the setting that put it there."""
    message = start_message(load_settings({"RECEIVER_LOCAL_REPO": str(tmp_path / "data.git")}))
    assert "data           where RECEIVER_LOCAL_REPO names (outside this folder)\n" in message
    assert str(tmp_path) not in message


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
