"""The adoption plan: one next step for every combination a crash or a retry can leave behind."""

from __future__ import annotations

import subprocess

import pytest

from receiver.stores.adoption import Observation, PullSeen, blob_id, next_step

MINE = blob_id(b'{"record": 1}\n')
OTHER = blob_id(b'{"record": 2}\n')
OPEN = PullSeen(7, "https://github.test/owner/data/pull/7", "open", merged=False)
MERGED = PullSeen(7, "https://github.test/owner/data/pull/7", "closed", merged=True)
CLOSED = PullSeen(7, "https://github.test/owner/data/pull/7", "closed", merged=False)


def test_blob_id_is_what_git_computes() -> None:
    """The id is git's own, so it can be compared with any host's blob ids."""
    content = b'{"a": "\xc3\xa9"}\n'
    git = subprocess.run(["git", "hash-object", "--stdin"], input=content, capture_output=True, check=True)
    assert blob_id(content) == git.stdout.decode().strip()


class TestNextStep:
    def test_nothing_yet_creates_the_branch(self) -> None:
        """A fresh record starts with its branch."""
        assert next_step(MINE, Observation()).kind == "create-branch"

    def test_branch_without_file_puts_the_file(self) -> None:
        """A crash after the branch: the file comes next."""
        assert next_step(MINE, Observation(branch_tip="a" * 40)).kind == "put-file"

    def test_file_on_branch_without_pull_opens_the_pull(self) -> None:
        """A crash after the file: the pull request comes next."""
        assert next_step(MINE, Observation(branch_tip="a" * 40, on_branch=MINE)).kind == "open-pull"

    def test_same_bytes_with_open_pull_is_done(self) -> None:
        """A crash after the pull request: nothing left to do."""
        assert next_step(MINE, Observation(branch_tip="a" * 40, on_branch=MINE, pull=OPEN)).kind == "done-open"

    def test_same_bytes_on_default_is_done_whatever_else(self) -> None:
        """Merged and the branch deleted: delivered, with no new branch."""
        step = next_step(MINE, Observation(on_default=MINE, pull=MERGED))
        assert step.kind == "done-merged" and step.done

    def test_different_bytes_on_default_is_refused(self) -> None:
        """Another file at the record's path is never taken for the record."""
        step = next_step(MINE, Observation(on_default=OTHER))
        assert step.kind == "refused" and "different file" in step.reason

    def test_different_bytes_on_branch_is_refused(self) -> None:
        """A branch holding other bytes is not adopted."""
        step = next_step(MINE, Observation(branch_tip="a" * 40, on_branch=OTHER))
        assert step.kind == "refused" and "branch" in step.reason

    def test_merged_pull_without_the_file_is_refused(self) -> None:
        """A merge later undone is reported, not silently reopened."""
        assert next_step(MINE, Observation(pull=MERGED)).kind == "refused"

    @pytest.mark.parametrize("tip", [None, "a" * 40])
    def test_pull_closed_without_merging_is_refused(self, tip: str | None) -> None:
        """A maintainer's rejection stands: no second pull request for the same record."""
        step = next_step(MINE, Observation(branch_tip=tip, on_branch=MINE if tip else None, pull=CLOSED))
        assert step.kind == "refused" and "closed without merging" in step.reason

    def test_review_mode_labels_an_open_pull_before_done(self) -> None:
        """In review mode a pull request without the label is not yet delivered."""
        seen = Observation(branch_tip="a" * 40, on_branch=MINE, pull=OPEN)
        assert next_step(MINE, seen, label="needs-review").kind == "label-pull"
        labelled = Observation(branch_tip="a" * 40, on_branch=MINE, pull=PullSeen(7, OPEN.url, "open", False, ("needs-review",)))
        assert next_step(MINE, labelled, label="needs-review").kind == "done-open"
