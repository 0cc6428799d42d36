"""Handlers for repositories, branches and the contents API.

Each handler links the GitHub REST documentation of the endpoint it models.
"""

from __future__ import annotations

from . import shapes
from .api_git import _identity
from .errors import NotFound, Unprocessable
from .refnames import path_problem
from .routing import Call, Reply
from .state import decode_base64

__all__ = ["get_branch", "get_contents", "get_repository", "put_contents"]


def get_repository(call: Call) -> Reply:
    """https://docs.github.com/rest/repos/repos#get-a-repository"""
    return Reply(200, shapes.repository(call.state, call.repo(), call.root, call.user))


def get_branch(call: Call) -> Reply:
    """https://docs.github.com/rest/branches/branches#get-a-branch"""
    repo = call.repo()
    name = call.params["branch"]
    sha = call.state.branch_head(repo, name)
    return Reply(200, shapes.branch(call.state, repo, name, sha, call.root))


def get_contents(call: Call) -> Reply:
    """https://docs.github.com/rest/repos/contents#get-repository-content

    Answers the JSON forms only (files as base64, directories as lists);
    raw and HTML media types are not modelled.
    """
    repo = call.repo()
    path = call.params.get("path", "").strip("/")
    ref = call.request.param("ref")
    kind, found = call.state.read_path(repo, path, ref)
    ref_name = ref or repo.default_branch
    if kind == "dir":
        assert isinstance(found, list)
        return Reply(200, shapes.directory(call.state, repo, path, found, ref_name, call.root))
    assert isinstance(found, str)
    blob = call.state.objects.blob(found)
    if blob is None:
        raise NotFound()
    return Reply(200, shapes.content_file(repo, path, found, blob.data, ref_name, call.root))


def put_contents(call: Call) -> Reply:
    """https://docs.github.com/rest/repos/contents#create-or-update-file-contents"""
    repo = call.repo()
    path = call.params["path"]
    body = call.body()
    message: str = call.field(body, "message", str)
    content_text: str = call.field(body, "content", str)
    branch = call.field(body, "branch", str, required=False)
    sha = call.field(body, "sha", str, required=False)
    problem = path_problem(path)
    if problem is not None:
        raise Unprocessable(f"path {problem}")
    content = decode_base64(content_text)
    if content is None:
        raise Unprocessable("content is not valid Base64")
    author = _identity(call, body, "author")
    committer = _identity(call, body, "committer")
    created, blob_sha, commit_sha = call.state.put_file(
        repo, call.user, path, content, message, branch, sha, author, committer
    )
    commit = call.state.objects.commit(commit_sha)
    assert commit is not None
    payload = shapes.file_commit(
        repo, path, blob_sha, len(content), branch or repo.default_branch, commit_sha, commit, call.root
    )
    return Reply(201 if created else 200, payload)
