"""Run the auto-merge gate in a workflow: gather the pull request's facts through the API, judge, merge.

Runs from a trusted checkout of the base branch (a `workflow_run` job after
validation has completed, never the PR's code). Files are read from the
validated head SHA through the contents API and checked with this checkout's
validator; the merge carries that SHA as its precondition, so a head that
moved after validation is refused by GitHub itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TextIO

from github import Auth, Github, GithubException

from receiver.actions import ActionsContext, ActionsError
from receiver.gate import (
    ChangedFile,
    Check,
    Policy,
    PullFacts,
    Verdict,
    is_annotation,
    judge,
)
from receiver.parsing import ParseError, parse_json
from receiver.reporting import escape_data, escape_property
from receiver.validation import Problem, Validator

__all__ = ["run_automerge", "pull_from_event"]

EXIT_MERGED, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


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
        reason = check.reason.replace("|", "\\|")
        lines.append(f"| {check.name} | {'✅' if check.passed else '❌'} | {reason} |")
    return "\n".join(lines) + "\n\n"


def _validate_files(repo: Any, files: list[ChangedFile], sha: str, policy: Policy, validator: Validator, out: TextIO) -> dict[str, list[Problem]]:
    problems: dict[str, list[Problem]] = {}
    for changed in files:
        if not is_annotation(changed, policy):
            continue
        try:
            content = repo.get_contents(changed.filename, ref=sha)
            found = validator.check_document(parse_json(content.decoded_content), filename=changed.filename)
        except ParseError as exc:
            found = [Problem("", str(exc))]
        except GithubException as exc:
            found = [Problem("", f"cannot be read at the validated commit {sha[:12]} (GitHub answered {exc.status})")]
        problems[changed.filename] = found
        for problem in found:
            title = escape_property(f"Invalid annotation {problem.pointer or '/'}")
            out.write(f"::error file={escape_property(changed.filename)},title={title}::{escape_data(str(problem))}\n")
    return problems


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
    repo = client.get_repo(context.repository)
    pull = repo.get_pull(number)
    files = [ChangedFile(f.filename, f.status, f.previous_filename) for f in pull.get_files()]
    problems = _validate_files(repo, files, validated_sha, policy, validator or Validator(), out)
    facts = PullFacts(
        number=number,
        state=pull.state,
        base_repo=pull.base.repo.full_name,
        head_repo=pull.head.repo.full_name if pull.head.repo is not None else "(deleted fork)",
        head_ref=pull.head.ref,
        head_sha=pull.head.sha,
        author=pull.user.login,
        files=tuple(files),
        validated_sha=validated_sha,
    )
    verdict = judge(facts, policy, problems)
    if not verdict.merge:
        out.write(f"Not merging #{number}: {'; '.join(verdict.refusals)}\n")
        context.write_summary(_summary(number, verdict, "not merged"))
        return EXIT_REFUSED
    method = environ.get("RECEIVER_MERGE_METHOD", "squash")
    try:
        result = pull.merge(merge_method=method, sha=validated_sha)
    except GithubException as exc:
        message = exc.data.get("message", "") if isinstance(exc.data, dict) else ""
        refused = Verdict((*verdict.checks, Check("merge", False, f"GitHub refused the merge ({exc.status}): {message}")))
        out.write(f"Not merging #{number}: GitHub refused ({exc.status}): {message}\n")
        context.write_summary(_summary(number, refused, "not merged"))
        return EXIT_REFUSED
    out.write(f"Merged #{number} as {result.sha}\n")
    context.write_summary(_summary(number, verdict, f"merged ({result.sha[:12]})"))
    return EXIT_MERGED
