"""Handlers for pull requests and the issue labels and comments on them.

Each handler links the GitHub REST documentation of the endpoint it models.
Issues that are not pull requests are not modelled: their numbers answer 404.
"""

from __future__ import annotations

from typing import Any

from . import shapes
from .errors import NotFound, Unprocessable
from .routing import Call, Reply

__all__ = [
    "add_labels",
    "create_comment",
    "create_pull",
    "get_pull",
    "list_comments",
    "list_labels",
    "list_pull_files",
    "list_pulls",
    "merge_pull",
    "update_pull",
]


def _number(call: Call) -> int:
    return int(call.params["number"])


def create_pull(call: Call) -> Reply:
    """https://docs.github.com/rest/pulls/pulls#create-a-pull-request"""
    body = call.body()
    title: str = call.field(body, "title", str)
    head: str = call.field(body, "head", str)
    base: str = call.field(body, "base", str)
    text = call.field(body, "body", str, required=False)
    draft = call.field(body, "draft", bool, required=False)
    repo = call.repo()
    pull = call.state.create_pull(repo, call.user, title, head, base, text, draft=bool(draft))
    payload = shapes.pull_request(call.state, repo, pull, call.root)
    return Reply(201, payload, {"location": payload["url"]})


def get_pull(call: Call) -> Reply:
    """https://docs.github.com/rest/pulls/pulls#get-a-pull-request"""
    repo = call.repo()
    pull = call.state.pull(repo, _number(call))
    return Reply(200, shapes.pull_request(call.state, repo, pull, call.root))


def update_pull(call: Call) -> Reply:
    """https://docs.github.com/rest/pulls/pulls#update-a-pull-request (title, body, state)"""
    body = call.body()
    title = call.field(body, "title", str, required=False)
    text = call.field(body, "body", str, required=False)
    state = call.field(body, "state", str, required=False)
    if state is not None and state not in ("open", "closed"):
        raise Unprocessable("Validation Failed", errors=[{"resource": "PullRequest", "field": "state", "code": "invalid"}])
    repo = call.repo()
    pull = call.state.update_pull(repo, _number(call), title=title, body=text, state=state)
    return Reply(200, shapes.pull_request(call.state, repo, pull, call.root))


def list_pulls(call: Call) -> Reply:
    """https://docs.github.com/rest/pulls/pulls#list-pull-requests"""
    repo = call.repo()
    state = call.request.param("state") or "open"
    if state not in ("open", "closed", "all"):
        raise Unprocessable(
            "Validation Failed",
            errors=[{"resource": "PullRequest", "field": "state", "code": "invalid"}],
        )
    pulls = call.state.list_pulls(repo, state, call.request.param("head"), call.request.param("base"))
    return Reply(200, [shapes.pull_request(call.state, repo, p, call.root, full=False) for p in pulls], paginate=True)


def list_pull_files(call: Call) -> Reply:
    """https://docs.github.com/rest/pulls/pulls#list-pull-requests-files

    At most ``GitHubState.caps.pull_files`` files (GitHub: 3000), cut without
    saying so; the pull request's ``changed_files`` still counts them all.
    """
    repo = call.repo()
    pull = call.state.pull(repo, _number(call))
    changes = call.state.pull_changes(repo, pull.number)[: call.state.caps.pull_files]
    files = [shapes.diff_entry(call.state, repo, change, pull.head_sha, call.root) for change in changes]
    return Reply(200, files, paginate=True)


def merge_pull(call: Call) -> Reply:
    """https://docs.github.com/rest/pulls/pulls#merge-a-pull-request"""
    body = call.body()
    method = call.field(body, "merge_method", str, required=False) or "merge"
    sha = call.field(body, "sha", str, required=False)
    title = call.field(body, "commit_title", str, required=False)
    message = call.field(body, "commit_message", str, required=False)
    new_head = call.state.merge_pull(call.repo(), _number(call), call.user, method, sha, title, message)
    return Reply(200, shapes.merge_result(new_head))


def _issue(call: Call) -> Any:
    repo = call.repo()
    pull = repo.pulls.get(_number(call))
    if pull is None:
        raise NotFound()
    return repo, pull


def add_labels(call: Call) -> Reply:
    """https://docs.github.com/rest/issues/labels#add-labels-to-an-issue

    Accepts ``{"labels": [...]}``, a bare list of names, or ``[{"name": ...}]``.
    """
    repo, pull = _issue(call)
    raw = call.json_value()
    if isinstance(raw, dict):
        raw = raw.get("labels")
    if not isinstance(raw, list) or not raw:
        raise Unprocessable(
            'Invalid request.\n\nNo subschema in "anyOf" matched.',
            errors=None,
        )
    names = []
    for item in raw:
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str) or not name.strip():
            raise Unprocessable("Validation Failed", errors=[{"resource": "Label", "field": "name", "code": "invalid"}])
        names.append(name)
    labels = call.state.add_labels(repo, pull.number, names)
    return Reply(200, [shapes.label(repo, item, call.root) for item in labels])


def list_labels(call: Call) -> Reply:
    """https://docs.github.com/rest/issues/labels#list-labels-for-an-issue"""
    repo, pull = _issue(call)
    return Reply(200, [shapes.label(repo, item, call.root) for item in call.state.labels_of(repo, pull)], paginate=True)


def create_comment(call: Call) -> Reply:
    """https://docs.github.com/rest/issues/comments#create-an-issue-comment"""
    repo, pull = _issue(call)
    text: str = call.field(call.body(), "body", str)
    comment = call.state.add_comment(repo, pull.number, call.user, text)
    payload = shapes.comment(call.state, repo, pull.number, comment, call.root)
    return Reply(201, payload, {"location": payload["url"]})


def list_comments(call: Call) -> Reply:
    """https://docs.github.com/rest/issues/comments#list-issue-comments"""
    repo, pull = _issue(call)
    comments = [shapes.comment(call.state, repo, pull.number, c, call.root) for c in pull.comments]
    return Reply(200, comments, paginate=True)
