"""The gate's decision over facts: each rule refuses on its own, with a reason."""

from __future__ import annotations

import dataclasses

import pytest

from receiver.gate import ChangedFile, Policy, PullFacts, judge
from receiver.validation import Problem

FILE = "annotations/53/53b5a3cc7d08fa4a/b7/b79e98e5a7c7e677ff7c5a3aaaabecfd.json"
GOOD = PullFacts(
    number=1, state="open", base_repo="owner/data", head_repo="owner/data", head_ref="annotations/b79e98e5",
    head_sha="a" * 40, author="pose-receiver", files=(ChangedFile(FILE, "added"),), validated_sha="a" * 40,
)
CLEAN = {FILE: []}


def refused(facts: PullFacts, problems: dict = CLEAN) -> list[str]:
    verdict = judge(facts, Policy(), problems)
    assert not verdict.merge
    return [c.name for c in verdict.checks if not c.passed]


def test_receiver_pr_with_valid_added_file_is_merged() -> None:
    verdict = judge(GOOD, Policy(), CLEAN)
    assert verdict.merge and all(c.reason for c in verdict.checks)


def test_fork_is_refused() -> None:
    assert refused(dataclasses.replace(GOOD, head_repo="mallory/data")) == ["repository"]


def test_other_branch_prefix_is_refused() -> None:
    assert refused(dataclasses.replace(GOOD, head_ref="patch-1")) == ["branch"]


def test_other_author_is_refused() -> None:
    assert refused(dataclasses.replace(GOOD, author="mallory")) == ["author"]


@pytest.mark.parametrize("path", ["scripts/validate_annotations.py", "schemas/submission.schema.json", "receiver/validation.py", ".github/workflows/validate.yml", "annotations/notes.txt"])
def test_file_outside_annotations_is_refused(path: str) -> None:
    facts = dataclasses.replace(GOOD, files=(*GOOD.files, ChangedFile(path, "added")))
    assert refused(facts) == ["files"]


@pytest.mark.parametrize("status", ["modified", "removed", "renamed"])
def test_changed_annotation_is_refused(status: str) -> None:
    facts = dataclasses.replace(GOOD, files=(ChangedFile(FILE, status),))
    assert "files" in refused(facts, {})


def test_invalid_annotation_is_refused() -> None:
    assert refused(GOOD, {FILE: [Problem("/submission/fps", "-1 is too small")]}) == ["validation"]


def test_unvalidated_file_is_refused() -> None:
    assert refused(GOOD, {}) == ["validation"]


def test_moved_head_is_refused() -> None:
    assert refused(dataclasses.replace(GOOD, head_sha="b" * 40)) == ["head"]


def test_closed_pull_is_refused() -> None:
    assert refused(dataclasses.replace(GOOD, state="closed")) == ["open"]


def test_authors_are_configurable() -> None:
    facts = dataclasses.replace(GOOD, author="labs-bot[bot]")
    assert judge(facts, Policy(authors=("labs-bot[bot]",)), CLEAN).merge
