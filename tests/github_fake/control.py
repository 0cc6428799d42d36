"""Control endpoints under ``/_fake/``: drive and inspect the fake from another process.

Not part of GitHub's API: no auth, no limits, not logged. Routes:

====== ====================== ===================================================
GET    /_fake/state           ``?repo=o/r[&branch=b]``: refs, files (base64), pulls
GET    /_fake/log             every API request answered so far
GET    /_fake/objects         every git object: ``{sha: {type, body (base64)}}``
POST   /_fake/repos           ``{full_name, files?: {path: base64}, default_branch?}``
POST   /_fake/tokens          ``{token, login}``
POST   /_fake/forks           ``{repo, owner}`` -> the fork's full name
POST   /_fake/faults          a ``Fault`` as JSON (see below) -> the fault as made, 201
DELETE /_fake/faults          clear pending faults
POST   /_fake/roles           ``{repo, login, role}``: a collaborator's role (null removes it)
POST   /_fake/protection      ``{repo, branch, contexts}``: required checks (null: unprotected)
POST   /_fake/rulesets        ``{repo, branches, contexts}``: a ruleset requiring checks
POST   /_fake/limits          ``{primary_per_hour?, secondary_per_minute?, secondary_per_hour?}``
GET    /_fake/clock           ``{now, frozen}``
POST   /_fake/clock           ``{advance?: seconds, freeze?: true, follow?: true}`` -> ``{now, frozen}``
====== ====================== ===================================================

A fault posted to ``/_fake/faults`` has the fields of ``faults.Fault``: ``kind``
(``status``, ``body``, ``delay``, ``drop``), when it applies (``method``,
``path`` pattern, ``count`` (null: unlimited), ``start``/``end`` on the fake
clock, ``after``) and what it answers: ``status``; for ``status`` faults
``message``, ``errors``, ``documentation_url``; for ``status`` and ``body``
faults ``headers`` (``{"retry-after": "60"}``); for ``body`` faults ``body``
and ``content_type``; for ``delay`` faults ``delay``. For example::

    {"kind": "status", "status": 422, "message": "Validation Failed",
     "errors": [{"resource": "Commit", "code": "custom", "field": "path", "message": "path is invalid"}]}
    {"kind": "status", "status": 429, "headers": {"retry-after": "60"}, "count": null}
    {"kind": "body", "status": 200, "body": "<html>unicorn</html>"}

An unknown field, a field the kind does not take, or a status outside the
kind's range answers 422 naming the problem.

Unknown control routes answer 404 naming themselves.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .faults import Fault
from .gitobjects import object_type, serialize
from .messages import Request, Response
from .state import PullRequest

if TYPE_CHECKING:
    from .app import FakeGitHub

__all__ = ["handle_control", "pull_summary"]

_Control = Callable[["FakeGitHub", Request, Any], Response]


def _ok(payload: Any, status: int = 200) -> Response:
    return Response.json(status, payload)


def _problem(status: int, message: str) -> Response:
    return Response.json(status, {"message": message})


def pull_summary(pull: PullRequest) -> dict[str, Any]:
    return {
        "number": pull.number,
        "state": pull.state,
        "merged": pull.merged,
        "title": pull.title,
        "user": pull.user,
        "head_repo": pull.head_repo,
        "head_ref": pull.head_ref,
        "head_sha": pull.head_sha,
        "base_ref": pull.base_ref,
        "merge_commit_sha": pull.merge_commit_sha,
        "labels": list(pull.labels),
        "comments": [{"user": c.user, "body": c.body} for c in pull.comments],
    }


def _state(fake: FakeGitHub, request: Request, _body: Any) -> Response:
    full_name = request.param("repo")
    if full_name is None:
        return _problem(422, "state needs ?repo=OWNER/NAME")
    repo = fake.state.repository(full_name)
    files = fake.state.branch_files(full_name, request.param("branch"))
    return _ok(
        {
            "repo": repo.full_name,
            "default_branch": repo.default_branch,
            "parent": repo.parent,
            "refs": dict(repo.refs),
            "files": {path: base64.b64encode(data).decode() for path, data in sorted(files.items())},
            "pulls": [pull_summary(p) for p in fake.state.list_pulls(repo, "all")],
        }
    )


def _log(fake: FakeGitHub, _request: Request, _body: Any) -> Response:
    return _ok([entry.to_json() for entry in fake.log])


def _objects(fake: FakeGitHub, _request: Request, _body: Any) -> Response:
    objects = {}
    for sha, obj in fake.state.objects.items():
        raw = serialize(obj)
        objects[sha] = {"type": object_type(obj), "body": base64.b64encode(raw[raw.index(b"\0") + 1 :]).decode()}
    return _ok(objects)


def _repos(fake: FakeGitHub, _request: Request, body: Any) -> Response:
    files = {path: base64.b64decode(data) for path, data in (body.get("files") or {}).items()} or None
    repo = fake.create_repository(body["full_name"], files, body.get("default_branch", "main"))
    return _ok({"full_name": repo.full_name, "refs": repo.refs}, 201)


def _tokens(fake: FakeGitHub, _request: Request, body: Any) -> Response:
    user = fake.add_token(body["token"], body["login"])
    return _ok({"login": user.login, "id": user.id}, 201)


def _forks(fake: FakeGitHub, _request: Request, body: Any) -> Response:
    fork = fake.fork(body["repo"], body["owner"])
    return _ok({"full_name": fork.full_name, "parent": fork.parent}, 201)


def _roles(fake: FakeGitHub, _request: Request, body: Any) -> Response:
    fake.set_role(body["repo"], body["login"], body["role"])
    return _ok({"repo": body["repo"], "login": body["login"], "role": body["role"]})


def _protection(fake: FakeGitHub, _request: Request, body: Any) -> Response:
    contexts = body["contexts"]
    fake.protect_branch(body["repo"], body["branch"], None if contexts is None else [str(c) for c in contexts])
    return _ok({"repo": body["repo"], "branch": body["branch"], "contexts": contexts})


def _rulesets(fake: FakeGitHub, _request: Request, body: Any) -> Response:
    ruleset = fake.add_ruleset(body["repo"], [str(b) for b in body["branches"]], [str(c) for c in body["contexts"]])
    return _ok({"id": ruleset.id, "branches": list(ruleset.branches), "contexts": list(ruleset.required_checks)}, 201)


def _add_fault(fake: FakeGitHub, _request: Request, body: Any) -> Response:
    fault = fake.add_fault(Fault(**body))
    return _ok(fault.to_json(), 201)


def _clear_faults(fake: FakeGitHub, _request: Request, _body: Any) -> Response:
    fake.faults.clear()
    return Response(204)


def _limits(fake: FakeGitHub, _request: Request, body: Any) -> Response:
    settings = fake.set_limits(**body)
    return _ok(
        {
            "primary_per_hour": settings.primary_per_hour,
            "secondary_per_minute": settings.secondary_per_minute,
            "secondary_per_hour": settings.secondary_per_hour,
        }
    )


def _clock(fake: FakeGitHub, request: Request, body: Any) -> Response:
    """Read the clock; or freeze it, let it follow real time again, and move it ahead (in that order)."""
    if request.method == "POST":
        unknown = set(body) - {"advance", "freeze", "follow"}
        if unknown:
            return _problem(422, f"/_fake/clock takes advance, freeze and follow, not {', '.join(sorted(unknown))}")
        if body.get("freeze"):
            fake.clock.freeze()
        if body.get("follow"):
            fake.clock.follow()
        fake.advance(float(body.get("advance", 0)))
    return _ok({"now": fake.clock.now(), "frozen": fake.clock.frozen})


def _table() -> dict[tuple[str, str], _Control]:
    return {
        ("GET", "/_fake/state"): _state,
        ("GET", "/_fake/log"): _log,
        ("GET", "/_fake/objects"): _objects,
        ("POST", "/_fake/repos"): _repos,
        ("POST", "/_fake/tokens"): _tokens,
        ("POST", "/_fake/forks"): _forks,
        ("POST", "/_fake/roles"): _roles,
        ("POST", "/_fake/protection"): _protection,
        ("POST", "/_fake/rulesets"): _rulesets,
        ("POST", "/_fake/faults"): _add_fault,
        ("DELETE", "/_fake/faults"): _clear_faults,
        ("POST", "/_fake/limits"): _limits,
        ("GET", "/_fake/clock"): _clock,
        ("POST", "/_fake/clock"): _clock,
    }


def handle_control(fake: FakeGitHub, request: Request) -> Response:
    from .errors import ApiError

    handler = _table().get((request.method, request.path.rstrip("/")))
    if handler is None:
        return _problem(404, f"unmodelled control route: {request.method} {request.path}")
    try:
        body = json.loads(request.body) if request.body.strip() else {}
    except ValueError:
        return _problem(400, "Problems parsing JSON")
    try:
        return handler(fake, request, body)
    except (KeyError, TypeError, ValueError) as error:
        return _problem(422, f"bad control request: {error!r}")
    except ApiError as error:
        return Response.json(error.status, error.body())
