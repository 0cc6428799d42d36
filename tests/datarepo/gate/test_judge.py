"""The gate's decision over facts: each rule refuses on its own, with a reason."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pytest

from receiver.contract.validation import Problem
from receiver.datarepo.gate import ChangedFile, ModerationError, Policy, PullFacts, RecordCheck, authors_from, judge, moderation_from

FILE = "annotations/53/53b5a3cc7d08fa4a/b7/b79e98e5a7c7e677ff7c5a3aaaabecfd.json"
GOOD = PullFacts(
    number=1, state="open", base_repo="owner/data", base_ref="main", default_branch="main", head_repo="owner/data",
    head_ref="annotations/b79e98e5", head_sha="a" * 40, author="pose-receiver", labels=(), changed_files=1,
    files=(ChangedFile(FILE, "added"),), validated_sha="a" * 40,
)
CLEAN = {FILE: RecordCheck((), FILE)}


def refused(facts: PullFacts, records: Mapping[str, RecordCheck] = CLEAN) -> dict[str, str]:
    """The failing checks' names and reasons (the verdict must refuse)."""
    verdict = judge(facts, Policy(), records)
    assert not verdict.merge
    return {c.name: c.reason for c in verdict.checks if not c.passed}


def test_receiver_pr_with_valid_added_record_is_merged() -> None:
    """Every check passes, each with a reason, for the receiver's own PR."""
    verdict = judge(GOOD, Policy(), CLEAN)
    assert verdict.merge and all(c.reason for c in verdict.checks)


def test_fork_is_refused() -> None:
    """A head branch in another repository is refused."""
    assert list(refused(dataclasses.replace(GOOD, head_repo="mallory/data"))) == ["repository"]


def test_other_branch_prefix_is_refused() -> None:
    """A head branch without the receiver's prefix is refused."""
    assert list(refused(dataclasses.replace(GOOD, head_ref="patch-1"))) == ["branch"]


def test_other_author_is_refused() -> None:
    """A PR opened by anyone but the receiver's identity is refused."""
    assert list(refused(dataclasses.replace(GOOD, author="mallory"))) == ["author"]


def test_non_default_base_is_refused() -> None:
    """A PR into a branch other than the default branch is refused, naming both."""
    reasons = refused(dataclasses.replace(GOOD, base_ref="release"))
    assert list(reasons) == ["target"] and "'release', not the default branch 'main'" in reasons["target"]


def test_hold_label_is_refused() -> None:
    """A PR labelled needs-review is left to a maintainer."""
    reasons = refused(dataclasses.replace(GOOD, labels=("annotation", "needs-review")))
    assert list(reasons) == ["moderation"] and "moderation" in reasons["moderation"]


def test_listing_shorter_than_changed_files_is_refused() -> None:
    """A comparison listing fewer files than the PR changes cannot be judged."""
    reasons = refused(dataclasses.replace(GOOD, changed_files=2))
    assert list(reasons) == ["complete"] and "lists 1 file(s) but the pull request changes 2" in reasons["complete"]


@pytest.mark.parametrize("path", ["scripts/validate_annotations.py", "schemas/submission.schema.json", "receiver/contract/validation.py", ".github/workflows/validate.yml", "annotations/notes.txt"])
def test_file_outside_annotations_is_refused(path: str) -> None:
    """An added file that is not an annotation record is refused by name."""
    facts = dataclasses.replace(GOOD, files=(*GOOD.files, ChangedFile(path, "added")), changed_files=2)
    reasons = refused(facts)
    assert list(reasons) == ["files"] and path in reasons["files"]


@pytest.mark.parametrize("status", ["modified", "removed", "renamed"])
def test_changed_annotation_is_refused(status: str) -> None:
    """An annotation that is not newly added is refused with its status."""
    facts = dataclasses.replace(GOOD, files=(ChangedFile(FILE, status),))
    assert f"is {status}, not added" in refused(facts, {})["files"]


@pytest.mark.parametrize(("mode", "kind"), [("100755", "an executable file"), ("120000", "a symbolic link"), ("160000", "a submodule")])
def test_file_that_is_not_regular_is_refused(mode: str, kind: str) -> None:
    """Executables, symlinks and submodules are refused by their mode."""
    facts = dataclasses.replace(GOOD, files=(ChangedFile(FILE, "added", mode),))
    reasons = refused(facts)
    assert "modes" in reasons and f"is {kind} (mode {mode})" in reasons["modes"]


def test_invalid_record_is_refused() -> None:
    """A record with a validator problem is refused with the problem."""
    reasons = refused(GOOD, {FILE: RecordCheck((Problem("/receipt", "is missing"),))})
    assert list(reasons) == ["records"] and "/receipt: is missing" in reasons["records"]


def test_record_at_another_path_is_refused() -> None:
    """A valid record whose content belongs elsewhere is refused, naming where."""
    reasons = refused(GOOD, {FILE: RecordCheck((), "annotations/00/other.json")})
    assert list(reasons) == ["records"] and "belongs at annotations/00/other.json" in reasons["records"]


def test_record_at_its_earlier_layouts_path_is_merged() -> None:
    """A valid record at the path the earlier layout gave it passes the records check."""
    legacy = "annotations/53/53b5a3cc7d08fa4a/b7/b79e98e5a7c7e677ff7c5a3aaaabecfd.json"
    current = "annotations/53/53b5a3cc7d08fa4a/b/79/e/b79e98e5a7c7e677ff7c5a3aaaabecfd.json"
    facts = dataclasses.replace(GOOD, files=(ChangedFile(legacy, "added"),))
    assert judge(facts, Policy(), {legacy: RecordCheck((), current, legacy)}).merge


def test_unvalidated_file_is_refused() -> None:
    """An added annotation the validator never saw is refused."""
    assert list(refused(GOOD, {})) == ["records"]


def test_moved_head_is_refused() -> None:
    """A head other than the validated SHA is refused."""
    assert list(refused(dataclasses.replace(GOOD, head_sha="b" * 40))) == ["head"]


def test_closed_pull_is_refused() -> None:
    """A closed PR is refused."""
    assert list(refused(dataclasses.replace(GOOD, state="closed"))) == ["open"]


def test_authors_are_configurable() -> None:
    """Another identity may be named the receiver."""
    facts = dataclasses.replace(GOOD, author="labs-bot[bot]")
    assert judge(facts, Policy(authors=("labs-bot[bot]",)), CLEAN).merge


class TestModeration:
    def test_repository_in_moderation_refuses_an_unlabelled_pull(self) -> None:
        """RECEIVER_MODERATION=review holds every PR, so one whose label was never written still waits."""
        verdict = judge(GOOD, Policy(moderation="review"), CLEAN)
        assert [c.name for c in verdict.checks if not c.passed] == ["moderation"]

    def test_moderation_refusal_says_the_repository_is_in_moderation_and_how_to_merge(self) -> None:
        """The reason names the variable and the command a maintainer runs."""
        [reason] = judge(GOOD, Policy(moderation="review"), CLEAN).refusals
        assert "the repository is in moderation (RECEIVER_MODERATION=review)" in reason
        assert "`receiver moderate approve 1` merges it" in reason

    def test_a_maintainers_approval_lifts_the_hold_label(self) -> None:
        """Approved: a labelled PR passes the moderation check, and only that check."""
        labelled = dataclasses.replace(GOOD, labels=("needs-review",))
        assert judge(labelled, Policy(moderation="approved"), CLEAN).merge

    def test_a_maintainers_approval_lifts_nothing_else(self) -> None:
        """Approved: a workflow file beside the record is still refused."""
        facts = dataclasses.replace(GOOD, files=(*GOOD.files, ChangedFile(".github/workflows/automerge.yml", "modified")), changed_files=2)
        verdict = judge(facts, Policy(moderation="approved"), CLEAN)
        assert [c.name for c in verdict.checks if not c.passed] == ["files"]

    @pytest.mark.parametrize(("value", "expected"), [(None, "auto"), ("", "auto"), ("auto", "auto"), ("review", "review"), (" Review\n", "review")])
    def test_variable_values_read_as_moderation(self, value: str | None, expected: str) -> None:
        """Unset or empty is auto; case and surrounding space do not matter."""
        assert moderation_from(value) == expected

    @pytest.mark.parametrize("value", ["reviw", "approved", "on"])
    def test_any_other_value_is_refused_with_what_to_set(self, value: str) -> None:
        """A misspelt value stops the gate rather than being read as auto."""
        with pytest.raises(ModerationError, match="neither 'auto' nor 'review'; set the repository variable to review"):
            moderation_from(value)


def test_gate_authors_are_comma_separated_with_a_default() -> None:
    """Unset trusts pose-receiver; a list is split and trimmed."""
    assert authors_from(None) == ("pose-receiver",)
    assert authors_from(" a-bot[bot] , pose-receiver,") == ("a-bot[bot]", "pose-receiver")
