"""Handlers for the Git database API: refs, blobs, trees, commits.

Each handler links the GitHub REST documentation of the endpoint it models.
Handlers decode input, call the model (``state.py``) and render with
``shapes.py``; they hold no state.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import shapes
from .errors import NotFound, Unprocessable
from .gitobjects import MODE_TREE, entry_type, object_type
from .routing import Call, Reply
from .state import TreeInput, decode_base64

__all__ = [
    "create_blob",
    "create_commit",
    "create_ref",
    "create_tree",
    "delete_ref",
    "get_blob",
    "get_commit",
    "get_ref",
    "get_tree",
    "list_matching_refs",
    "list_refs",
    "update_ref",
]


def _ref_json(call: Call, name: str, sha: str) -> dict[str, Any]:
    obj = call.state.objects.get(sha)
    kind = object_type(obj) if obj is not None else "commit"
    return shapes.ref(call.repo(), name, sha, kind, call.root)


def get_ref(call: Call) -> Reply:
    """https://docs.github.com/rest/git/refs#get-a-reference"""
    name, sha = call.state.get_ref(call.repo(), call.params["ref"])
    return Reply(200, _ref_json(call, name, sha))


def list_matching_refs(call: Call) -> Reply:
    """https://docs.github.com/rest/git/refs#list-matching-references"""
    found = call.state.matching_refs(call.repo(), call.params["ref"])
    return Reply(200, [_ref_json(call, name, sha) for name, sha in found], paginate=True)


def list_refs(call: Call) -> Reply:
    """``GET /repos/{o}/{r}/git/refs[/{prefix}]``, the older form of the two above.

    An exact match answers the single ref; a prefix answers a list; nothing is 404.
    https://docs.github.com/rest/git/refs#list-matching-references
    """
    repo = call.repo()
    prefix = call.params.get("ref") or ""
    if prefix and f"refs/{prefix}" in repo.refs:
        name, sha = call.state.get_ref(repo, prefix)
        return Reply(200, _ref_json(call, name, sha))
    found = call.state.matching_refs(repo, f"{prefix}/" if prefix else "")
    if not found:
        raise NotFound()
    return Reply(200, [_ref_json(call, name, sha) for name, sha in found], paginate=True)


def _sha(call: Call, body: dict[str, Any]) -> str:
    sha: str = call.field(body, "sha", str)
    return sha


def create_ref(call: Call) -> Reply:
    """https://docs.github.com/rest/git/refs#create-a-reference"""
    body = call.body()
    ref: str = call.field(body, "ref", str)
    sha = _sha(call, body)
    repo = call.repo()
    name, target = call.state.create_ref(repo, ref, sha)
    payload = _ref_json(call, name, target)
    return Reply(201, payload, {"location": payload["url"]})


def update_ref(call: Call) -> Reply:
    """https://docs.github.com/rest/git/refs#update-a-reference"""
    body = call.body()
    sha = _sha(call, body)
    force = bool(call.field(body, "force", bool, required=False))
    name, target = call.state.update_ref(call.repo(), call.params["ref"], sha, force)
    return Reply(200, _ref_json(call, name, target))


def delete_ref(call: Call) -> Reply:
    """https://docs.github.com/rest/git/refs#delete-a-reference"""
    call.state.delete_ref(call.repo(), call.params["ref"])
    return Reply(204)


def create_blob(call: Call) -> Reply:
    """https://docs.github.com/rest/git/blobs#create-a-blob"""
    body = call.body()
    content: str = call.field(body, "content", str)
    encoding = call.field(body, "encoding", str, required=False) or "utf-8"
    if encoding in ("utf-8", "utf8"):
        data = content.encode()
    elif encoding == "base64":
        decoded = decode_base64(content)
        if decoded is None:
            raise Unprocessable("Invalid request.\n\ncontent is not valid Base64.")
        data = decoded
    else:
        raise Unprocessable(f"Invalid request.\n\nencoding {encoding!r} is not supported; use utf-8 or base64.")
    sha = call.state.create_blob(data)
    payload = shapes.short_blob(call.repo(), sha, call.root)
    return Reply(201, payload, {"location": payload["url"]})


def get_blob(call: Call) -> Reply:
    """https://docs.github.com/rest/git/blobs#get-a-blob"""
    repo = call.repo()
    sha = call.params["sha"].lower()
    obj = call.state.objects.blob(sha)
    if obj is None:
        raise NotFound()
    return Reply(200, shapes.blob(repo, sha, obj, call.root))


def _tree_input(call: Call, index: int, raw: Any) -> TreeInput:
    where = f"tree[{index}]"
    if not isinstance(raw, dict):
        raise Unprocessable(f"Invalid request.\n\nFor 'items', {raw!r} is not an object.")
    path = raw.get("path")
    mode = raw.get("mode")
    kind = raw.get("type")
    if not isinstance(path, str) or not isinstance(mode, str):
        raise Unprocessable(f'Invalid request.\n\n{where} needs a string "path" and "mode".')
    if kind is None:
        kind = entry_type(mode)
    if not isinstance(kind, str):
        raise Unprocessable(f'Invalid request.\n\n{where} has a non-string "type".')
    has_sha = "sha" in raw
    content = raw.get("content")
    if has_sha and content is not None:
        raise Unprocessable('Invalid request.\n\nOnly one of "sha" and "content" may be given.')
    if has_sha:
        sha = raw["sha"]
        if sha is None:
            return TreeInput(path, mode, kind, delete=True)
        if not isinstance(sha, str) or len(sha) != 40 or any(c not in "0123456789abcdefABCDEF" for c in sha):
            raise Unprocessable(f"Invalid request.\n\n{where}.sha {sha!r} is not a 40 character hex object id.")
        return TreeInput(path, mode, kind, sha=sha)
    if not isinstance(content, str):
        raise Unprocessable(f'Invalid request.\n\n{where} needs "sha" or "content".')
    if kind != "blob" or mode == MODE_TREE:
        raise Unprocessable("Invalid tree info")
    return TreeInput(path, mode, kind, content=content.encode())


def create_tree(call: Call) -> Reply:
    """https://docs.github.com/rest/git/trees#create-a-tree"""
    body = call.body()
    raw_entries: list[Any] = call.field(body, "tree", list)
    base_tree = call.field(body, "base_tree", str, required=False)
    entries = [_tree_input(call, i, raw) for i, raw in enumerate(raw_entries)]
    repo = call.repo()
    sha = call.state.create_tree(base_tree, entries)
    obj = call.state.objects.tree(sha)
    assert obj is not None
    payload = shapes.tree(call.state, repo, sha, obj, call.root)
    return Reply(201, payload, {"location": payload["url"]})


def get_tree(call: Call) -> Reply:
    """https://docs.github.com/rest/git/trees#get-a-tree

    Like GitHub, ``tree_sha`` may also be a branch name or a commit id.
    """
    repo = call.repo()
    wanted = call.params["sha"]
    obj = call.state.objects.tree(wanted)
    sha = wanted.lower()
    if obj is None:
        try:
            commit_sha = call.state.resolve(repo, wanted)
        except NotFound:
            raise NotFound() from None
        commit = call.state.objects.commit(commit_sha)
        assert commit is not None
        sha, obj = commit.tree, call.state.objects.tree(commit.tree)
    assert obj is not None
    recursive = call.request.param("recursive") not in (None, "", "0", "false")
    return Reply(200, shapes.tree(call.state, repo, sha, obj, call.root, recursive=recursive))


def _identity(call: Call, body: dict[str, Any], name: str) -> Any:
    raw = call.field(body, name, dict, required=False)
    if raw is None:
        return None
    who_name, email = raw.get("name"), raw.get("email")
    if not isinstance(who_name, str) or not isinstance(email, str):
        raise Unprocessable(f'Invalid request.\n\n"{name}" needs "name" and "email" strings.')
    date = raw.get("date")
    when = None
    if date is not None:
        if not isinstance(date, str):
            raise Unprocessable(f"Invalid request.\n\n{name}.date is not a string.")
        try:
            when = datetime.fromisoformat(date.replace("Z", "+00:00")).timestamp()
        except ValueError as error:
            raise Unprocessable(f"Invalid request.\n\n{name}.date {date!r} is not an ISO 8601 date.") from error
    return call.state.identity(who_name, email, when)


def create_commit(call: Call) -> Reply:
    """https://docs.github.com/rest/git/commits#create-a-commit"""
    body = call.body()
    message: str = call.field(body, "message", str)
    tree: str = call.field(body, "tree", str)
    parents = call.field(body, "parents", list, required=False) or []
    if not all(isinstance(p, str) for p in parents):
        raise Unprocessable("Invalid request.\n\nFor 'items', parents must be strings.")
    author = _identity(call, body, "author")
    committer = _identity(call, body, "committer")
    repo = call.repo()
    sha = call.state.create_commit(call.user, message, tree, parents, author, committer)
    obj = call.state.objects.commit(sha)
    assert obj is not None
    payload = shapes.git_commit(repo, sha, obj, call.root)
    return Reply(201, payload, {"location": payload["url"]})


def get_commit(call: Call) -> Reply:
    """https://docs.github.com/rest/git/commits#get-a-commit-object"""
    repo = call.repo()
    sha = call.params["sha"].lower()
    obj = call.state.objects.commit(sha)
    if obj is None:
        raise NotFound()
    return Reply(200, shapes.git_commit(repo, sha, obj, call.root))
