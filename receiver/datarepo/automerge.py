"""Run the auto-merge gate in a workflow: gather the pull request's facts through the API, judge, merge.

Runs from a trusted checkout of the base branch (a `workflow_run` job after
validation has completed, never the PR's code). Every fact about files is
read at the validated SHA, never at "the head now": the file list is the
comparison of the base branch with that SHA, modes come from its git tree,
contents from the blobs that tree names, checked with this checkout's
validator. Right before merging the pull request is read again; its head
must still be the validated SHA, and the merge carries that SHA as its
precondition, so a head that moves in between is refused by GitHub itself.

`read_evidence` is that reading, shared with `receiver moderate approve`
(`moderation`), so a maintainer's merge is judged by the same facts; how each
request is sent (directly here, paced and translated there) is the caller's.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TextIO, TypeVar

from github import Auth, Github, GithubException
from github.PullRequest import PullRequest
from github.Repository import Repository

from receiver.contract import records
from receiver.contract.parsing import MAX_DOCUMENT_BYTES, ParseError, parse_json
from receiver.contract.validation import Problem, Validator
from receiver.datarepo.actions import ActionsContext, ActionsError, escape_data, escape_property
from receiver.datarepo.gate import (
    MODE_FILE,
    MODERATION_VARIABLE,
    ChangedFile,
    Check,
    ModerationError,
    Policy,
    PullFacts,
    RecordCheck,
    Verdict,
    authors_from,
    is_annotation,
    judge,
    moderation_from,
)

__all__ = ["Evidence", "Reader", "gate_pull", "merge_commit_text", "read_evidence", "run_automerge", "pull_from_event"]

T = TypeVar("T")

EXIT_MERGED, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2

#: A git tree entry as the gate needs it: (mode, type, object id, size in bytes or None).
_Entry = tuple[str, str, str, int | None]


class Reader(Protocol):
    """Sends one GitHub read and returns its value: the workflow calls it as is, the moderator paces and translates it."""

    def __call__(self, action: Callable[[], T]) -> T: ...


@dataclass(frozen=True)
class Evidence:
    """What the gate judges a pull request on: GitHub's facts about it and each added record's check, at one SHA."""

    facts: PullFacts
    records: Mapping[str, RecordCheck]


def _direct(action: Callable[[], T]) -> T:
    return action()


def pull_from_event(event: Mapping[str, Any]) -> tuple[int, str] | None:
    """The PR number and the head SHA that was validated, from a workflow_run or pull_request event."""
    run = event.get("workflow_run")
    if isinstance(run, dict):
        pulls = run.get("pull_requests") or []
        if run.get("conclusion") != "success" or not pulls:
            return None
        return int(pulls[0]["number"]), str(run["head_sha"])
    pull = event.get("pull_request")
    if isinstance(pull, dict):
        return int(pull["number"]), str(pull["head"]["sha"])
    return None


def _summary(number: int, verdict: Verdict, outcome: str) -> str:
    lines = [f"### Auto-merge of #{number}: {outcome}", "", "| Check | | Reason |", "| --- | --- | --- |"]
    for check in verdict.checks:
        reason = check.reason.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {check.name} | {'✅' if check.passed else '❌'} | {reason} |")
    return "\n".join(lines) + "\n\n"


class _Tree:
    """The git tree of one commit, read folder by folder as paths ask for it (each folder once).

    Only the folders on the judged paths are fetched, so the cost follows the
    pull request's size, not the data repository's.
    """

    def __init__(self, read: Reader, repo: Repository, commit_sha: str) -> None:
        self._read = read
        self._repo = repo
        self._commit_sha = commit_sha
        self._folders: dict[str, dict[str, _Entry] | None] = {}

    def _listing(self, sha: str) -> dict[str, _Entry]:
        return self._read(lambda: {e.path: (e.mode, e.type, e.sha, e.size) for e in self._repo.get_git_tree(sha).tree})

    def _folder(self, path: str) -> dict[str, _Entry] | None:
        if path not in self._folders:
            if not path:
                self._folders[path] = self._listing(self._commit_sha)
            else:
                parent, _, name = path.rpartition("/")
                entry = (self._folder(parent) or {}).get(name)
                self._folders[path] = self._listing(entry[2]) if entry is not None and entry[1] == "tree" else None
        return self._folders[path]

    def entry(self, path: str) -> _Entry | None:
        folder, _, name = path.rpartition("/")
        return (self._folder(folder) or {}).get(name)


def _read_record(read: Reader, repo: Repository, path: str, entry: _Entry, validator: Validator) -> RecordCheck:
    """Check one added file as a stored record, reading the blob the validated tree names."""
    _mode, _type, sha, size = entry
    if size is not None and size > MAX_DOCUMENT_BYTES:
        return RecordCheck((Problem("", f"is {size} bytes; a stored record is at most {MAX_DOCUMENT_BYTES}"),))
    def blob() -> tuple[str, str]:
        found = repo.get_git_blob(sha)
        return found.content, found.encoding

    content, encoding = read(blob)
    try:
        data = base64.b64decode(content) if encoding == "base64" else str(content).encode()
        document = parse_json(data)
    except (binascii.Error, ParseError) as exc:
        return RecordCheck((Problem("", str(exc)),))
    # A stored record, never a bare submission: check_stored demands the receipt.
    found = tuple(validator.check_stored(document, filename=path))
    if found:
        return RecordCheck(found)
    return RecordCheck((), *records.record_paths(document["receipt"]["id"], document["submission"]["video_url"]))


def _with_modes(files: Iterable[ChangedFile], tree: _Tree) -> tuple[ChangedFile, ...]:
    judged = []
    for changed in files:
        entry = None if changed.status == "removed" else tree.entry(changed.filename)
        judged.append(dataclasses.replace(changed, mode=None if entry is None else entry[0]))
    return tuple(judged)


def _check_records(read: Reader, repo: Repository, files: Iterable[ChangedFile], tree: _Tree, policy: Policy, validator: Validator) -> dict[str, RecordCheck]:
    checked: dict[str, RecordCheck] = {}
    for changed in files:
        if not is_annotation(changed, policy):
            continue
        entry = tree.entry(changed.filename)
        if entry is None or entry[0] != MODE_FILE:
            continue  # the modes check refuses it; its content is not read
        checked[changed.filename] = _read_record(read, repo, changed.filename, entry, validator)
    return checked


def _labels(pull: PullRequest) -> tuple[str, ...]:
    return tuple(label.name for label in pull.labels)


def read_evidence(read: Reader, repo: Repository, pull: PullRequest, judged_sha: str, policy: Policy, validator: Validator) -> Evidence:
    """Read every fact the gate judges about `pull` at `judged_sha`: one way for the workflow and for a maintainer's approval.

    The file list is the comparison of the base branch with `judged_sha`,
    modes come from that commit's git tree and contents from the blobs it
    names, checked with `validator` (the trusted local one, never the PR's).
    Each request goes through `read`; what it raises is the caller's to report.
    """
    base_ref = pull.base.ref
    tree = _Tree(read, repo, judged_sha)
    listed = read(lambda: [ChangedFile(f.filename, f.status, previous_filename=f.previous_filename) for f in repo.compare(base_ref, judged_sha).files or ()])
    files = _with_modes(listed, tree)
    checked = _check_records(read, repo, files, tree, policy, validator)
    facts = PullFacts(
        number=pull.number,
        state=pull.state,
        base_repo=pull.base.repo.full_name,
        base_ref=base_ref,
        default_branch=repo.default_branch,
        head_repo=pull.head.repo.full_name if pull.head.repo is not None else "(deleted fork)",
        head_ref=pull.head.ref,
        head_sha=pull.head.sha,
        author=pull.user.login,
        labels=_labels(pull),
        changed_files=pull.changed_files,
        files=files,
        validated_sha=judged_sha,
        draft=bool(pull.draft),
    )
    return Evidence(facts, checked)


def _annotate(out: TextIO, records: Mapping[str, RecordCheck]) -> None:
    """Each invalid record's problems as workflow error annotations on its file."""
    for path, result in records.items():
        for problem in result.problems:
            title = escape_property(f"Invalid annotation {problem.pointer or '/'}")
            out.write(f"::error file={escape_property(path)},title={title}::{escape_data(str(problem))}\n")


def _refuse(out: TextIO, number: int, verdict: Verdict) -> tuple[int, str]:
    out.write(f"Not merging #{number}: {'; '.join(verdict.refusals)}\n")
    return EXIT_REFUSED, _summary(number, verdict, "not merged")


def _unreadable(out: TextIO, number: int, what: str, exc: GithubException) -> tuple[int, str]:
    message = exc.data.get("message", "") if isinstance(exc.data, dict) else ""
    reason = f"GitHub answered {exc.status} while reading {what}: {message}".rstrip(": ")
    return _refuse(out, number, Verdict((Check("read", False, reason),)))


def merge_commit_text(number: int, *, by: str = "the data repository's gate") -> tuple[str, str]:
    """The title and message of a receiver merge, so a PR's title and body never become a commit message.

    They protect volunteer text with Markdown code spans, which mean nothing in
    a commit message: GitHub's default merge message repeats the PR title, and
    a squash merge may take the PR body.
    """
    return f"Merge annotations of pull request #{number}", f"Validated and merged by {by}."


def gate_pull(
    repo: Repository,
    number: int,
    judged_sha: str | None,
    policy: Policy,
    validator: Validator,
    out: TextIO,
    *,
    merge: bool = True,
    method: str = "squash",
) -> tuple[int, str]:
    """Judge pull request `number` at `judged_sha` (None: its head now) and, if `merge`, merge it; the exit code and the job summary.

    The workflow and `receiver gate` both run this, so a maintainer's local
    run refuses and accepts exactly what the workflow does. Read-only when
    `merge` is false: a PR that passes is reported as one the gate would merge.
    """
    try:
        pull = repo.get_pull(number)
    except GithubException as exc:
        return _unreadable(out, number, f"pull request #{number}", exc)
    judged_sha = judged_sha or pull.head.sha
    try:
        evidence = read_evidence(_direct, repo, pull, judged_sha, policy, validator)
    except GithubException as exc:
        return _unreadable(out, number, f"the files of {judged_sha[:12]}", exc)
    _annotate(out, evidence.records)
    facts, checked = evidence.facts, evidence.records
    verdict = judge(facts, policy, checked)
    if not verdict.merge:
        return _refuse(out, number, verdict)
    if not merge:
        out.write(f"Would merge #{number} at {judged_sha}: every check passes (read-only; --merge merges it)\n")
        return EXIT_MERGED, _summary(number, verdict, "would merge (read-only run)")
    # Read it again right before merging: a head moved, a label added or a
    # close during the reads above is refused here, not merged.
    try:
        again = repo.get_pull(number)
    except GithubException as exc:
        return _unreadable(out, number, f"pull request #{number} again", exc)
    now = dataclasses.replace(
        facts, state=again.state, head_sha=again.head.sha, labels=_labels(again), changed_files=again.changed_files, draft=bool(again.draft)
    )
    verdict = judge(now, policy, checked)
    if not verdict.merge:
        return _refuse(out, number, verdict)
    title, message = merge_commit_text(number)
    try:
        result = again.merge(merge_method=method, sha=judged_sha, commit_title=title, commit_message=message)
    except GithubException as exc:
        refusal = exc.data.get("message", "") if isinstance(exc.data, dict) else ""
        return _refuse(out, number, Verdict((*verdict.checks, Check("merge", False, f"GitHub refused the merge ({exc.status}): {refusal}"))))
    out.write(f"Merged #{number} as {result.sha}\n")
    return EXIT_MERGED, _summary(number, verdict, f"merged ({result.sha[:12]})")


def run_automerge(
    environ: Mapping[str, str],
    out: TextIO,
    *,
    validator: Validator | None = None,
    github: Github | None = None,
) -> int:
    """Judge the event's pull request and merge it if every check passes; the reasons go to the job summary."""
    try:
        context = ActionsContext.from_environ(environ)
    except ActionsError as exc:
        out.write(f"::error title=auto-merge::{escape_data(str(exc))}\n")
        return EXIT_USAGE
    target = pull_from_event(context.event)
    if target is None:
        out.write("Nothing to merge: the event names no pull request whose validation succeeded.\n")
        context.write_summary("### Auto-merge: nothing to do\n\nThe event names no pull request whose validation succeeded.\n\n")
        return EXIT_MERGED
    number, validated_sha = target
    try:
        moderation = moderation_from(environ.get(MODERATION_VARIABLE))
    except ModerationError as exc:
        out.write(f"::error title=auto-merge::{escape_data(str(exc))}\n")
        context.write_summary(f"### Auto-merge of #{number}: not merged\n\n{exc}\n\n")
        return EXIT_USAGE
    policy = Policy(authors=authors_from(environ.get("RECEIVER_GATE_AUTHORS")), moderation=moderation)
    client = github or Github(auth=Auth.Token(context.token), base_url=context.api_url, retry=None, seconds_between_requests=None, seconds_between_writes=None)
    try:
        repo = client.get_repo(context.repository)
    except GithubException as exc:
        code, summary = _unreadable(out, number, f"pull request #{number}", exc)
    else:
        method = environ.get("RECEIVER_MERGE_METHOD", "squash")
        code, summary = gate_pull(repo, number, validated_sha, policy, validator or Validator(), out, method=method)
    context.write_summary(summary)
    return code
