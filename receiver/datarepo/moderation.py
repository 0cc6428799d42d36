"""Maintainers' verdicts on the receiver's pull requests: approve merges one, reject closes it; either deletes its branch.

`receiver moderate approve|reject PR...` acts only on pull requests the
receiver opened and a maintainer is asked to look at: head branch under
`annotations/` in the data repository itself (never a fork), open, labeled
`needs-review`. Which pull requests qualify is `refusal`, a function over the
facts read from GitHub; the `Moderator` does the reading and writing.

An approval is the review, not a bypass of the gate: the head SHA just read is
judged by `gate.judge` on the facts `automerge.read_evidence` reads (the same
as the auto-merge workflow's, records checked with this installation's
validator), with only the moderation check lifted. What the gate would refuse
apart from the review mark (a workflow file, an executable, an invalid record,
another author) is refused here too, and nothing is written. An approval then
merges with that SHA as the `sha` precondition, so a branch pushed to after it
was judged is refused by GitHub, not merged. Writes are paced like the store's (`receiver.stores.pacing`: at least the
configured interval apart, within the minute's and hour's budget) and a
`retry-after` or an exhausted hourly limit is waited out through the injected
sleep, up to `max_wait`; past that the pull request is reported as not done.

It will not review what the records say: that is the maintainer's part.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, TextIO, TypeVar

import requests
from github import Github, GithubException
from github.PullRequest import PullRequest
from github.Repository import Repository

from receiver.contract.records import BRANCH_PREFIX
from receiver.contract.validation import Validator
from receiver.datarepo.automerge import merge_commit_text, read_evidence
from receiver.datarepo.gate import DEFAULT_AUTHORS, Policy, authors_from, judge
from receiver.stores import GithubAccess, StoreError, StoreRateLimited, StoreUnavailable
from receiver.stores.github import AppCredentials, github_client, translate
from receiver.stores.pacing import Budget, Pacer
from receiver.stores.pull_requests import REVIEW_LABEL

__all__ = [
    "REVIEW_LABEL",
    "REJECTION_COMMENT",
    "ModerationSetupError",
    "Moderator",
    "Outcome",
    "PullFacts",
    "Verdict",
    "build_moderator",
    "moderate_pulls",
    "refusal",
]


#: What a rejected pull request is told; fixed text, so nothing a volunteer typed is repeated.
REJECTION_COMMENT = (
    "Rejected by the maintainers: these labels will not be added to the data. "
    "The pull request is closed and its branch deleted. Thank you for labeling."
)

Verdict = Literal["approve", "reject"]

#: How many times one request is sent while GitHub keeps asking to wait.
_ATTEMPTS = 4
T = TypeVar("T")


class ModerationSetupError(ValueError):
    """The settings do not say which GitHub repository to moderate, or as whom."""


@dataclass(frozen=True)
class PullFacts:
    """What decides whether a pull request is the receiver's to moderate."""

    number: int
    state: str
    merged: bool
    head_repository: str
    head_ref: str
    head_sha: str
    labels: frozenset[str]

    @classmethod
    def of(cls, pull: PullRequest) -> PullFacts:
        head_repo = pull.head.repo
        return cls(
            number=pull.number,
            state=pull.state,
            merged=bool(pull.merged),
            head_repository=head_repo.full_name if head_repo is not None else "",
            head_ref=pull.head.ref,
            head_sha=pull.head.sha,
            labels=frozenset(label.name for label in pull.labels),
        )


def refusal(facts: PullFacts, repository: str) -> str | None:
    """Why this pull request may not be moderated, or None when it may."""
    if facts.merged:
        return "it is already merged"
    if facts.state != "open":
        return "it is closed"
    if facts.head_repository.lower() != repository.lower():
        return f"its branch is not in {repository} (a fork or a deleted repository)"
    if not facts.head_ref.startswith(BRANCH_PREFIX):
        return f"its branch {facts.head_ref[:80]!r} is not a receiver branch ({BRANCH_PREFIX}...)"
    if REVIEW_LABEL not in facts.labels:
        return f"it is not labeled {REVIEW_LABEL}"
    return None


@dataclass(frozen=True)
class Outcome:
    """One pull request's result, printed as one line."""

    number: int
    done: bool
    text: str

    def line(self) -> str:
        return f"#{self.number}: {self.text}"


class Moderator:
    """Approve or reject pull requests of `repository` through PyGithub, one paced write at a time."""

    def __init__(
        self,
        github: Github,
        repository: str,
        *,
        budget: Budget | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = 900.0,
        authors: tuple[str, ...] = (DEFAULT_AUTHORS,),
        validator: Validator | None = None,
    ) -> None:
        self.github = github
        self.repository = repository
        self.pacer = Pacer(budget or Budget())
        self.clock = clock
        self.sleep = sleep
        self.max_wait = max_wait
        #: Whose pull requests may be merged: the gate's RECEIVER_GATE_AUTHORS.
        self.authors = authors
        self._validator = validator
        self._repo: Repository | None = None

    def moderate(self, verdict: Verdict, number: int) -> Outcome:
        """Apply `verdict` to pull request `number`; what GitHub refuses becomes an outcome not done."""
        try:
            pull = self._call(lambda: self._repository().get_pull(number), write=False)
            facts = PullFacts.of(pull)
            reason = refusal(facts, self.repository)
            if reason is not None:
                return Outcome(number, False, f"refused: {reason}")
            return self._approve(pull, facts) if verdict == "approve" else self._reject(pull, facts)
        except StoreError as exc:
            return Outcome(number, False, f"not done: {exc}")

    def _approve(self, pull: PullRequest, facts: PullFacts) -> Outcome:
        # A maintainer approving is the review, so only moderation is lifted; every other check of the gate holds.
        policy = Policy(authors=self.authors, moderation="approved")
        if self._validator is None:
            self._validator = Validator()
        evidence = read_evidence(self._read, self._repository(), pull, facts.head_sha, policy, self._validator)
        verdict = judge(evidence.facts, policy, evidence.records)
        if not verdict.merge:
            return Outcome(facts.number, False, f"refused: the gate would not merge {facts.head_sha[:12]}: {'; '.join(verdict.refusals)}")
        title, message = merge_commit_text(pull.number, by="a maintainer's approval (receiver moderate approve), on the gate's checks")
        status = self._call(lambda: pull.merge(sha=facts.head_sha, merge_method="merge", commit_title=title, commit_message=message), write=True)
        if not status.merged:
            return Outcome(facts.number, False, f"not merged: {status.message[:120]}")
        self._delete_branch(facts.head_ref)
        return Outcome(facts.number, True, f"merged as {status.sha[:12]}, branch {facts.head_ref} deleted")

    def _delete_branch(self, branch: str) -> None:
        """Delete a merged or rejected PR's branch, unless GitHub already did (delete_branch_on_merge)."""
        try:
            ref = self._call(lambda: self._repository().get_git_ref(f"heads/{branch}"), write=False)
        except StoreError as exc:
            if exc.answer is not None and exc.answer.status == 404:
                return
            raise
        self._call(ref.delete, write=True)

    def _reject(self, pull: PullRequest, facts: PullFacts) -> Outcome:
        self._call(lambda: pull.create_issue_comment(REJECTION_COMMENT), write=True)
        self._call(lambda: pull.edit(state="closed"), write=True)
        self._delete_branch(facts.head_ref)
        return Outcome(facts.number, True, f"rejected: closed with a comment, branch {facts.head_ref} deleted")

    def _repository(self) -> Repository:
        if self._repo is None:
            self._repo = self.github.get_repo(self.repository)
        return self._repo

    def _read(self, action: Callable[[], T]) -> T:
        """One paced read, GitHub's errors translated: how `read_evidence` reaches GitHub for an approval."""
        return self._call(action, write=False)

    def _call(self, action: Callable[[], T], *, write: bool) -> T:
        """Send one request when the pacer allows; wait out what GitHub asks to wait, up to max_wait and a few times."""
        for attempt in range(1, _ATTEMPTS + 1):
            wait = self.pacer.delay(self.clock(), write=write)
            if wait > self.max_wait:
                raise StoreRateLimited(f"GitHub asks to wait {wait:.0f} s; run the command again later", retry_after=wait)
            if wait > 0:
                self.sleep(wait)
            if write:
                self.pacer.sent(self.clock())
            try:
                return action()
            except GithubException as exc:
                error = translate(exc, self.clock())
                if not (isinstance(error, StoreRateLimited) and error.retry_after is not None) or attempt == _ATTEMPTS:
                    raise error from exc
                self.pacer.block(self.clock() + error.retry_after)
            except requests.exceptions.RequestException as exc:
                raise StoreUnavailable(f"GitHub could not be reached ({exc.__class__.__name__})") from exc
        raise AssertionError("unreachable: the last attempt returns or raises")


def build_moderator(
    settings: GithubAccess,
    *,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Moderator:
    """A moderator of the store's repository, as the store's identity (token or GitHub App) and with its write budget.

    Approvals trust the authors RECEIVER_GATE_AUTHORS names in `environ` (the process's own when None), as the workflow does.
    """
    key_file = settings.github_app_private_key_file
    if not settings.github_repository or not (settings.github_token or key_file):
        raise ModerationSetupError("needs RECEIVER_GITHUB_REPOSITORY=OWNER/NAME, and GITHUB_TOKEN or a GitHub App")
    app = None
    if key_file is not None:
        try:
            app = AppCredentials.from_key_file(settings.github_app_id, key_file, settings.github_app_installation_id)
        except OSError as exc:
            raise ModerationSetupError(f"the GitHub App's private key file cannot be read ({exc.strerror})") from exc
    budget = Budget(settings.github_writes_per_minute, settings.github_writes_per_hour, settings.github_write_interval)
    github = github_client(settings.github_api_url, token=settings.github_token, app=app)
    authors = authors_from((os.environ if environ is None else environ).get("RECEIVER_GATE_AUTHORS"))
    return Moderator(github, settings.github_repository, budget=budget, clock=clock, sleep=sleep, authors=authors)


def moderate_pulls(moderator: Moderator, verdict: Verdict, numbers: Iterable[int], out: TextIO) -> bool:
    """Apply `verdict` to each pull request in turn, one line each on `out`; True if every one was done."""
    done = True
    for number in numbers:
        outcome = moderator.moderate(verdict, number)
        out.write(outcome.line() + "\n")
        done = done and outcome.done
    return done
