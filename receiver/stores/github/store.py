"""Deliver records to a GitHub repository through PyGithub: a pull request per record, direct commits, or batch PRs.

Per-record delivery follows `receiver.stores.adoption`: observe what GitHub holds
for the record (its file on the default branch, its branch, the file on it,
its pull request), take the one next step, and observe again only when a
step fails, so a retry after a crash anywhere adopts what is there and an
error is never taken for "already there". Direct and batch commits prove what
is already stored the same way: the comparison of the default branch with the
new commit says, by blob, which files are new, which are unchanged and which
would overwrite something else.

A pull-request-mode backlog that the hour's write budget cannot cover is
coalesced into one batch PR. Requests go through `calls.PacedCalls`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from github import Github, InputGitTreeElement
from github.Repository import Repository

from receiver.contract.outcomes import Delivered, Outcome, Refused
from receiver.contract.records import Record, batch_branch_name
from receiver.stores.adoption import Observation, PullSeen, Step, blob_id, next_step
from receiver.stores.errors import StoreConflict, StoreRefused, StoreUnavailable
from receiver.stores.github.calls import PacedCalls, sha
from receiver.stores.github.client import github_client
from receiver.stores.pacing import Beat, Budget, Pacer
from receiver.stores.pull_requests import REVIEW_LABEL, batch_body, batch_title, commit_message, pull_body, pull_title

__all__ = ["GitHubStore", "DeliveryMode", "Moderation"]

log = logging.getLogger("receiver.stores.github")

DeliveryMode = Literal["pull-request", "direct", "batch"]
Moderation = Literal["auto", "review"]

#: How long the default branch's head is reused for new branches.
BASE_TTL = 300.0
#: Writes one record costs in pull-request mode (ref, contents, pull).
WRITES_PER_PULL = 3
#: The most files one commit of direct or batch mode adds: GitHub's comparison lists 300 files per page.
MAX_FILES_PER_COMMIT = 300
#: Steps one record may take in one delivery (create, put, open, label, and a re-observation or two).
MAX_STEPS = 8


@dataclass
class _Base:
    sha: str = ""
    tree: str = ""
    read_at: float = float("-inf")


@dataclass
class GitHubStore:
    """The `github` store. Pass `github` (a configured PyGithub client) or a token and API URL."""

    repository: str
    token: str = field(default="", repr=False)
    api_url: str = "https://api.github.com"
    mode: DeliveryMode = "pull-request"
    budget: Budget = field(default_factory=Budget)
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    github: Github | None = None
    coalesce: bool = True
    moderation: Moderation = "auto"
    #: Where PR bodies link each record's review page (`<review_url>/<id>`); None for no link.
    review_url: str | None = None
    #: The configured videos' URLs (`RECEIVER_VIDEOS`): a PR body links these, and shows any other URL as text.
    videos: frozenset[str] = frozenset()
    name: str = "github"

    def __post_init__(self) -> None:
        if self.github is None:
            self.github = github_client(self.api_url, token=self.token)
        self.owner = self.repository.split("/", 1)[0]
        self.pacer = Pacer(self.budget)
        self.call = PacedCalls(self.github, self.pacer, self.clock, self.sleep)
        self._repo: Repository | None = None
        self._default_branch = ""
        self._base = _Base()
        self.notes: list[str] = []

    @property
    def requests_sent(self) -> int:
        return self.call.sent

    # -- the Store protocol ---------------------------------------------------

    def deliver(self, records: Sequence[Record], *, beat: Beat | None = None) -> list[Outcome]:
        """Deliver in the configured mode, calling `beat` before every request and every slice of a paced wait."""
        unique = list({r.id: r for r in records}.values())
        if not unique:
            return []
        self.call.beat = beat
        try:
            return self._deliver(unique)
        finally:
            self.call.beat = None

    def _deliver(self, unique: list[Record]) -> list[Outcome]:
        if self.mode == "direct":
            return self._in_chunks(unique, lambda chunk: self._deliver_direct(chunk))
        if self.mode == "batch":
            return self._in_chunks(unique, lambda chunk: self._deliver_batch(chunk, reason=""))
        if self.coalesce and 1 < len(unique) <= MAX_FILES_PER_COMMIT and self._coalesced_before(unique):
            # An earlier attempt (before a crash, or before a failed label) opened their batch: finish that one,
            # rather than leave it open, unlabelled and unapprovable beside a pull request for each record.
            return self._deliver_batch(unique, reason="Coalesced: the hour's write budget could not open one pull request each.")
        left = self.pacer.remaining_this_hour(self.clock())
        if self.coalesce and len(unique) > 1 and left < WRITES_PER_PULL * len(unique):
            note = f"coalesced {len(unique)} queued records into one batch pull request: the hour's write budget ({left} left) cannot open one each"
            log.warning(note)
            self.notes = [*self.notes[-9:], note]
            return self._in_chunks(unique, lambda chunk: self._deliver_batch(chunk, reason="Coalesced: " + note + "."))
        outcomes: list[Outcome] = []
        for record in unique:
            try:
                outcomes.append(self._deliver_pull(record))
            except StoreRefused as exc:
                outcomes.append(Refused(record.id, str(exc)))
            except (StoreUnavailable, StoreConflict):
                if outcomes:
                    return outcomes  # keep what was done; the rest stays queued
                raise
        return outcomes

    def describe(self) -> dict[str, object]:
        now = self.clock()
        facts: dict[str, object] = {
            "repository": self.repository,
            "mode": self.mode,
            "moderation": self.moderation,
            "writes_left_this_hour": self.pacer.remaining_this_hour(now),
            "writes_sent": self.call.writes,
        }
        if self.pacer.blocked_until > now:
            facts["blocked_for_seconds"] = round(self.pacer.blocked_until - now, 1)
        if self.notes:
            facts["notes"] = self.notes[-5:]
        return facts

    def close(self) -> None:
        if self.github is not None:
            self.github.close()

    def pull_states(self, numbers: Sequence[int]) -> dict[int, str]:
        """Which of these open pull requests have since merged or closed, from one list request.

        The most recently updated closed pull requests (one page of 100) are
        read; a number not among them is still open as far as the receiver knows.
        """
        if not numbers:
            return {}
        repo = self._repository()
        wanted = set(numbers)

        def read() -> dict[int, str]:
            page = repo.get_pulls(state="closed", sort="updated", direction="desc").get_page(0)
            return {int(p.number): ("merged" if p.merged_at is not None else "closed") for p in page if int(p.number) in wanted}

        return self.call("the list of closed pull requests", read, write=False)

    def missing(self, records: Sequence[Record]) -> list[str]:
        """None: GitHub acknowledges a write only once it is stored, so nothing acknowledged can be lost here."""
        return []

    # -- reading --------------------------------------------------------------

    def _repository(self) -> Repository:
        if self._repo is None:
            assert self.github is not None
            github = self.github

            def read() -> tuple[Repository, str]:
                repo = github.get_repo(self.repository)
                default = repo.default_branch
                if not isinstance(default, str) or not default:
                    raise ValueError("no default branch")
                return repo, default

            self._repo, self._default_branch = self.call("the repository", read, write=False)
        return self._repo

    def _base_commit(self, *, refresh: bool = False) -> _Base:
        """The default branch's head, read once and reused for BASE_TTL seconds."""
        if refresh or self.clock() - self._base.read_at > BASE_TTL:
            repo = self._repository()
            head = self.call("the default branch", lambda: sha(repo.get_git_ref(f"heads/{self._default_branch}").object.sha), write=False)
            tree = self.call("the default branch's commit", lambda: sha(repo.get_git_commit(head).tree.sha), write=False)
            self._base = _Base(sha=head, tree=tree, read_at=self.clock())
        return self._base

    def _blob_at(self, path: str, ref: str) -> str | None:
        repo = self._repository()

        def read() -> str:
            found = repo.get_contents(path, ref=ref)
            if isinstance(found, list) or found.type != "file":
                raise ValueError("not a file")
            return sha(found.sha)

        return self.call.absent_on_404(f"the file at {path}", read)

    def _pull_for(self, branch: str) -> PullSeen | None:
        repo = self._repository()

        def read() -> PullSeen | None:
            seen = [
                PullSeen(int(p.number), str(p.html_url), str(p.state), p.merged_at is not None, tuple(str(label.name) for label in p.labels))
                for p in repo.get_pulls(state="all", head=f"{self.owner}:{branch}").get_page(0)
            ]
            # An open pull request first, then a merged one, then any.
            seen.sort(key=lambda p: (p.state != "open", not p.merged))
            return seen[0] if seen else None

        return self.call(f"the pull requests of {branch}", read, write=False)

    def _observe(self, record: Record) -> Observation:
        on_default = self._blob_at(record.path, self._default_branch_name())
        if on_default is not None:
            return Observation(on_default=on_default)
        repo = self._repository()
        tip = self.call.absent_on_404(f"branch {record.branch}", lambda: sha(repo.get_git_ref(f"heads/{record.branch}").object.sha))
        on_branch = self._blob_at(record.path, record.branch) if tip is not None else None
        return Observation(branch_tip=tip, on_branch=on_branch, pull=self._pull_for(record.branch))

    def _default_branch_name(self) -> str:
        self._repository()
        return self._default_branch

    # -- pull request per record ----------------------------------------------

    def _required_label(self) -> str | None:
        return REVIEW_LABEL if self.moderation == "review" else None

    def _deliver_pull(self, record: Record) -> Delivered:
        expected = blob_id(record.to_bytes())
        seen = self._observe(record)
        wrote = False
        for _ in range(MAX_STEPS):
            step = next_step(expected, seen, label=self._required_label())
            if step.kind == "done-merged":
                return Delivered(record.id, record.path, self._base_commit(refresh=True).sha, created=wrote)
            if step.kind == "done-open":
                assert seen.pull is not None
                return Delivered(record.id, record.path, seen.branch_tip, wrote, record.branch, seen.pull.number, seen.pull.url)
            if step.kind == "refused":
                raise StoreRefused(step.reason)
            try:
                seen = self._take(step, record, seen, expected)
                wrote = True
            except StoreRefused:
                # The step was refused: look again. If what is there now calls
                # for another step (the write happened before, or someone else
                # did it), carry on from there; if not, the refusal stands.
                again = self._observe(record)
                if next_step(expected, again, label=self._required_label()) == step:
                    raise
                seen = again
        raise StoreUnavailable(f"delivering {record.id} did not settle in {MAX_STEPS} steps; retrying")

    def _take(self, step: Step, record: Record, seen: Observation, expected: str) -> Observation:
        """Carry out one step; what GitHub answered becomes the new observation."""
        repo = self._repository()
        branch = record.branch
        if step.kind == "create-branch":
            base = self._base_commit()
            tip = self.call(f"creating {branch}", lambda: sha(repo.create_git_ref(f"refs/heads/{branch}", base.sha).object.sha), write=True)
            return Observation(branch_tip=tip, pull=seen.pull)
        if step.kind == "put-file":
            content = record.to_bytes().decode("utf-8")

            def put() -> tuple[str, str]:
                result = repo.create_file(record.path, commit_message([record]), content, branch=branch)
                return sha(result["commit"].sha), sha(result["content"].sha)

            tip, stored = self.call(f"adding {record.path}", put, write=True)
            return Observation(branch_tip=tip, on_branch=stored, pull=seen.pull)
        if step.kind == "open-pull":

            def open_pull() -> PullSeen:
                pull = repo.create_pull(base=self._default_branch, head=branch, title=pull_title(record), body=pull_body(record, review_url=self.review_url, videos=self.videos))
                return PullSeen(int(pull.number), str(pull.html_url), "open", False)

            return Observation(seen.branch_tip, seen.on_branch, pull=self.call(f"opening the pull request for {branch}", open_pull, write=True))
        if step.kind == "label-pull":
            assert seen.pull is not None and (label := self._required_label()) is not None
            number = seen.pull.number
            self.call(f"labelling #{number}", lambda: repo.get_pull(number).add_to_labels(label), write=True)
            pull = PullSeen(number, seen.pull.url, seen.pull.state, seen.pull.merged, (*seen.pull.labels, label))
            return Observation(seen.branch_tip, seen.on_branch, pull=pull)
        raise AssertionError(f"no action for {step.kind}")

    # -- many records in one commit --------------------------------------------

    def _in_chunks(self, records: list[Record], deliver: Callable[[list[Record]], list[Outcome]]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for start in range(0, len(records), MAX_FILES_PER_COMMIT):
            try:
                outcomes += deliver(records[start : start + MAX_FILES_PER_COMMIT])
            except (StoreUnavailable, StoreConflict):
                if outcomes:
                    return outcomes
                raise
        return outcomes

    def _commit_on_base(self, repo: Repository, records: Sequence[Record], base: _Base) -> tuple[str, str] | None:
        """One commit adding the records on the default branch's head: (tree, commit), or None if nothing changes."""
        elements = [InputGitTreeElement(r.path, "100644", "blob", content=r.to_bytes().decode("utf-8")) for r in records]
        base_tree = self.call("the default branch's tree", lambda: repo.get_git_tree(base.tree), write=False)
        tree = self.call("the new tree", lambda: sha(repo.create_git_tree(elements, base_tree).sha), write=True)
        if tree == base.tree:
            return None
        parent = self.call("the default branch's commit", lambda: repo.get_git_commit(base.sha), write=False)
        commit = self.call("the new commit", lambda: sha(repo.create_git_commit(commit_message(records), repo.get_git_tree(tree), [parent]).sha), write=True)
        return tree, commit

    def _changes(self, repo: Repository, base: str, head: str) -> dict[str, tuple[str, str]]:
        """path -> (status, blob id) of every file that differs between two commits."""

        def read() -> dict[str, tuple[str, str]]:
            comparison = repo.compare(base, head)
            return {str(f.filename): (str(f.status), sha(f.sha)) for f in comparison.files}

        return self.call("the comparison with the default branch", read, write=False)

    def _sort(self, records: Sequence[Record], changes: dict[str, tuple[str, str]]) -> tuple[list[Record], list[Record], list[Refused]]:
        """Split records by what the comparison proves: added now, already there with the same bytes, or refused."""
        added: list[Record] = []
        there: list[Record] = []
        refused: list[Refused] = []
        for record in records:
            change = changes.get(record.path)
            expected = blob_id(record.to_bytes())
            if change is None:
                there.append(record)
            elif change == ("added", expected):
                added.append(record)
            else:
                refused.append(Refused(record.id, f"a different file is already at {record.path} on the default branch; it was not overwritten"))
        return added, there, refused

    def _deliver_direct(self, records: list[Record]) -> list[Outcome]:
        repo = self._repository()
        base = self._base_commit(refresh=True)
        made = self._commit_on_base(repo, records, base)
        if made is None:
            return [Delivered(r.id, r.path, base.sha, created=False) for r in records]
        tree, commit = made
        added, there, refused = self._sort(records, self._changes(repo, base.sha, commit))
        if refused:
            keep = added + there
            outcomes: list[Outcome] = [*refused]
            return outcomes + (self._deliver_direct(keep) if keep else [])
        try:
            self.call(f"moving {self._default_branch}", lambda: repo.get_git_ref(f"heads/{self._default_branch}").edit(commit, force=False), write=True)
        except StoreRefused:
            # Refused, or the branch moved since it was read? Look, don't guess.
            if self._base_commit(refresh=True).sha != base.sha:
                raise StoreConflict("the default branch moved while committing; retrying") from None
            raise
        self._base = _Base(sha=commit, tree=tree, read_at=self.clock())
        return [*(Delivered(r.id, r.path, commit, created=True) for r in added), *(Delivered(r.id, r.path, commit, created=False) for r in there)]

    def _coalesced_before(self, records: list[Record]) -> bool:
        """Whether the batch branch of exactly these records exists (one read; a 404 in the usual case)."""
        repo = self._repository()
        branch = batch_branch_name([r.id for r in records])
        return self.call.absent_on_404(f"branch {branch}", lambda: repo.get_git_ref(f"heads/{branch}")) is not None

    def _deliver_batch(self, records: list[Record], *, reason: str) -> list[Outcome]:
        repo = self._repository()
        branch = batch_branch_name([r.id for r in records])
        base = self._base_commit(refresh=True)
        tip = self.call.absent_on_404(f"branch {branch}", lambda: sha(repo.get_git_ref(f"heads/{branch}").object.sha))
        if tip is None:
            made = self._commit_on_base(repo, records, base)
            if made is None:
                return [Delivered(r.id, r.path, base.sha, created=False) for r in records]
            tip = made[1]
            fresh = True
        else:
            log.info("adopting existing batch branch %s", branch)
            fresh = False
        added, there, refused = self._sort(records, self._changes(repo, base.sha, tip))
        if refused:
            # Never open a pull request that would overwrite; deliver the rest on another branch.
            keep = added + there
            return [*refused, *(self._deliver_batch(keep, reason=reason) if keep else [])]
        if not added:
            return [*(Delivered(r.id, r.path, base.sha, created=False) for r in there)]
        if fresh:
            commit = tip
            self.call(f"creating {branch}", lambda: repo.create_git_ref(f"refs/heads/{branch}", commit), write=True)
        pull = self._pull_for(branch)
        if pull is None:

            def open_pull() -> PullSeen:
                made = repo.create_pull(base=self._default_branch, head=branch, title=batch_title(added), body=batch_body(added, reason=reason, review_url=self.review_url))
                return PullSeen(int(made.number), str(made.html_url), "open", False)

            pull = self.call(f"opening the pull request for {branch}", open_pull, write=True)
        elif pull.state != "open" and not pull.merged:
            return [Refused(r.id, f"batch pull request #{pull.number} was closed without merging") for r in added]
        if self.moderation == "review" and REVIEW_LABEL not in pull.labels and pull.state == "open":
            number = pull.number
            self.call(f"labelling #{number}", lambda: repo.get_pull(number).add_to_labels(REVIEW_LABEL), write=True)
        outcomes: list[Outcome] = [Delivered(r.id, r.path, tip, fresh, branch, pull.number, pull.url) for r in added]
        return outcomes + [Delivered(r.id, r.path, base.sha, created=False) for r in there]


