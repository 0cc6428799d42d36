"""The auto-merge gate: may this pull request be merged without a maintainer? A pure decision over facts.

Only a pull request that the receiver itself opened and that adds annotation
records and nothing else is merged. The gate judges one commit, the one
validation passed on (the *validated SHA*), never "whatever the head is now":

- the pull request is open, targets the repository's default branch, comes
  from a branch with the receiver's prefix in the same repository (not a
  fork), was opened by the receiver's identity, is no draft and carries no
  hold label (moderation mode: a maintainer merges those);
- the data repository is not in moderation: while its Actions variable
  `RECEIVER_MODERATION` is `review` every pull request waits for a
  maintainer, labelled or not, so a label written late (or never) cannot
  open a window in which the gate merges;
- its files are the comparison of the base branch with the validated SHA,
  and that list is complete (as long as the pull request's `changed_files`;
  GitHub cuts a comparison's files at 300 without saying so);
- every file is *added* under `annotations/`, is a regular file (mode
  100644 in the git tree at the validated SHA: no symlink, no executable),
  and holds a stored record (with its receipt) that passes the validator of
  the base branch (the trusted code running the gate, never the PR's) and
  whose id, file name and path agree with its content;
- the head is still the validated SHA when the pull request is read again
  right before merging.

Reading those facts and merging with the validated SHA as the merge's
precondition is `automerge`'s job; this module does no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from receiver.contract.records import ANNOTATIONS_DIR, BRANCH_PREFIX
from receiver.contract.validation import Problem
from receiver.stores.pull_requests import REVIEW_LABEL

__all__ = [
    "HOLD_LABEL",
    "MODE_FILE",
    "COMPARE_FILES_CAP",
    "DEFAULT_AUTHORS",
    "MODERATION_VARIABLE",
    "ChangedFile",
    "Check",
    "Moderation",
    "ModerationError",
    "Policy",
    "PullFacts",
    "RecordCheck",
    "Verdict",
    "authors_from",
    "is_annotation",
    "judge",
    "moderation_from",
]

#: The label that puts a pull request in moderation: the gate never merges it.
HOLD_LABEL = REVIEW_LABEL
#: A regular, non-executable file in a git tree.
MODE_FILE = "100644"
#: GitHub lists at most this many files of a comparison
#: (https://docs.github.com/rest/commits/commits#compare-two-commits).
COMPARE_FILES_CAP = 300
#: The repository variable (and the merge step's env) that puts the whole data repository in moderation.
MODERATION_VARIABLE = "RECEIVER_MODERATION"
#: Whom the gate trusts when RECEIVER_GATE_AUTHORS is not set (automerge.yml's default).
DEFAULT_AUTHORS = "pose-receiver"

#: "auto": the gate merges what passes; "review": the repository is in moderation and the gate merges
#: nothing; "approved": a maintainer's `receiver moderate approve`, which is the review itself.
Moderation = Literal["auto", "review", "approved"]

_MODE_NAMES = {"100755": "an executable file", "120000": "a symbolic link", "160000": "a submodule", "040000": "a folder"}
_SHOWN = 10


@dataclass(frozen=True)
class ChangedFile:
    """One file of the comparison of the base branch with the validated SHA."""

    filename: str
    status: str
    #: Its mode in the git tree at the validated SHA; None when the tree has no such file.
    mode: str | None = MODE_FILE
    previous_filename: str | None = None


@dataclass(frozen=True)
class RecordCheck:
    """What the base branch's validator found in one added file, read at the validated SHA."""

    problems: tuple[Problem, ...]
    #: The path the record's content says it belongs at; None when it is no valid record.
    belongs_at: str | None = None
    #: Where it belonged before the deeper layout (`records.legacy_record_path`): a file there is as valid.
    legacy_at: str | None = None

    def at_home(self, path: str) -> bool:
        """Whether `path` is one the record's content allows."""
        return path in (self.belongs_at, self.legacy_at) and path is not None


@dataclass(frozen=True)
class PullFacts:
    """What GitHub says about the pull request, and which head SHA was validated."""

    number: int
    state: str
    base_repo: str
    base_ref: str
    default_branch: str
    head_repo: str
    head_ref: str
    head_sha: str
    author: str
    labels: tuple[str, ...]
    #: The pull request's own count of changed files.
    changed_files: int
    #: The comparison of the base branch with the validated SHA.
    files: tuple[ChangedFile, ...]
    validated_sha: str
    #: A draft is not ready to merge, whoever asks.
    draft: bool = False


class ModerationError(ValueError):
    """The repository's RECEIVER_MODERATION holds neither `auto` nor `review`; the message says what to set."""


@dataclass(frozen=True)
class Policy:
    branch_prefix: str = BRANCH_PREFIX
    authors: tuple[str, ...] = (DEFAULT_AUTHORS,)
    directory: str = ANNOTATIONS_DIR + "/"
    hold_label: str = HOLD_LABEL
    moderation: Moderation = "auto"


def moderation_from(value: str | None) -> Moderation:
    """The repository's moderation from its RECEIVER_MODERATION variable (unset or empty: auto).

    Anything but `auto` or `review` is refused rather than guessed, so a
    misspelt `review` stops the gate instead of letting it merge.
    """
    cleaned = (value or "").strip().lower()
    if cleaned in ("", "auto"):
        return "auto"
    if cleaned == "review":
        return "review"
    raise ModerationError(
        f"{MODERATION_VARIABLE} is {value[:40]!r}, neither 'auto' nor 'review'; "
        f"set the repository variable to review (`gh variable set {MODERATION_VARIABLE} --body review`) or delete it"
    )


def authors_from(value: str | None) -> tuple[str, ...]:
    """The logins the gate trusts, from RECEIVER_GATE_AUTHORS (comma-separated; unset: `pose-receiver`)."""
    return tuple(a.strip() for a in (DEFAULT_AUTHORS if value is None else value).split(",") if a.strip())


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


def is_annotation(changed: ChangedFile, policy: Policy) -> bool:
    """An added JSON file under the annotations folder: what the validator must see."""
    return changed.status == "added" and changed.filename.startswith(policy.directory) and changed.filename.endswith(".json")


def _listing(items: Sequence[str]) -> str:
    more = f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else ""
    return "; ".join(items[:_SHOWN]) + more


def _target_check(pull: PullFacts) -> Check:
    if pull.base_ref == pull.default_branch:
        return Check("target", True, f"targets the default branch {pull.default_branch!r}")
    return Check("target", False, f"targets {pull.base_ref!r}, not the default branch {pull.default_branch!r}; receiver PRs only go to the default branch")


def _hold_check(pull: PullFacts, policy: Policy) -> Check:
    approve = f"`receiver moderate approve {pull.number}` merges it"
    if policy.moderation == "approved":
        return Check("moderation", True, "approved by a maintainer (`receiver moderate approve`): that is the review")
    if policy.moderation == "review":
        return Check(
            "moderation",
            False,
            f"the repository is in moderation ({MODERATION_VARIABLE}=review): the gate merges no pull request; a maintainer reviews it and {approve}",
        )
    if policy.hold_label in pull.labels:
        return Check("moderation", False, f"labelled {policy.hold_label!r}: in moderation a maintainer reviews it and {approve}, never the gate")
    return Check("moderation", True, f"not labelled {policy.hold_label!r} and the repository is not in moderation")


def _complete_check(pull: PullFacts) -> Check:
    listed = len(pull.files)
    if listed == pull.changed_files:
        return Check("complete", True, f"the comparison lists all {listed} changed file(s)")
    why = f" (GitHub lists at most {COMPARE_FILES_CAP} files of a comparison)" if listed >= COMPARE_FILES_CAP else ""
    return Check(
        "complete",
        False,
        f"the comparison with {pull.validated_sha[:12]} lists {listed} file(s) but the pull request changes {pull.changed_files}{why}; "
        "a list that may be incomplete cannot be judged: split the pull request or merge it by hand",
    )


def _files_check(files: Sequence[ChangedFile], policy: Policy) -> Check:
    if not files:
        return Check("files", False, "the pull request changes no files")
    wrong = []
    for changed in files:
        if changed.status != "added":
            wrong.append(f"{changed.filename} is {changed.status}, not added (existing annotations are never changed by a receiver PR)")
        elif not is_annotation(changed, policy):
            wrong.append(f"{changed.filename} is outside {policy.directory} or not a .json file (only annotation records may be added)")
    if wrong:
        return Check("files", False, _listing(wrong))
    return Check("files", True, f"{len(files)} file(s), all added under {policy.directory}")


def _modes_check(files: Sequence[ChangedFile]) -> Check:
    wrong = []
    for changed in files:
        if changed.status == "removed" or changed.mode == MODE_FILE:
            continue
        if changed.mode is None:
            wrong.append(f"{changed.filename} is not in the git tree of the validated commit")
        else:
            kind = _MODE_NAMES.get(changed.mode, "not a regular file")
            wrong.append(f"{changed.filename} is {kind} (mode {changed.mode}); only regular files (mode {MODE_FILE}) may be added")
    if wrong:
        return Check("modes", False, _listing(wrong))
    return Check("modes", True, f"every file is a regular file (mode {MODE_FILE})")


def _records_check(files: Sequence[ChangedFile], policy: Policy, records: Mapping[str, RecordCheck]) -> Check:
    annotations = [f.filename for f in files if is_annotation(f, policy)]
    unchecked = [name for name in annotations if name not in records]
    if unchecked:
        return Check("records", False, f"{len(unchecked)} added file(s) were not validated: {_listing(unchecked)}")
    wrong = []
    for name in annotations:
        found = records[name]
        if found.problems:
            wrong.append(f"{name}: {found.problems[0]}")
        elif not found.at_home(name):
            wrong.append(f"{name}: its content says it belongs at {found.belongs_at}")
    if wrong:
        return Check("records", False, f"{len(wrong)} file(s) are not valid stored records, e.g. {_listing(wrong)}")
    return Check("records", True, f"{len(annotations)} stored record(s) pass the base branch's validator, each at the path its id gives")


def judge(pull: PullFacts, policy: Policy, records: Mapping[str, RecordCheck]) -> Verdict:
    """Every check, passed or not, each with its reason, so the job summary says why either way."""
    same_repo = pull.head_repo == pull.base_repo
    prefixed = pull.head_ref.startswith(policy.branch_prefix)
    checks = [
        Check("open", pull.state == "open", f"the pull request is {pull.state}"),
        _target_check(pull),
        Check(
            "repository",
            same_repo,
            "the head branch is in this repository" if same_repo else f"the head branch is in {pull.head_repo}, a fork; receiver PRs never come from forks",
        ),
        Check("branch", prefixed, f"head branch {pull.head_ref!r} " + ("has" if prefixed else "lacks") + f" the receiver prefix {policy.branch_prefix!r}"),
        Check(
            "author",
            pull.author in policy.authors,
            f"opened by {pull.author!r}" + ("" if pull.author in policy.authors else f", not the receiver ({', '.join(policy.authors)})"),
        ),
        _hold_check(pull, policy),
        Check("draft", not pull.draft, "a draft: it is not ready to merge" if pull.draft else "not a draft"),
        _complete_check(pull),
        _files_check(pull.files, policy),
        _modes_check(pull.files),
        _records_check(pull.files, policy, records),
        Check(
            "head",
            pull.head_sha == pull.validated_sha,
            f"head {pull.head_sha[:12]} is the validated commit"
            if pull.head_sha == pull.validated_sha
            else f"head moved to {pull.head_sha[:12]} after {pull.validated_sha[:12]} was validated",
        ),
    ]
    return Verdict(tuple(checks))
