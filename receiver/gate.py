"""The auto-merge gate: may this pull request be merged without a maintainer? A pure decision over facts.

Only a pull request that the receiver itself opened and that adds annotation
files and nothing else is merged: its head branch is in the base repository
(not a fork), carries the receiver's prefix, was opened by the receiver's
identity, every changed file is *added* under `annotations/`, every added file
passes the validator of the base branch (the trusted code running the gate,
never the PR's), and the head has not moved since it was validated. Fetching
the facts and merging (with the validated SHA as the precondition) is
`automerge`'s job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from receiver.records import ANNOTATIONS_DIR, BRANCH_PREFIX
from receiver.validation import Problem

__all__ = ["is_annotation", "ChangedFile", "PullFacts", "Policy", "Check", "Verdict", "judge"]


@dataclass(frozen=True)
class ChangedFile:
    filename: str
    status: str
    previous_filename: str | None = None


@dataclass(frozen=True)
class PullFacts:
    """What GitHub says about the pull request, and which head SHA was validated."""

    number: int
    state: str
    base_repo: str
    head_repo: str
    head_ref: str
    head_sha: str
    author: str
    files: tuple[ChangedFile, ...]
    validated_sha: str


@dataclass(frozen=True)
class Policy:
    branch_prefix: str = BRANCH_PREFIX
    authors: tuple[str, ...] = ("pose-receiver",)
    directory: str = ANNOTATIONS_DIR + "/"


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    reason: str


@dataclass(frozen=True)
class Verdict:
    checks: tuple[Check, ...]

    @property
    def merge(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def refusals(self) -> list[str]:
        return [check.reason for check in self.checks if not check.passed]


def _files_check(files: Sequence[ChangedFile], policy: Policy) -> Check:
    if not files:
        return Check("files", False, "the pull request changes no files")
    wrong = []
    for changed in files:
        if changed.status != "added":
            wrong.append(f"{changed.filename} is {changed.status}, not added (existing annotations are never changed by a receiver PR)")
        elif not is_annotation(changed, policy):
            wrong.append(f"{changed.filename} is outside {policy.directory} (only annotation files may change)")
    if wrong:
        return Check("files", False, "; ".join(wrong[:10]) + (f" and {len(wrong) - 10} more" if len(wrong) > 10 else ""))
    return Check("files", True, f"{len(files)} file(s), all added under {policy.directory}")


def is_annotation(changed: ChangedFile, policy: Policy) -> bool:
    """An added JSON file under the annotations folder: what the validator must see."""
    return changed.status == "added" and changed.filename.startswith(policy.directory) and changed.filename.endswith(".json")


def _validation_check(files: Sequence[ChangedFile], policy: Policy, problems: Mapping[str, Sequence[Problem]]) -> Check:
    failing = {name: found for name, found in problems.items() if found}
    unchecked = [f.filename for f in files if is_annotation(f, policy) and f.filename not in problems]
    if unchecked:
        return Check("validation", False, f"{len(unchecked)} added file(s) were not validated: {', '.join(unchecked[:3])}")
    if failing:
        first = next(iter(failing.items()))
        return Check("validation", False, f"{len(failing)} file(s) fail validation, e.g. {first[0]}: {first[1][0]}")
    return Check("validation", True, f"{len(problems)} file(s) pass the base branch's validator")


def judge(pull: PullFacts, policy: Policy, problems: Mapping[str, Sequence[Problem]]) -> Verdict:
    """Every check, passed or not, each with its reason, so the job summary says why either way."""
    same_repo = pull.head_repo == pull.base_repo
    checks = [
        Check("open", pull.state == "open", f"the pull request is {pull.state}"),
        Check(
            "repository",
            same_repo,
            "the head branch is in this repository" if same_repo else f"the head branch is in {pull.head_repo}, a fork; receiver PRs never come from forks",
        ),
        Check(
            "branch",
            pull.head_ref.startswith(policy.branch_prefix),
            f"head branch {pull.head_ref!r} " + ("has" if pull.head_ref.startswith(policy.branch_prefix) else "lacks") + f" the receiver prefix {policy.branch_prefix!r}",
        ),
        Check(
            "author",
            pull.author in policy.authors,
            f"opened by {pull.author!r}" + ("" if pull.author in policy.authors else f", not the receiver ({', '.join(policy.authors)})"),
        ),
        _files_check(pull.files, policy),
        _validation_check(pull.files, policy, problems),
        Check(
            "head",
            pull.head_sha == pull.validated_sha,
            f"head {pull.head_sha[:12]} is the validated commit"
            if pull.head_sha == pull.validated_sha
            else f"head moved to {pull.head_sha[:12]} after {pull.validated_sha[:12]} was validated",
        ),
    ]
    return Verdict(tuple(checks))
