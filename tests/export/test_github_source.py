"""`export` and `consensus` of a GitHub-mode receiver read its data repository through git, not a local path that is not there."""

from __future__ import annotations

from pathlib import Path

from receiver.stores.local import LocalGitStore
from tests.acceptance.conftest import RunCLI
from tests.export.records import TRUTH, record


def _environ(tmp_path: Path) -> dict[str, str]:
    """A GitHub-mode receiver whose data repository's git URL is a local bare repository standing in for GitHub."""
    return {
        "RECEIVER_STORE": "github",
        "RECEIVER_GITHUB_REPOSITORY": "owner/data",
        "RECEIVER_GITHUB_CLONE_URL": str(tmp_path / "github" / "owner" / "data.git"),
        "RECEIVER_LOCAL_REPO": str(tmp_path / "receiver-data" / "annotations.git"),
        "GITHUB_TOKEN": "receiver-s3cret",
    }


def test_export_fetches_the_data_repository(tmp_path: Path, run_cli: RunCLI) -> None:
    """With no SOURCE, export clones the repository into the cache and exports its records."""
    LocalGitStore(tmp_path / "github" / "owner" / "data.git").deliver([record(TRUTH, submitter="ada"), record(TRUTH, submitter="bo")])
    result = run_cli("export", "--format", "slp", "--out", str(tmp_path / "out.slp"), environ=_environ(tmp_path))
    assert result.code == 0, result.err
    assert "2 labels by 2 volunteer(s) on 1 frame(s) of 1 video(s); 1 instance(s) exported" in result.out
    assert (tmp_path / "receiver-data" / "github-cache" / "owner+data.git" / "HEAD").is_file()


def test_consensus_fetches_what_arrived_since_the_last_run(tmp_path: Path, run_cli: RunCLI) -> None:
    """A second run fetches the records delivered to GitHub after the first."""
    remote = LocalGitStore(tmp_path / "github" / "owner" / "data.git")
    remote.deliver([record(TRUTH, submitter="ada")])
    assert run_cli("consensus", environ=_environ(tmp_path)).code == 0
    remote.deliver([record(TRUTH, submitter="bo"), record(TRUTH, submitter="cy")])
    result = run_cli("consensus", environ=_environ(tmp_path))
    assert result.code == 0, result.err
    assert "3 labels by 3 volunteer(s)" in result.out


def test_an_unreadable_repository_is_a_usage_error_without_the_token(tmp_path: Path, run_cli: RunCLI) -> None:
    """No repository at the git URL: exit 2, a sentence naming it, and never the token."""
    result = run_cli("export", "--format", "csv", "--out", str(tmp_path / "out.csv"), environ=_environ(tmp_path))
    assert result.code == 2
    assert "could not fetch the data repository" in result.err and "owner/data.git" in result.err
    assert "s3cret" not in result.err + result.out
