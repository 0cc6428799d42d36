"""Run the auto-merge gate in a workflow: gather the pull request's facts through the API, judge, merge.

Runs from a trusted checkout of the base branch (a `workflow_run` job after
validation has completed, never the PR's code). Every fact about files is
read at the validated SHA, never at "the head now": the file list is the
comparison of the base branch with that SHA, modes come from its git tree,
contents from the blobs that tree names, checked with this checkout's
validator. Right before merging the pull request is read again; its head
must still be the validated SHA, and the merge carries that SHA as its
precondition, so a head that moves in between is refused by GitHub itself.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from github import Auth, Github, GithubException

from receiver.contract import records
from receiver.contract.parsing import MAX_DOCUMENT_BYTES, ParseError, parse_json
from receiver.contract.validation import Problem, Validator
from receiver.datarepo.actions import ActionsContext, ActionsError, escape_data, escape_property
from receiver.datarepo.gate import (
    MODE_FILE,
    ChangedFile,
    Check,
    Policy,
    PullFacts,
    RecordCheck,
    Verdict,
    is_annotation,
    judge,
)

__all__ = ["run_automerge", "pull_from_event"]

EXIT_MERGED, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2

#: A git tree entry as the gate needs it: (mode, type, object id, size in bytes or None).
_Entry = tuple[str, str, str, int | None]


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

    def __init__(self, repo: Any, commit_sha: str) -> None:
        self._repo = repo
        self._commit_sha = commit_sha
        self._folders: dict[str, dict[str, _Entry] | None] = {}

    def _folder(self, path: str) -> dict[str, _Entry] | None:
        if path not in self._folders:
            if not path:
                tree = self._repo.get_git_tree(self._commit_sha)
            else:
                parent, _, name = path.rpartition("/")
                entry = (self._folder(parent) or {}).get(name)
                tree = self._repo.get_git_tree(entry[2]) if entry is not None and entry[1] == "tree" else None
            self._folders[path] = None if tree is None else {e.path: (e.mode, e.type, e.sha, e.size) for e in tree.tree}
        return self._folders[path]

    def entry(self, path: str) -> _Entry | None:
        folder, _, name = path.rpartition("/")
        return (self._folder(folder) or {}).get(name)


def _read_record(repo: Any, path: str, entry: _Entry, validator: Validator) -> RecordCheck:
    """Check one added file as a stored record, reading the blob the validated tree names."""
    _mode, _type, sha, size = entry
    if size is not None and size > MAX_DOCUMENT_BYTES:
        return RecordCheck((Problem("", f"is {size} bytes; a stored record is at most {MAX_DOCUMENT_BYTES}"),))
    blob = repo.get_git_blob(sha)
    try:
        data = base64.b64decode(blob.content) if blob.encoding == "base64" else str(blob.content).encode()
        document = parse_json(data)
    except (binascii.Error, ParseError) as exc:
        return RecordCheck((Problem("", str(exc)),))
    # A stored record, never a bare submission: check_stored demands the receipt.
    found = tuple(validator.check_stored(document, filename=path))
    if found:
        return RecordCheck(found)
    return RecordCheck((), records.record_path(document["receipt"]["id"], document["submission"]["video_url"]))


def _with_modes(files: Iterable[ChangedFile], tree: _Tree) -> tuple[ChangedFile, ...]:
    judged = []
    for changed in files:
        entry = None if changed.status == "removed" else tree.entry(changed.filename)
        judged.append(dataclasses.replace(changed, mode=None if entry is None else entry[0]))
    return tuple(judged)


def _check_records(repo: Any, files: Iterable[ChangedFile], tree: _Tree, policy: Policy, validator: Validator, out: TextIO) -> dict[str, RecordCheck]:
    checked: dict[str, RecordCheck] = {}
    for changed in files:
        if not is_annotation(changed, policy):
            continue
        entry = tree.entry(changed.filename)
        if entry is None or entry[0] != MODE_FILE:
            continue  # the modes check refuses it; its content is not read
        result = _read_record(repo, changed.filename, entry, validator)
        checked[changed.filename] = result
        for problem in result.problems:
            title = escape_property(f"Invalid annotation {problem.pointer or '/'}")
            out.write(f"::error file={escape_property(changed.filename)},title={title}::{escape_data(str(problem))}\n")
    return checked


def _labels(pull: Any) -> tuple[str, ...]:
    return tuple(label.name for label in pull.labels)


def _refuse(context: ActionsContext, out: TextIO, number: int, verdict: Verdict) -> int:
    out.write(f"Not merging #{number}: {'; '.join(verdict.refusals)}\n")
    context.write_summary(_summary(number, verdict, "not merged"))
    return EXIT_REFUSED


def _unreadable(context: ActionsContext, out: TextIO, number: int, what: str, exc: GithubException) -> int:
    message = exc.data.get("message", "") if isinstance(exc.data, dict) else ""
    reason = f"GitHub answered {exc.status} while reading {what}: {message}".rstrip(": ")
    return _refuse(context, out, number, Verdict((Check("read", False, reason),)))


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
    authors = tuple(a.strip() for a in environ.get("RECEIVER_GATE_AUTHORS", "pose-receiver").split(",") if a.strip())
    policy = Policy(authors=authors)
    client = github or Github(auth=Auth.Token(context.token), base_url=context.api_url, retry=None, seconds_between_requests=None, seconds_between_writes=None)
    try:
        repo = client.get_repo(context.repository)
        pull = repo.get_pull(number)
    except GithubException as exc:
        return _unreadable(context, out, number, f"pull request #{number}", exc)
    try:
        comparison = repo.compare(pull.base.ref, validated_sha)
        tree = _Tree(repo, validated_sha)
        files = _with_modes((ChangedFile(f.filename, f.status, previous_filename=f.previous_filename) for f in comparison.files or ()), tree)
        checked = _check_records(repo, files, tree, policy, validator or Validator(), out)
    except GithubException as exc:
        return _unreadable(context, out, number, f"the files of {validated_sha[:12]}", exc)
    facts = PullFacts(
        number=number,
        state=pull.state,
        base_repo=pull.base.repo.full_name,
        base_ref=pull.base.ref,
        default_branch=repo.default_branch,
        head_repo=pull.head.repo.full_name if pull.head.repo is not None else "(deleted fork)",
        head_ref=pull.head.ref,
        head_sha=pull.head.sha,
        author=pull.user.login,
        labels=_labels(pull),
        changed_files=pull.changed_files,
        files=files,
        validated_sha=validated_sha,
    )
    verdict = judge(facts, policy, checked)
    if not verdict.merge:
        return _refuse(context, out, number, verdict)
    # Read it again right before merging: a head moved, a label added or a
    # close during the reads above is refused here, not merged.
    try:
        again = repo.get_pull(number)
    except GithubException as exc:
        return _unreadable(context, out, number, f"pull request #{number} again", exc)
    now = dataclasses.replace(facts, state=again.state, head_sha=again.head.sha, labels=_labels(again), changed_files=again.changed_files)
    verdict = judge(now, policy, checked)
    if not verdict.merge:
        return _refuse(context, out, number, verdict)
    method = environ.get("RECEIVER_MERGE_METHOD", "squash")
    try:
        result = again.merge(merge_method=method, sha=validated_sha)
    except GithubException as exc:
        message = exc.data.get("message", "") if isinstance(exc.data, dict) else ""
        return _refuse(context, out, number, Verdict((*verdict.checks, Check("merge", False, f"GitHub refused the merge ({exc.status}): {message}"))))
    out.write(f"Merged #{number} as {result.sha}\n")
    context.write_summary(_summary(number, verdict, f"merged ({result.sha[:12]})"))
    return EXIT_MERGED
