"""JSON bodies in GitHub's shapes, rendered from the model in ``state.py``.

Each function takes model values and the API root the client used and
returns what GitHub's REST API returns for it, as described in GitHub's
OpenAPI document (https://github.com/github/rest-api-description); the tests
validate every body against githubkit's models generated from it. Nothing
here changes state.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from .gitobjects import Blob, Commit, Signature, Tree, entry_type
from .history import Change
from .state import ROLES, Comment, Comparison, GitHubState, Label, PullRequest, Repository, Ruleset, User, Variable, iso8601

__all__ = [
    "HTML_ROOT",
    "blob",
    "branch",
    "branch_protection",
    "branch_rules",
    "comment",
    "commit",
    "comparison",
    "content_file",
    "directory",
    "diff_entry",
    "file_commit",
    "git_commit",
    "label",
    "merge_result",
    "permissions",
    "private_user",
    "pull_request",
    "rate_limit",
    "ref",
    "repository",
    "short_blob",
    "simple_user",
    "tree",
    "variable",
    "workflow_permissions",
]

HTML_ROOT = "https://github.com"

JSON = dict[str, Any]


def node_id(kind: str, key: object) -> str:
    """A stable opaque global node id, as GitHub's look (base64 of a type and key)."""
    return base64.b64encode(f"{kind}:{key}".encode()).decode().rstrip("=")


def simple_user(user: User, root: str) -> JSON:
    url = f"{root}/users/{user.login}"
    return {
        "login": user.login,
        "id": user.id,
        "node_id": node_id("User", user.id),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user.id}?v=4",
        "gravatar_id": "",
        "url": url,
        "html_url": f"{HTML_ROOT}/{user.login}",
        "followers_url": f"{url}/followers",
        "following_url": f"{url}/following{{/other_user}}",
        "gists_url": f"{url}/gists{{/gist_id}}",
        "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{url}/subscriptions",
        "organizations_url": f"{url}/orgs",
        "repos_url": f"{url}/repos",
        "events_url": f"{url}/events{{/privacy}}",
        "received_events_url": f"{url}/received_events",
        "type": "User",
        "site_admin": False,
    }


def _repo_urls(repo: Repository, root: str) -> JSON:
    url = f"{root}/repos/{repo.full_name}"
    html = f"{HTML_ROOT}/{repo.full_name}"
    templated = {
        "archive_url": "/{archive_format}{/ref}",
        "assignees_url": "/assignees{/user}",
        "blobs_url": "/git/blobs{/sha}",
        "branches_url": "/branches{/branch}",
        "collaborators_url": "/collaborators{/collaborator}",
        "comments_url": "/comments{/number}",
        "commits_url": "/commits{/sha}",
        "compare_url": "/compare/{base}...{head}",
        "contents_url": "/contents/{+path}",
        "contributors_url": "/contributors",
        "deployments_url": "/deployments",
        "downloads_url": "/downloads",
        "events_url": "/events",
        "forks_url": "/forks",
        "git_commits_url": "/git/commits{/sha}",
        "git_refs_url": "/git/refs{/sha}",
        "git_tags_url": "/git/tags{/sha}",
        "hooks_url": "/hooks",
        "issue_comment_url": "/issues/comments{/number}",
        "issue_events_url": "/issues/events{/number}",
        "issues_url": "/issues{/number}",
        "keys_url": "/keys{/key_id}",
        "labels_url": "/labels{/name}",
        "languages_url": "/languages",
        "merges_url": "/merges",
        "milestones_url": "/milestones{/number}",
        "notifications_url": "/notifications{?since,all,participating}",
        "pulls_url": "/pulls{/number}",
        "releases_url": "/releases{/id}",
        "stargazers_url": "/stargazers",
        "statuses_url": "/statuses/{sha}",
        "subscribers_url": "/subscribers",
        "subscription_url": "/subscription",
        "tags_url": "/tags",
        "teams_url": "/teams",
        "trees_url": "/git/trees{/sha}",
    }
    urls: JSON = {key: f"{url}{suffix}" for key, suffix in templated.items()}
    urls.update(
        {
            "url": url,
            "html_url": html,
            "git_url": f"git://github.com/{repo.full_name}.git",
            "ssh_url": f"git@github.com:{repo.full_name}.git",
            "clone_url": f"{html}.git",
            "svn_url": html,
            "mirror_url": None,
        }
    )
    return urls


def _repo_common(state: GitHubState, repo: Repository, root: str) -> JSON:
    open_count = sum(1 for p in repo.pulls.values() if p.state == "open")
    body: JSON = {
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "owner": simple_user(state.user(repo.owner), root),
        "private": repo.private,
        "description": repo.description,
        "fork": repo.parent is not None,
        **_repo_urls(repo, root),
        "homepage": None,
        "language": None,
        "forks_count": 0,
        "forks": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "watchers": 0,
        "size": 0,
        "default_branch": repo.default_branch,
        "open_issues_count": open_count,
        "open_issues": open_count,
        "is_template": False,
        "topics": [],
        "has_issues": True,
        "has_projects": True,
        "has_wiki": True,
        "has_pages": False,
        "has_downloads": True,
        "has_discussions": False,
        "archived": False,
        "disabled": False,
        "visibility": "private" if repo.private else "public",
        "pushed_at": iso8601(repo.updated_at),
        "created_at": iso8601(repo.created_at),
        "updated_at": iso8601(repo.updated_at),
        "license": None,
        "allow_forking": True,
        "web_commit_signoff_required": False,
    }
    return body


def permissions(state: GitHubState, repo: Repository, viewer: User | None) -> JSON:
    """What ``viewer`` may do: each role includes the weaker ones; without a role a public repository is read-only."""
    role = (state.role(repo, viewer) if viewer is not None else None) or "pull"
    held = ROLES.index(role)
    return {name: ROLES.index(name) <= held for name in ("admin", "maintain", "push", "triage", "pull")}


def repository(state: GitHubState, repo: Repository, root: str, viewer: User | None = None) -> JSON:
    """A full repository (``GET /repos/{owner}/{repo}``), with the viewer's ``permissions``."""
    body = _repo_common(state, repo, root)
    body.update(
        {
            "subscribers_count": 0,
            "network_count": 0,
            "permissions": permissions(state, repo, viewer),
            "allow_squash_merge": True,
            "allow_merge_commit": True,
            "allow_rebase_merge": True,
            "delete_branch_on_merge": repo.settings.delete_branch_on_merge,
        }
    )
    if repo.parent is not None:
        parent = state.repository(repo.parent)
        body["parent"] = _repo_common(state, parent, root)
        body["source"] = _repo_common(state, state.root_of(repo), root)
    return body


def ref(repo: Repository, name: str, sha: str, obj_type: str, root: str) -> JSON:
    base = f"{root}/repos/{repo.full_name}/git"
    kind = {"commit": "commits", "tree": "trees", "blob": "blobs"}[obj_type]
    return {
        "ref": name,
        "node_id": node_id("Ref", f"{repo.id}:{name}"),
        "url": f"{base}/{name}",
        "object": {"type": obj_type, "sha": sha, "url": f"{base}/{kind}/{sha}"},
    }


def short_blob(repo: Repository, sha: str, root: str) -> JSON:
    return {"url": f"{root}/repos/{repo.full_name}/git/blobs/{sha}", "sha": sha}


def _base64_lines(data: bytes) -> str:
    """Base64 with a newline every 60 characters, as GitHub sends file contents."""
    text = base64.b64encode(data).decode()
    return "".join(text[i : i + 60] + "\n" for i in range(0, len(text), 60))


def blob(repo: Repository, sha: str, obj: Blob, root: str) -> JSON:
    return {
        "sha": sha,
        "node_id": node_id("Blob", sha),
        "size": len(obj.data),
        "url": f"{root}/repos/{repo.full_name}/git/blobs/{sha}",
        "content": _base64_lines(obj.data),
        "encoding": "base64",
    }


def tree(state: GitHubState, repo: Repository, sha: str, obj: Tree, root: str, recursive: bool = False) -> JSON:
    base = f"{root}/repos/{repo.full_name}/git"
    items: list[JSON] = []

    def walk(current: Tree, prefix: str) -> None:
        for entry in current.entries:
            kind = entry_type(entry.mode)
            item: JSON = {"path": f"{prefix}{entry.name}", "mode": entry.mode, "type": kind, "sha": entry.sha}
            if kind == "blob":
                found = state.objects.blob(entry.sha)
                item["size"] = len(found.data) if found is not None else 0
                item["url"] = f"{base}/blobs/{entry.sha}"
            elif kind == "tree":
                item["url"] = f"{base}/trees/{entry.sha}"
            items.append(item)
            if recursive and kind == "tree":
                sub = state.objects.tree(entry.sha)
                if sub is not None:
                    walk(sub, f"{prefix}{entry.name}/")

    walk(obj, "")
    return {"sha": sha, "url": f"{base}/trees/{sha}", "tree": items, "truncated": False}


def _person(signature: Signature) -> JSON:
    return {
        "name": signature.name,
        "email": signature.email,
        "date": iso8601(signature.timestamp - 0),
    }


def git_commit(repo: Repository, sha: str, obj: Commit, root: str) -> JSON:
    """A git commit (``POST``/``GET /repos/{o}/{r}/git/commits``)."""
    base = f"{root}/repos/{repo.full_name}/git"
    html = f"{HTML_ROOT}/{repo.full_name}/commit"
    return {
        "sha": sha,
        "node_id": node_id("Commit", sha),
        "url": f"{base}/commits/{sha}",
        "html_url": f"{html}/{sha}",
        "author": _person(obj.author),
        "committer": _person(obj.committer),
        "message": obj.message,
        "tree": {"sha": obj.tree, "url": f"{base}/trees/{obj.tree}"},
        "parents": [{"sha": p, "url": f"{base}/commits/{p}", "html_url": f"{html}/{p}"} for p in obj.parents],
        "verification": {
            "verified": False,
            "reason": "unsigned",
            "signature": None,
            "payload": None,
            "verified_at": None,
        },
    }


def _content_links(repo: Repository, path: str, sha: str, kind: str, ref_name: str, root: str) -> JSON:
    api = f"{root}/repos/{repo.full_name}"
    html_kind = "tree" if kind == "dir" else "blob"
    git_kind = "trees" if kind == "dir" else "blobs"
    self_url = f"{api}/contents/{path}?ref={ref_name}"
    git_url = f"{api}/git/{git_kind}/{sha}"
    html_url = f"{HTML_ROOT}/{repo.full_name}/{html_kind}/{ref_name}/{path}"
    return {
        "url": self_url,
        "git_url": git_url,
        "html_url": html_url,
        "download_url": (
            None if kind == "dir" else f"https://raw.githubusercontent.com/{repo.full_name}/{ref_name}/{path}"
        ),
        "_links": {"self": self_url, "git": git_url, "html": html_url},
    }


def _content_kind(mode: str) -> str:
    return {"040000": "dir", "120000": "symlink", "160000": "submodule"}.get(mode, "file")


def content_file(repo: Repository, path: str, sha: str, data: bytes, ref_name: str, root: str) -> JSON:
    """One file (``GET /repos/{o}/{r}/contents/{path}``)."""
    return {
        "type": "file",
        "encoding": "base64",
        "size": len(data),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "content": _base64_lines(data),
        "sha": sha,
        **_content_links(repo, path, sha, "file", ref_name, root),
    }


def directory(
    state: GitHubState, repo: Repository, path: str, entries: list[tuple[str, str, str]], ref_name: str, root: str
) -> list[JSON]:
    items = []
    for name, mode, sha in entries:
        item_path = f"{path}/{name}" if path else name
        kind = _content_kind(mode)
        found = state.objects.blob(sha) if kind == "file" else None
        items.append(
            {
                "type": kind,
                "size": len(found.data) if found is not None else 0,
                "name": name,
                "path": item_path,
                "sha": sha,
                **_content_links(repo, item_path, sha, kind, ref_name, root),
            }
        )
    return items


def file_commit(
    repo: Repository, path: str, blob_sha: str, size: int, branch: str, commit_sha: str, obj: Commit, root: str
) -> JSON:
    """The answer to ``PUT /repos/{o}/{r}/contents/{path}``."""
    content = {
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": blob_sha,
        "size": size,
        "type": "file",
        **_content_links(repo, path, blob_sha, "file", branch, root),
    }
    return {"content": content, "commit": git_commit(repo, commit_sha, obj, root)}


def commit(state: GitHubState, repo: Repository, sha: str, root: str) -> JSON:
    """A commit as the commits API shows it (in a branch, a comparison): git data plus links, no files."""
    obj = state.objects.commit(sha)
    assert obj is not None
    api = f"{root}/repos/{repo.full_name}"
    return {
        "url": f"{api}/commits/{sha}",
        "sha": sha,
        "node_id": node_id("Commit", sha),
        "html_url": f"{HTML_ROOT}/{repo.full_name}/commit/{sha}",
        "comments_url": f"{api}/commits/{sha}/comments",
        "commit": {
            "url": f"{api}/git/commits/{sha}",
            "author": _person(obj.author),
            "committer": _person(obj.committer),
            "message": obj.message,
            "comment_count": 0,
            "tree": {"sha": obj.tree, "url": f"{api}/git/trees/{obj.tree}"},
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        },
        "author": None,
        "committer": None,
        "parents": [
            {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{HTML_ROOT}/{repo.full_name}/commit/{p}"}
            for p in obj.parents
        ],
    }


def branch(state: GitHubState, repo: Repository, name: str, sha: str, root: str) -> JSON:
    """A branch (``GET /repos/{o}/{r}/branches/{branch}``)."""
    api = f"{root}/repos/{repo.full_name}"
    protected = name in repo.settings.protection
    contexts = repo.settings.protection.get(name, ())
    return {
        "name": name,
        "commit": commit(state, repo, sha, root),
        "_links": {"self": f"{api}/branches/{name}", "html": f"{HTML_ROOT}/{repo.full_name}/tree/{name}"},
        "protected": protected,
        "protection": {
            "enabled": protected,
            "required_status_checks": {
                "enforcement_level": "non_admins" if contexts else "off",
                "contexts": list(contexts),
                "checks": [{"context": c, "app_id": None} for c in contexts],
            },
        },
        "protection_url": f"{api}/branches/{name}/protection",
    }


def comparison(
    state: GitHubState, repo: Repository, basehead: str, found: Comparison, commits: list[str], files: list[Change] | None, root: str
) -> JSON:
    """``GET /repos/{o}/{r}/compare/{basehead}``: the commits given (one page) and, on the first page, the files."""
    api = f"{root}/repos/{repo.full_name}"
    html = f"{HTML_ROOT}/{repo.full_name}"
    body: JSON = {
        "url": f"{api}/compare/{basehead}",
        "html_url": f"{html}/compare/{basehead}",
        "permalink_url": f"{html}/compare/{repo.owner}:{found.base[:7]}...{repo.owner}:{found.head[:7]}",
        "diff_url": f"{html}/compare/{basehead}.diff",
        "patch_url": f"{html}/compare/{basehead}.patch",
        "base_commit": commit(state, repo, found.base, root),
        "merge_base_commit": commit(state, repo, found.merge_base, root),
        "status": found.status,
        "ahead_by": len(found.ahead),
        "behind_by": found.behind_by,
        "total_commits": len(found.ahead),
        "commits": [commit(state, repo, sha, root) for sha in commits],
    }
    if files is not None:
        body["files"] = [diff_entry(state, repo, change, found.head, root) for change in files]
    return body


def label(repo: Repository, item: Label, root: str) -> JSON:
    return {
        "id": item.id,
        "node_id": node_id("Label", item.id),
        "url": f"{root}/repos/{repo.full_name}/labels/{item.name}",
        "name": item.name,
        "description": item.description,
        "color": item.color,
        "default": False,
        "archived_at": None,
        "archived_by": None,
    }


def comment(state: GitHubState, repo: Repository, number: int, item: Comment, root: str) -> JSON:
    api = f"{root}/repos/{repo.full_name}"
    return {
        "id": item.id,
        "node_id": node_id("IssueComment", item.id),
        "url": f"{api}/issues/comments/{item.id}",
        "html_url": f"{HTML_ROOT}/{repo.full_name}/pull/{number}#issuecomment-{item.id}",
        "body": item.body,
        "user": simple_user(state.user(item.user), root),
        "created_at": iso8601(item.created_at),
        "updated_at": iso8601(item.updated_at),
        "issue_url": f"{api}/issues/{number}",
        "author_association": "OWNER" if item.user == repo.owner else "CONTRIBUTOR",
    }


def _pull_end(state: GitHubState, repo_name: str, ref_name: str, sha: str, root: str) -> JSON:
    repo = state.repository(repo_name)
    return {
        "label": f"{repo.owner}:{ref_name}",
        "ref": ref_name,
        "sha": sha,
        "user": simple_user(state.user(repo.owner), root),
        "repo": _repo_common(state, repo, root),
    }


def pull_request(state: GitHubState, repo: Repository, pull: PullRequest, root: str, full: bool = True) -> JSON:
    """A pull request: full (create, get) or simple (list)."""
    api = f"{root}/repos/{repo.full_name}"
    url = f"{api}/pulls/{pull.number}"
    html = f"{HTML_ROOT}/{repo.full_name}/pull/{pull.number}"
    body: JSON = {
        "url": url,
        "id": pull.id,
        "node_id": node_id("PullRequest", pull.id),
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": f"{api}/issues/{pull.number}",
        "commits_url": f"{url}/commits",
        "review_comments_url": f"{url}/comments",
        "review_comment_url": f"{api}/pulls/comments{{/number}}",
        "comments_url": f"{api}/issues/{pull.number}/comments",
        "statuses_url": f"{api}/statuses/{pull.head_sha}",
        "number": pull.number,
        "state": pull.state,
        "locked": False,
        "title": pull.title,
        "user": simple_user(state.user(pull.user), root),
        "body": pull.body,
        "labels": [label(repo, item, root) for item in state.labels_of(repo, pull)],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": iso8601(pull.created_at),
        "updated_at": iso8601(pull.updated_at),
        "closed_at": None if pull.closed_at is None else iso8601(pull.closed_at),
        "merged_at": None if pull.merged_at is None else iso8601(pull.merged_at),
        "merge_commit_sha": pull.merge_commit_sha,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": _pull_end(state, pull.head_repo, pull.head_ref, pull.head_sha, root),
        "base": _pull_end(state, pull.base_repo, pull.base_ref, pull.base_sha, root),
        "_links": {
            "self": {"href": url},
            "html": {"href": html},
            "issue": {"href": f"{api}/issues/{pull.number}"},
            "comments": {"href": f"{api}/issues/{pull.number}/comments"},
            "review_comments": {"href": f"{url}/comments"},
            "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
            "commits": {"href": f"{url}/commits"},
            "statuses": {"href": f"{api}/statuses/{pull.head_sha}"},
        },
        "author_association": "OWNER" if pull.user == repo.owner else "CONTRIBUTOR",
        "auto_merge": None,
        "draft": pull.draft,
    }
    if full:
        changes = state.pull_changes(repo, pull.number)
        counts = [_line_counts(state, change) for change in changes]
        mergeable = state.mergeable(pull) if pull.state == "open" else None
        body.update(
            {
                "merged": pull.merged,
                "mergeable": mergeable,
                "rebaseable": mergeable,
                "mergeable_state": "clean" if mergeable else ("dirty" if mergeable is False else "unknown"),
                "merged_by": None if pull.merged_by is None else simple_user(state.user(pull.merged_by), root),
                "comments": len(pull.comments),
                "review_comments": 0,
                "maintainer_can_modify": pull.from_fork,
                "commits": len(state.pull_commits(pull)) if pull.state == "open" else 0,
                "additions": sum(a for a, _ in counts),
                "deletions": sum(d for _, d in counts),
                "changed_files": len(changes),
            }
        )
    return body


def _lines(state: GitHubState, side: tuple[str, str] | None) -> list[bytes]:
    if side is None:
        return []
    found = state.objects.blob(side[1])
    return [] if found is None else found.data.splitlines()


def _line_counts(state: GitHubState, change: Change) -> tuple[int, int]:
    """Lines added and removed, counted as a multiset difference (close to git's for simple edits)."""
    old, new = _lines(state, change.old), _lines(state, change.new)
    remaining = list(old)
    added = 0
    for line in new:
        if line in remaining:
            remaining.remove(line)
        else:
            added += 1
    return added, len(remaining)


def diff_entry(state: GitHubState, repo: Repository, change: Change, head_sha: str, root: str) -> JSON:
    """One file of ``GET /repos/{o}/{r}/pulls/{n}/files`` or of a comparison's ``files``."""
    side = change.new or change.old
    assert side is not None
    additions, deletions = _line_counts(state, change)
    api = f"{root}/repos/{repo.full_name}"
    entry: JSON = {
        "sha": side[1],
        "filename": change.path,
        "status": change.status,
        "additions": additions,
        "deletions": deletions,
        "changes": additions + deletions,
        "blob_url": f"{HTML_ROOT}/{repo.full_name}/blob/{head_sha}/{change.path}",
        "raw_url": f"{HTML_ROOT}/{repo.full_name}/raw/{head_sha}/{change.path}",
        "contents_url": f"{api}/contents/{change.path}?ref={head_sha}",
    }
    if change.previous_path is not None:
        entry["previous_filename"] = change.previous_path
    return entry


def merge_result(sha: str) -> JSON:
    return {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}


def etag(payload: bytes) -> str:
    return f'W/"{hashlib.sha256(payload).hexdigest()[:32]}"'


def private_user(state: GitHubState, user: User, root: str) -> JSON:
    """The authenticated user (``GET /user``): a public profile plus the private counts."""
    body = simple_user(user, root)
    created = iso8601(state.clock.now())
    body.update(
        {
            "name": None,
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "hireable": None,
            "bio": None,
            "public_repos": sum(1 for r in state.repositories() if r.owner == user.login and not r.private),
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": created,
            "updated_at": created,
            "private_gists": 0,
            "total_private_repos": sum(1 for r in state.repositories() if r.owner == user.login and r.private),
            "owned_private_repos": sum(1 for r in state.repositories() if r.owner == user.login and r.private),
            "disk_usage": 0,
            "collaborators": 0,
            "two_factor_authentication": False,
        }
    )
    return body


def rate_limit(limit: int, remaining: int, used: int, reset: int) -> JSON:
    """``GET /rate_limit``: the core budget as the fake counts it; the other resources are not modelled and shown full."""
    core = {"limit": limit, "remaining": remaining, "reset": reset, "used": used}
    search = {"limit": 30, "remaining": 30, "reset": reset, "used": 0}
    return {"resources": {"core": core, "search": search}, "rate": core}


def branch_protection(repo: Repository, branch: str, contexts: tuple[str, ...], root: str) -> JSON:
    """``GET /repos/{o}/{r}/branches/{branch}/protection`` with required status checks and nothing else turned on."""
    url = f"{root}/repos/{repo.full_name}/branches/{branch}/protection"
    return {
        "url": url,
        "required_status_checks": {
            "url": f"{url}/required_status_checks",
            "strict": False,
            "contexts": list(contexts),
            "contexts_url": f"{url}/required_status_checks/contexts",
            "checks": [{"context": c, "app_id": None} for c in contexts],
        },
        "enforce_admins": {"url": f"{url}/enforce_admins", "enabled": False},
        "required_linear_history": {"enabled": False},
        "allow_force_pushes": {"enabled": False},
        "allow_deletions": {"enabled": False},
        "required_conversation_resolution": {"enabled": False},
        "lock_branch": {"enabled": False},
        "allow_fork_syncing": {"enabled": False},
    }


def branch_rules(repo: Repository, rulesets: list[Ruleset]) -> list[JSON]:
    """``GET /repos/{o}/{r}/rules/branches/{branch}``: one ``required_status_checks`` rule per ruleset given."""
    return [
        {
            "type": "required_status_checks",
            "parameters": {
                "required_status_checks": [{"context": c} for c in ruleset.required_checks],
                "strict_required_status_checks_policy": False,
            },
            "ruleset_source_type": "Repository",
            "ruleset_source": repo.full_name,
            "ruleset_id": ruleset.id,
        }
        for ruleset in rulesets
    ]


def workflow_permissions(repo: Repository) -> JSON:
    """``GET /repos/{o}/{r}/actions/permissions/workflow``."""
    return {
        "default_workflow_permissions": repo.settings.default_workflow_permissions,
        "can_approve_pull_request_reviews": repo.settings.can_approve_pull_request_reviews,
    }


def variable(found: Variable) -> JSON:
    """One Actions variable (``GET /repos/{o}/{r}/actions/variables/{name}``)."""
    return {"name": found.name, "value": found.value, "created_at": iso8601(found.created_at), "updated_at": iso8601(found.updated_at)}
