"""Every JSON body the fake returns validates against GitHub's OpenAPI description.

githubkit's pydantic models are generated from github/rest-api-description;
each modelled route has a case here, and a test checks no route is left out.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.github_fake import FakeGitHub
from tests.github_fake.routes import api_routes

from .conftest import REPO, Api, ModelCheck

R = f"/repos/{REPO}"


@pytest.fixture
def world(fake: FakeGitHub, api: Api) -> dict[str, str]:
    """A branch with a file, an open PR #1 with a label and a comment; returns useful ids."""
    head = fake.refs(REPO)["refs/heads/main"]
    api.ok("POST", f"{R}/git/refs", {"ref": "refs/heads/topic", "sha": head})
    content = base64.b64encode(b"hello\n").decode()
    put = api.ok("PUT", f"{R}/contents/docs/hello.txt", {"message": "hello", "content": content, "branch": "topic"})
    api.ok("POST", f"{R}/pulls", {"title": "Hello", "head": "topic", "base": "main"})
    api.ok("POST", f"{R}/issues/1/labels", {"labels": ["x"]})
    api.ok("POST", f"{R}/issues/1/comments", {"body": "hi"})
    fake.protect_branch(REPO, "main", ["validate"])
    fake.add_ruleset(REPO, ["~DEFAULT_BRANCH"], ["validate"])
    api.ok("POST", f"{R}/actions/variables", {"name": "GATE", "value": "pose-receiver"})
    commit = put["commit"]
    return {"main": head, "commit": commit["sha"], "tree": commit["tree"]["sha"], "blob": put["content"]["sha"]}


# (method, path template, JSON body template, expected status, githubkit model)
CASES: list[tuple[str, str, Any, int, str]] = [
    ("GET", R, None, 200, "FullRepository"),
    ("GET", f"{R}/branches/main", None, 200, "BranchWithProtection"),
    ("GET", f"{R}/contents/docs/hello.txt?ref=topic", None, 200, "ContentFile"),
    ("GET", f"{R}/contents/docs?ref=topic", None, 200, "ContentDirectoryItems"),
    ("GET", f"{R}/contents/", None, 200, "ContentDirectoryItems"),
    ("PUT", f"{R}/contents/new.txt", {"message": "m", "content": "eA==", "branch": "topic"}, 201, "FileCommit"),
    ("GET", f"{R}/compare/main...topic", None, 200, "CommitComparison"),
    ("GET", f"{R}/git/ref/heads/main", None, 200, "GitRef"),
    ("GET", f"{R}/git/matching-refs/heads/", None, 200, "GitRef"),
    ("GET", f"{R}/git/refs", None, 200, "GitRef"),
    ("GET", f"{R}/git/refs/heads/topic", None, 200, "GitRef"),
    ("POST", f"{R}/git/refs", {"ref": "refs/heads/other", "sha": "{main}"}, 201, "GitRef"),
    ("PATCH", f"{R}/git/refs/heads/topic", {"sha": "{main}", "force": True}, 200, "GitRef"),
    ("DELETE", f"{R}/git/refs/heads/topic", None, 204, ""),
    ("POST", f"{R}/git/blobs", {"content": "aGk=", "encoding": "base64"}, 201, "ShortBlob"),
    ("GET", f"{R}/git/blobs/{{blob}}", None, 200, "Blob"),
    (
        "POST",
        f"{R}/git/trees",
        {"tree": [{"path": "a/b", "mode": "100644", "type": "blob", "content": "x"}]},
        201,
        "GitTree",
    ),
    ("GET", f"{R}/git/trees/{{tree}}?recursive=1", None, 200, "GitTree"),
    ("POST", f"{R}/git/commits", {"message": "m", "tree": "{tree}", "parents": ["{main}"]}, 201, "GitCommit"),
    ("GET", f"{R}/git/commits/{{commit}}", None, 200, "GitCommit"),
    ("POST", f"{R}/pulls", {"title": "t", "head": "topic", "base": "main"}, 422, "ValidationError"),
    ("GET", f"{R}/pulls?state=all&head=owner:topic", None, 200, "PullRequestSimple"),
    ("GET", f"{R}/pulls/1", None, 200, "PullRequest"),
    ("PATCH", f"{R}/pulls/1", {"state": "closed"}, 200, "PullRequest"),
    ("GET", f"{R}/pulls/1/files", None, 200, "DiffEntry"),
    ("PUT", f"{R}/pulls/1/merge", {"merge_method": "squash"}, 200, "PullRequestMergeResult"),
    ("POST", f"{R}/issues/1/labels", {"labels": ["y"]}, 200, "Label"),
    ("GET", f"{R}/issues/1/labels", None, 200, "Label"),
    ("POST", f"{R}/issues/1/comments", {"body": "more"}, 201, "IssueComment"),
    ("GET", f"{R}/issues/1/comments", None, 200, "IssueComment"),
    ("GET", "/user", None, 200, "PrivateUser"),
    ("GET", "/rate_limit", None, 200, "RateLimitOverview"),
    ("PATCH", R, {"delete_branch_on_merge": True}, 200, "FullRepository"),
    ("GET", f"{R}/branches/main/protection", None, 200, "BranchProtection"),
    ("GET", f"{R}/branches/topic/protection", None, 404, "BasicError"),
    ("GET", f"{R}/rules/branches/main", None, 200, "RepositoryRuleDetailedOneof8"),
    ("GET", f"{R}/actions/permissions/workflow", None, 200, "ActionsGetDefaultWorkflowPermissions"),
    ("PUT", f"{R}/actions/permissions/workflow", {"default_workflow_permissions": "write"}, 204, ""),
    ("GET", f"{R}/actions/variables/GATE", None, 200, "ActionsVariable"),
    ("POST", f"{R}/actions/variables", {"name": "OTHER", "value": "x"}, 201, "EmptyObject"),
    ("PATCH", f"{R}/actions/variables/GATE", {"value": "pose-receiver,app[bot]"}, 204, ""),
    ("GET", f"{R}/pulls/9", None, 404, "BasicError"),
    ("POST", "/app/installations/1/access_tokens", None, 401, "BasicError"),
    ("GET", "/app", None, 401, "BasicError"),
    ("PUT", f"{R}/contents/docs/hello.txt", {"message": "m", "content": "eA==", "branch": "topic"}, 422, "BasicError"),
]


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids) if "{" in value and "}" in value and "{+" not in value else value
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("method", "path", "body", "status", "model"), CASES, ids=[f"{c[0]} {c[1]}" for c in CASES])
def test_body_validates_against_openapi_model(
    world: dict[str, str], api: Api, schema: ModelCheck, method: str, path: str, body: Any, status: int, model: str
) -> None:
    """The answer has the expected status and a body that validates against GitHub's schema."""
    response = api(method, _fill(path, world), json=_fill(body, world))
    assert response.status_code == status, response.text
    if model:
        schema(model, response.json())
    else:
        assert response.content == b""


def test_every_route_has_a_schema_case() -> None:
    """No modelled route goes without a schema check."""
    covered = set()
    for method, path, *_ in CASES:
        for route in api_routes():
            if route.match(method, path.split("?")[0].replace("{", "").replace("}", "")) is not None:
                covered.add((route.method, route.pattern))
                break
    assert {(r.method, r.pattern) for r in api_routes()} == covered


def test_schema_check_rejects_a_wrong_shape(schema: ModelCheck) -> None:
    """The check has teeth: a ref without its object fails validation."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        schema("GitRef", {"ref": "refs/heads/main", "node_id": "x", "url": "u"})


def test_the_authenticated_app_validates_against_openapi_model(fake: FakeGitHub, api: Api, schema: ModelCheck) -> None:
    """GET /app with the app's own JWT: the app, its slug the login of its installations without "[bot]"."""
    import time

    import jwt

    from tests.stores.test_github_app import pem_pair

    private, public = pem_pair()
    fake.add_app(7, public, 70, "my-app[bot]")
    now = int(time.time())
    token = jwt.encode({"iat": now - 60, "exp": now + 540, "iss": "7"}, private, algorithm="RS256")
    response = api.session.get(f"{api.base_url}/app", headers={"authorization": f"Bearer {token}", "accept": "application/vnd.github+json"})
    assert response.status_code == 200, response.text
    assert response.json()["slug"] == "my-app"
    schema("Integration", response.json())
