"""`receiver doctor`: is the GitHub data repository set up the way this receiver needs it?

Three parts, kept apart (like the validator's loader, checker and reporters):

- `gather` reads the facts through PyGithub with the receiver's own
  credentials: the repository and the identity's permissions on it, the
  workflow and schema files on the default branch, which checks branch
  protection and rulesets require, deleting head branches on merge, Actions'
  default workflow permissions, the gate's author and moderation variables,
  the rate limit.
  Whatever GitHub will not say is kept as `Unread` (status and message),
  never raised.
- `checks` judges those facts against what this version expects
  (`receiver.datarepo.layout`) and the receiver's own moderation setting: one
  `Check` each, with a verdict, what was found and the fix in one sentence.
  It does no I/O.
- `report_text` and `report_json` print them.

It changes nothing on GitHub and sees only what the credentials may read; the
pacing budget the receiver keeps for writes is not visible from outside, so
the primary hourly limit is reported instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO, TypeVar

import requests
from github import Github, GithubException
from github.ContentFile import ContentFile
from github.Repository import Repository

from receiver.datarepo.gate import MODERATION_VARIABLE, ModerationError, moderation_from
from receiver.datarepo.layout import WORKFLOWS, WORKFLOWS_DIR, accepted_workflow, is_commit_id, pinned_checkout
from receiver.stores.github.answers import answer_from
from receiver.stores.github.client import AppCredentials, app_login

__all__ = [
    "CHECK_CONTEXT",
    "GATE_AUTHORS_VARIABLE",
    "LOW_REMAINING",
    "Check",
    "Expected",
    "Facts",
    "RateFacts",
    "RepositoryFacts",
    "Unread",
    "checks",
    "gather",
    "report_json",
    "report_text",
    "run_doctor",
]

#: The status check the validate workflow reports and the default branch must require.
CHECK_CONTEXT = "validate"
#: The repository variable naming the logins whose pull requests the gate may merge.
GATE_AUTHORS_VARIABLE = "RECEIVER_GATE_AUTHORS"
#: Whom the gate trusts when the variable is not set (automerge.yml's default).
DEFAULT_GATE_AUTHORS = "pose-receiver"
#: Fewer requests left this hour than this is worth a warning: a few dozen deliveries' worth.
LOW_REMAINING = 150

T = TypeVar("T")


@dataclass(frozen=True)
class Unread:
    """A fact GitHub would not give: its status (None: no answer at all) and message."""

    status: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.status} {self.message}" if self.status is not None else self.message


@dataclass(frozen=True)
class RepositoryFacts:
    default_branch: str
    branch_exists: bool
    #: The identity's `permissions.push` on the repository; None when GitHub does not say.
    push: bool | None
    delete_branch_on_merge: bool | None


@dataclass(frozen=True)
class RateFacts:
    limit: int
    remaining: int
    reset: int


@dataclass(frozen=True)
class Facts:
    """What GitHub says about the data repository, as the receiver's identity sees it."""

    repository: str
    #: "token" or "app": who the receiver acts as, for the fixes' wording.
    credentials: str
    identity: str | Unread
    repo: RepositoryFacts | Unread
    rate: RateFacts | Unread
    #: Workflow file name -> its bytes on the default branch, None when absent.
    workflows: Mapping[str, bytes | None] | Unread = field(default_factory=dict)
    #: `schemas/*.json` on the default branch by file name (empty when the folder is absent).
    schemas: Mapping[str, bytes] | Unread = field(default_factory=dict)
    #: Checks the branch protection requires; None when the branch is not protected.
    protection_checks: tuple[str, ...] | None | Unread = None
    ruleset_checks: tuple[str, ...] | Unread = ()
    #: Actions' default workflow permissions: "read" or "write".
    workflow_permissions: str | Unread = "read"
    #: The gate's author variable; None when it is not set.
    gate_authors: str | None | Unread = None
    #: The repository's RECEIVER_MODERATION variable; None when it is not set.
    moderation: str | None | Unread = None


@dataclass(frozen=True)
class Expected:
    """What this version of the receiver ships: its workflow files and its schemas, by file name."""

    workflows: Mapping[str, bytes]
    schemas: Mapping[str, bytes]


@dataclass(frozen=True)
class Check:
    """One verdict: what was found (`detail`) and, unless it passed, how to fix it in one sentence."""

    name: str
    passed: bool
    detail: str
    fix: str = ""
    #: Passed, but worth a look (a low rate limit).
    warning: bool = False


# -- gathering (I/O) ---------------------------------------------------------


def _read(action: Callable[[], T]) -> T | Unread:
    """The value, or what GitHub (or the network) answered instead."""
    try:
        return action()
    except GithubException as exc:
        answer = answer_from(exc)
        return Unread(answer.status, answer.message or "no message")
    except requests.exceptions.RequestException as exc:
        return Unread(None, f"GitHub could not be reached ({exc.__class__.__name__})")


def _absent_on_404(action: Callable[[], T]) -> T | None | Unread:
    found = _read(action)
    return None if isinstance(found, Unread) and found.status == 404 else found


def _file(repo: Repository, path: str, ref: str) -> bytes:
    content = repo.get_contents(path, ref=ref)
    if isinstance(content, list):
        raise GithubException(404, {"message": f"{path} is a folder"}, None)
    return content.decoded_content


def _workflow_files(repo: Repository, ref: str) -> dict[str, bytes | None]:
    files: dict[str, bytes | None] = {}
    for name in WORKFLOWS:
        try:
            files[name] = _file(repo, f"{WORKFLOWS_DIR}/{name}", ref)
        except GithubException as exc:
            if exc.status != 404:
                raise
            files[name] = None
    return files


def _schemas(repo: Repository, ref: str) -> dict[str, bytes]:
    listing = repo.get_contents("schemas", ref=ref)
    items: list[ContentFile] = listing if isinstance(listing, list) else [listing]
    return {item.name: _file(repo, item.path, ref) for item in items if item.type == "file" and item.name.endswith(".json")}


def _json(github: Github, path: str) -> Any:
    _headers, data = github.requester.requestJsonAndCheck("GET", path)
    return data


def _required_by_protection(github: Github, full_name: str, branch: str) -> tuple[str, ...]:
    data = _json(github, f"/repos/{full_name}/branches/{branch}/protection")
    required = data.get("required_status_checks") or {}
    named = [*(required.get("contexts") or ()), *(c.get("context") for c in required.get("checks") or ())]
    return tuple(sorted({str(c) for c in named if c}))


def _required_by_rulesets(github: Github, full_name: str, branch: str) -> tuple[str, ...]:
    rules = _json(github, f"/repos/{full_name}/rules/branches/{branch}") or []
    named = {
        str(check.get("context"))
        for rule in rules
        if rule.get("type") == "required_status_checks"
        for check in (rule.get("parameters") or {}).get("required_status_checks") or ()
    }
    return tuple(sorted(named))


def _rate(github: Github) -> RateFacts:
    core = _json(github, "/rate_limit")["resources"]["core"]
    return RateFacts(int(core["limit"]), int(core["remaining"]), int(core["reset"]))


def gather(github: Github, full_name: str, *, credentials: str = "token", identity: str | Unread | None = None) -> Facts:
    """Read every fact `checks` needs; a read GitHub refuses becomes `Unread`, never an exception.

    `identity` names the login when the caller knows it (a GitHub App's
    `NAME[bot]`, from `app_identity`); otherwise it is the login `GET /user` answers.
    """
    who: str | Unread = identity if identity is not None else _read(lambda: github.get_user().login)
    rate = _read(lambda: _rate(github))
    repo = _read(lambda: github.get_repo(full_name))
    if isinstance(repo, Unread):
        return Facts(full_name, credentials, who, repo, rate)
    branch = repo.default_branch
    exists = _absent_on_404(lambda: repo.get_branch(branch))
    permissions = repo.permissions
    about = RepositoryFacts(
        default_branch=branch,
        branch_exists=exists is not None and not isinstance(exists, Unread),
        push=None if permissions is None else bool(permissions.push),
        delete_branch_on_merge=repo.raw_data.get("delete_branch_on_merge"),
    )
    workflows = _read(lambda: _workflow_files(repo, branch))
    schemas = _absent_on_404(lambda: _schemas(repo, branch))
    variable = _absent_on_404(lambda: repo.get_variable(GATE_AUTHORS_VARIABLE).value)
    moderation = _absent_on_404(lambda: repo.get_variable(MODERATION_VARIABLE).value)
    permissions_read = _read(lambda: str(_json(github, f"/repos/{full_name}/actions/permissions/workflow")["default_workflow_permissions"]))
    return Facts(
        repository=full_name,
        credentials=credentials,
        identity=who,
        repo=about,
        rate=rate,
        workflows=workflows,
        schemas={} if schemas is None else schemas,
        protection_checks=_absent_on_404(lambda: _required_by_protection(github, full_name, branch)),
        ruleset_checks=_read(lambda: _required_by_rulesets(github, full_name, branch)),
        workflow_permissions=permissions_read,
        gate_authors=variable,
        moderation=moderation,
    )


# -- judging (pure) ----------------------------------------------------------


def _repository_check(facts: Facts) -> Check:
    who = "the GitHub App" if facts.credentials == "app" else "the token"
    if isinstance(facts.repo, Unread):
        if facts.repo.status == 401:
            return Check("repository", False, f"GitHub refused the credentials: {facts.repo}", "check GITHUB_TOKEN or the GitHub App settings")
        if facts.repo.status is None:
            return Check("repository", False, f"cannot read {facts.repository}: {facts.repo}", "check RECEIVER_GITHUB_API_URL and the network")
        return Check("repository", False, f"{who} cannot read {facts.repository}: {facts.repo}", f"check RECEIVER_GITHUB_REPOSITORY and that {who} has access")
    branch = facts.repo.default_branch
    if not facts.repo.branch_exists:
        return Check("repository", False, f"{facts.repository} has no default branch {branch!r} yet", "push a first commit (for example what `receiver init` writes) to the default branch")
    return Check("repository", True, f"{facts.repository} exists with default branch {branch!r}")


def _write_check(facts: Facts, repo: RepositoryFacts) -> Check:
    who = facts.identity if isinstance(facts.identity, str) else "the receiver's identity"
    if repo.push is None:
        return Check("write access", False, f"GitHub does not say whether {who} can write to {facts.repository}", "give the receiver's token or GitHub App write access to contents and pull requests on the repository")
    if not repo.push:
        return Check("write access", False, f"{who} can only read {facts.repository} (permissions.push is false)", "give the receiver's token or GitHub App write access to contents and pull requests on the repository")
    return Check("write access", True, f"{who} can write contents and pull requests")


def _workflows_check(facts: Facts, repo: RepositoryFacts, expected: Expected) -> Check:
    where = f"{WORKFLOWS_DIR} on {repo.default_branch}"
    fix = "commit this version's workflows to the default branch (`receiver init --force` writes them; or copy this project's .github/workflows)"
    if isinstance(facts.workflows, Unread):
        return Check("workflows", False, f"cannot read {where}: {facts.workflows}", fix)
    problems, kinds, moving = [], set(), []
    for name in WORKFLOWS:
        found = facts.workflows.get(name)
        if found is None:
            problems.append(f"{name} is missing from {where}")
            continue
        kind = accepted_workflow(name, found, repo.default_branch, expected.workflows)
        pinned = pinned_checkout(found)
        if pinned is not None and not is_commit_id(pinned[1]):
            # Whoever can move that tag or branch chooses the code that judges and merges this repository's pull requests.
            problems.append(f"{name} checks out {pinned[0]} at {pinned[1]!r}, a tag or branch that can move, not a commit id")
            moving.append(pinned)
        elif kind is None:
            problems.append(f"{name} differs from this version's")
        else:
            kinds.add(kind)
    if moving:
        receiver_repo, ref = moving[0]
        fix = (
            f"run `receiver init PATH --force --receiver-repo {receiver_repo} --receiver-ref {ref}` in a checkout of the data repository "
            "(it pins the commit that ref names now) and commit its .github/workflows to the default branch"
        )
    if problems:
        return Check("workflows", False, "; ".join(problems), fix)
    return Check("workflows", True, f"{' and '.join(WORKFLOWS)} on {repo.default_branch} are this version's ({', '.join(sorted(kinds))})")


def _required_check(facts: Facts, repo: RepositoryFacts) -> Check:
    branch = repo.default_branch
    sources = []
    if isinstance(facts.protection_checks, tuple) and CHECK_CONTEXT in facts.protection_checks:
        sources.append("branch protection")
    if isinstance(facts.ruleset_checks, tuple) and CHECK_CONTEXT in facts.ruleset_checks:
        sources.append("a ruleset")
    if sources:
        return Check("required check", True, f"{branch} requires the {CHECK_CONTEXT} check ({' and '.join(sources)})")
    fix = f"add branch protection or a ruleset on {branch} that requires the status check {CHECK_CONTEXT!r}"
    unread = [f"{what}: {found}" for what, found in (("protection", facts.protection_checks), ("rulesets", facts.ruleset_checks)) if isinstance(found, Unread)]
    if unread:
        return Check("required check", False, f"cannot tell whether {branch} requires the {CHECK_CONTEXT} check ({'; '.join(unread)})", fix + ", or give the token read access to the repository's administration settings")
    return Check("required check", False, f"{branch} does not require the {CHECK_CONTEXT} check, so a failing validation does not block a merge", fix)


def _delete_branches_check(repo: RepositoryFacts) -> Check:
    fix = "turn on Settings → General → Automatically delete head branches"
    if repo.delete_branch_on_merge is None:
        return Check("delete head branches", False, "GitHub does not say whether merged head branches are deleted", fix)
    if not repo.delete_branch_on_merge:
        return Check("delete head branches", False, "merged annotations/ branches are kept (delete_branch_on_merge is off)", fix)
    return Check("delete head branches", True, "merged head branches are deleted")


def _actions_check(facts: Facts, workflows_ok: bool) -> Check:
    # The merge job declares `contents: write` and `pull-requests: write` itself,
    # and a job's permissions key overrides the repository's default, so the
    # default only matters when the workflows are not this version's.
    setting = facts.workflow_permissions
    if setting == "write":
        return Check("actions permissions", True, "workflows get read and write permissions by default")
    if workflows_ok:
        shown = setting if isinstance(setting, str) else f"unreadable: {setting}"
        return Check("actions permissions", True, f"the merge job declares the write permissions it needs (default workflow permissions: {shown})")
    fix = "use this version's workflows (their merge job declares contents: write and pull-requests: write), or choose Settings → Actions → General → Read and write permissions"
    if isinstance(setting, Unread):
        return Check("actions permissions", False, f"cannot read the default workflow permissions ({setting}) and the workflows are not this version's", fix)
    return Check("actions permissions", False, f"workflows get {setting} permissions by default and the workflows are not this version's", fix)


def _gate_authors_check(facts: Facts) -> Check:
    if isinstance(facts.identity, Unread):
        return Check("gate authors", False, f"cannot tell who the receiver acts as: {facts.identity}", f"set the repository variable {GATE_AUTHORS_VARIABLE} to the receiver's login by hand (a GitHub App: NAME[bot])")
    who = facts.identity
    fix = f"set the repository variable {GATE_AUTHORS_VARIABLE} to {who} (Settings → Secrets and variables → Actions → Variables)"
    if isinstance(facts.gate_authors, Unread):
        return Check("gate authors", False, f"cannot read the variable {GATE_AUTHORS_VARIABLE}: {facts.gate_authors}", fix + ", or give the token read access to variables")
    value = DEFAULT_GATE_AUTHORS if facts.gate_authors is None else facts.gate_authors
    authors = [a.strip() for a in value.split(",") if a.strip()]
    if who in authors:
        return Check("gate authors", True, f"the gate merges pull requests by {who}")
    shown = f"is {facts.gate_authors!r}" if facts.gate_authors is not None else f"is not set (the gate trusts {DEFAULT_GATE_AUTHORS})"
    return Check("gate authors", False, f"{GATE_AUTHORS_VARIABLE} {shown} and does not name {who}, so the gate will not merge the receiver's pull requests", fix)


def _moderation_check(facts: Facts, receiver: str | None) -> Check:
    """Does the repository hold every pull request for review exactly when the receiver asks for review?

    The label the receiver adds in review mode is a later write that can be
    delayed; only the repository variable, set before any pull request, keeps
    the gate from merging in the meantime.
    """
    set_review = f"`gh variable set {MODERATION_VARIABLE} --body review --repo {facts.repository}` (or Settings → Secrets and variables → Actions → Variables)"
    if isinstance(facts.moderation, Unread):
        fix = f"give the token read access to variables, or check by hand that {MODERATION_VARIABLE} is " + ("review: " + set_review if receiver == "review" else "unset or auto")
        return Check("moderation", False, f"cannot read the variable {MODERATION_VARIABLE}: {facts.moderation}", fix)
    try:
        repository = moderation_from(facts.moderation)
    except ModerationError as exc:
        return Check("moderation", False, f"{exc} (the gate stops on it)", f"set it to review ({set_review}) or delete it")
    if receiver == "review" and repository != "review":
        return Check(
            "moderation",
            False,
            f"the receiver asks for review (RECEIVER_MODERATION=review) but the repository variable {MODERATION_VARIABLE} is not review, "
            "so the gate merges a pull request whose needs-review label is written late",
            f"run {set_review} before the receiver opens more pull requests",
        )
    if receiver == "auto" and repository == "review":
        return Check(
            "moderation",
            False,
            f"the repository is in moderation ({MODERATION_VARIABLE}=review) but the receiver runs with RECEIVER_MODERATION=auto and labels nothing, "
            "so the gate merges none of its pull requests and `receiver moderate approve` refuses them unlabelled",
            f"set RECEIVER_MODERATION=review for the receiver, or delete the variable (`gh variable delete {MODERATION_VARIABLE} --repo {facts.repository}`)",
        )
    if repository == "review":
        return Check("moderation", True, f"the repository is in moderation ({MODERATION_VARIABLE}=review): the gate merges nothing, `receiver moderate approve N` merges")
    return Check("moderation", True, f"the gate merges valid receiver pull requests ({MODERATION_VARIABLE} is {'auto' if facts.moderation else 'not set'})")


def _schemas_check(facts: Facts, repo: RepositoryFacts, expected: Expected) -> Check:
    fix = "commit the receiver's schemas/ to the default branch (`receiver init --force` writes them), or run the receiver version those schemas belong to"
    if isinstance(facts.schemas, Unread):
        return Check("schemas", False, f"cannot read schemas/ on {repo.default_branch}: {facts.schemas}", fix)
    missing = sorted(set(expected.schemas) - set(facts.schemas))
    extra = sorted(set(facts.schemas) - set(expected.schemas))
    different = sorted(name for name in set(expected.schemas) & set(facts.schemas) if expected.schemas[name] != facts.schemas[name])
    problems = [f"{label}: {', '.join(names)}" for label, names in (("missing", missing), ("different", different), ("not the receiver's", extra)) if names]
    if problems:
        return Check("schemas", False, f"schemas/ on {repo.default_branch} differs from the receiver's ({'; '.join(problems)})", fix)
    return Check("schemas", True, f"schemas/ on {repo.default_branch} matches the receiver's {len(expected.schemas)} file(s)")


def _rate_check(facts: Facts) -> Check:
    if isinstance(facts.rate, Unread):
        return Check("rate limit", False, f"cannot read the rate limit: {facts.rate}", "check the credentials and RECEIVER_GITHUB_API_URL")
    rate = facts.rate
    detail = f"{rate.remaining} of {rate.limit} requests left this hour (the receiver's own write pacing is not visible from outside)"
    if rate.remaining < LOW_REMAINING:
        return Check("rate limit", True, detail, "deliveries will wait for the hourly reset; stop other tools using the same identity or use a GitHub App", warning=True)
    return Check("rate limit", True, detail)


def checks(facts: Facts, expected: Expected, *, moderation: str | None = None) -> list[Check]:
    """Every check over the facts; when the repository cannot be read, only what can still be judged.

    `moderation` is the receiver's own RECEIVER_MODERATION (None when unknown: the repository's is then reported, not compared).
    """
    first = _repository_check(facts)
    if isinstance(facts.repo, Unread) or not facts.repo.branch_exists:
        return [first, _rate_check(facts)]
    repo = facts.repo
    workflows = _workflows_check(facts, repo, expected)
    return [
        first,
        _write_check(facts, repo),
        workflows,
        _required_check(facts, repo),
        _delete_branches_check(repo),
        _actions_check(facts, workflows.passed),
        _gate_authors_check(facts),
        _moderation_check(facts, moderation),
        _schemas_check(facts, repo, expected),
        _rate_check(facts),
    ]


# -- reporting ---------------------------------------------------------------


def report_text(found: Sequence[Check], out: TextIO) -> bool:
    """One line per check (verdict, name, what was found, the fix); True when all passed."""
    for check in found:
        mark = "WARN" if check.warning else "PASS" if check.passed else "FAIL"
        fix = f"; {check.fix}" if check.fix and (check.warning or not check.passed) else ""
        out.write(f"{mark} {check.name}: {check.detail}{fix}\n")
    passed = sum(1 for check in found if check.passed)
    out.write(f"{passed} of {len(found)} checks pass\n")
    return passed == len(found)


def report_json(found: Sequence[Check], out: TextIO, repository: str) -> bool:
    """The checks as one JSON document; True when all passed."""
    ok = all(check.passed for check in found)
    json.dump({"repository": repository, "passed": ok, "checks": [asdict(check) for check in found]}, out, indent=2)
    out.write("\n")
    return ok


def app_identity(api_url: str, app: AppCredentials) -> str | Unread:
    """A GitHub App's bot login (`<slug>[bot]`), asked with the app's own JWT; or what GitHub answered instead."""
    return _read(lambda: app_login(api_url, app))


def run_doctor(
    github: Github,
    full_name: str,
    out: TextIO,
    *,
    output: str = "text",
    credentials: str = "token",
    identity: str | Unread | None = None,
    moderation: str | None = None,
) -> int:
    """Gather, judge against this version's files and the receiver's `moderation`, report; 0 when every check passes, else 1."""
    from receiver.datarepo.layout import schema_files, shipped_workflows

    facts = gather(github, full_name, credentials=credentials, identity=identity)
    found = checks(facts, Expected(shipped_workflows(), schema_files()), moderation=moderation)
    ok = report_json(found, out, full_name) if output == "json" else report_text(found, out)
    return 0 if ok else 1
