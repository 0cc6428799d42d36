"""Settings are read once, and a setting the receiver does not know is refused with the closest one it does."""

from __future__ import annotations

from pathlib import Path

import pytest

from receiver.settings import SettingsError, load_settings


def test_a_misspelt_variable_names_the_closest_setting() -> None:
    """A typo used to be silently ignored; now it stops the start with a hint."""
    with pytest.raises(SettingsError, match="RECEIVER_RATELIMIT is not a setting of the receiver; did you mean RECEIVER_RATE_LIMIT"):
        load_settings({"RECEIVER_RATELIMIT": "10/minute"})


def test_a_variable_like_nothing_points_to_the_help() -> None:
    with pytest.raises(SettingsError, match="RECEIVER_ZZZ is not a setting.*receiver serve --help"):
        load_settings({"RECEIVER_ZZZ": "1"})


def test_a_misspelt_key_in_the_settings_file_names_the_closest_setting(tmp_path: Path) -> None:
    config = tmp_path / "receiver.toml"
    config.write_text('github_repo = "owner/data"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="receiver.toml: github_repo is not a setting of the receiver; did you mean github_repository"):
        load_settings({}, config_file=config)


def test_the_gates_variables_are_not_refused() -> None:
    """RECEIVER_GATE_AUTHORS and RECEIVER_MERGE_METHOD belong to the workflow's gate, not to serve."""
    settings = load_settings({"RECEIVER_GATE_AUTHORS": "pose-receiver", "RECEIVER_MERGE_METHOD": "squash", "RECEIVER_PORT": "9000"})
    assert settings.port == 9000


class TestJournalSetting:
    def test_a_postgresql_url_selects_the_postgresql_journal(self) -> None:
        """The URL is kept whole (a path would fold its //), and no SQLite file is named."""
        settings = load_settings({"RECEIVER_JOURNAL": "postgresql://receiver:pw@db.example.org:5433/journal"})
        assert settings.journal_url == "postgresql://receiver:pw@db.example.org:5433/journal" and settings.journal is None

    def test_a_file_selects_the_sqlite_journal(self) -> None:
        settings = load_settings({"RECEIVER_JOURNAL": "data/journal.sqlite3"})
        assert settings.journal == Path("data/journal.sqlite3") and settings.journal_url == ""

    def test_the_journal_url_is_never_shown(self) -> None:
        """It may carry a password: the settings' repr leaves it out."""
        assert "pw" not in repr(load_settings({"RECEIVER_JOURNAL": "postgresql://receiver:pw@db/journal"}))

    def test_the_journal_url_is_not_a_variable_of_its_own(self) -> None:
        """RECEIVER_JOURNAL takes the URL; RECEIVER_JOURNAL_URL is refused like any unknown setting."""
        with pytest.raises(SettingsError, match="RECEIVER_JOURNAL_URL is not a setting"):
            load_settings({"RECEIVER_JOURNAL_URL": "postgresql://db/journal"})


def test_the_role_is_a_setting() -> None:
    """RECEIVER_ROLE picks what a process does; the default does everything."""
    assert (load_settings({}).role, load_settings({"RECEIVER_ROLE": "deliver"}).role) == ("all", "deliver")


def test_an_unknown_role_is_refused() -> None:
    with pytest.raises(SettingsError, match="RECEIVER_ROLE='ship'.*expected one of all, intake, deliver"):
        load_settings({"RECEIVER_ROLE": "ship"})
