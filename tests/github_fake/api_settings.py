"""Handlers for the repository settings a data repository's maintainer makes, and the authenticated user.

What the receiver's `doctor` reads: the authenticated user and the rate
limit, branch protection and the rules that apply to a branch, deleting head
branches on merge, Actions' default workflow permissions and variables. Each
handler links the GitHub REST documentation of the endpoint it models.
Protection and rulesets are set through ``FakeGitHub`` or ``/_fake/``
(``protect_branch``, ``add_ruleset``); the rest also through the API.
"""

from __future__ import annotations

from . import shapes
from .errors import Forbidden, NotFound, Unmodelled, Unprocessable
from .routing import Call, Reply

__all__ = [
    "create_variable",
    "get_authenticated_user",
    "get_branch_protection",
    "get_branch_rules",
    "get_rate_limit",
    "get_variable",
    "get_workflow_permissions",
    "set_workflow_permissions",
    "update_repository",
    "update_variable",
]

_INTEGRATION = "Resource not accessible by integration"


def get_authenticated_user(call: Call) -> Reply:
    """https://docs.github.com/rest/users/users#get-the-authenticated-user

    An app installation's token is no user: GitHub answers 403.
    """
    if call.state.is_installation(call.user):
        raise Forbidden(_INTEGRATION, documentation_url="https://docs.github.com/rest/users/users#get-the-authenticated-user")
    return Reply(200, shapes.private_user(call.state, call.user, call.root))


def get_rate_limit(call: Call) -> Reply:
    """https://docs.github.com/rest/rate-limit/rate-limit#get-rate-limit-status-for-the-authenticated-user

    "Accessing this endpoint does not count against your REST API rate limit": its route is not counted.
    """
    verdict = call.primary
    assert verdict is not None, "the dispatcher passes the caller's primary limit"
    return Reply(200, shapes.rate_limit(verdict.limit, verdict.remaining, verdict.used, verdict.reset))


def update_repository(call: Call) -> Reply:
    """https://docs.github.com/rest/repos/repos#update-a-repository

    Only ``delete_branch_on_merge`` is modelled; any other field answers 501 so a test cannot rely on it silently.
    """
    repo = call.repo()
    if call.state.role(repo, call.user) != "admin":
        raise Forbidden("Must have admin rights to Repository.", documentation_url="https://docs.github.com/rest/repos/repos#update-a-repository")
    body = call.body()
    unmodelled = sorted(set(body) - {"delete_branch_on_merge"})
    if unmodelled:
        raise Unmodelled(f"the fake does not model updating {', '.join(unmodelled)}")
    value = call.field(body, "delete_branch_on_merge", bool, required=False)
    if value is not None:
        repo.settings.delete_branch_on_merge = value
    return Reply(200, shapes.repository(call.state, repo, call.root, call.user))


def get_branch_protection(call: Call) -> Reply:
    """https://docs.github.com/rest/branches/branch-protection#get-branch-protection"""
    repo = call.repo()
    branch = call.params["branch"]
    call.state.branch_head(repo, branch)
    contexts = repo.settings.protection.get(branch)
    if contexts is None:
        raise NotFound("Branch not protected", documentation_url="https://docs.github.com/rest/branches/branch-protection#get-branch-protection")
    return Reply(200, shapes.branch_protection(repo, branch, contexts, call.root))


def get_branch_rules(call: Call) -> Reply:
    """https://docs.github.com/rest/repos/rules#get-rules-for-a-branch

    "The branch does not need to exist"; a ruleset naming ``~DEFAULT_BRANCH`` targets the default branch.
    """
    repo = call.repo()
    branch = call.params["branch"]
    names = {branch, "~DEFAULT_BRANCH"} if branch == repo.default_branch else {branch}
    applying = [r for r in repo.settings.rulesets if names & set(r.branches)]
    return Reply(200, shapes.branch_rules(repo, applying), paginate=True)


def get_workflow_permissions(call: Call) -> Reply:
    """https://docs.github.com/rest/actions/permissions#get-default-workflow-permissions-for-a-repository"""
    return Reply(200, shapes.workflow_permissions(call.repo()))


def set_workflow_permissions(call: Call) -> Reply:
    """https://docs.github.com/rest/actions/permissions#set-default-workflow-permissions-for-a-repository"""
    repo = call.repo()
    body = call.body()
    default = call.field(body, "default_workflow_permissions", str, required=False)
    approve = call.field(body, "can_approve_pull_request_reviews", bool, required=False)
    if default is not None:
        if default not in ("read", "write"):
            raise Unprocessable(f"Invalid request.\n\n{default!r} is not a member of ['read', 'write'].")
        repo.settings.default_workflow_permissions = default
    if approve is not None:
        repo.settings.can_approve_pull_request_reviews = approve
    return Reply(204)


def get_variable(call: Call) -> Reply:
    """https://docs.github.com/rest/actions/variables#get-a-repository-variable"""
    return Reply(200, shapes.variable(call.state.variable(call.repo(), call.params["name"])))


def create_variable(call: Call) -> Reply:
    """https://docs.github.com/rest/actions/variables#create-a-repository-variable (201 with an empty object)"""
    body = call.body()
    name: str = call.field(body, "name", str)
    value: str = call.field(body, "value", str)
    call.state.set_variable(call.repo(), name, value, create=True)
    return Reply(201, {})


def update_variable(call: Call) -> Reply:
    """https://docs.github.com/rest/actions/variables#update-a-repository-variable (204; renaming is not modelled)"""
    body = call.body()
    value: str = call.field(body, "value", str)
    renamed = call.field(body, "name", str, required=False)
    if renamed is not None and renamed.upper() != call.params["name"].upper():
        raise Unmodelled("the fake does not model renaming a variable")
    call.state.set_variable(call.repo(), call.params["name"], value, create=False)
    return Reply(204)
