"""The explicit table of every GitHub REST route the fake models.

Anything not listed here is answered 404 naming the unmodelled route and
flagged in the request log, so a client using an endpoint the fake does not
know fails loudly instead of silently passing. Order matters only where
patterns overlap (the first match wins).

Content-creating routes (counted by the secondary rate limit, see
``limits.py``): every write listed here — refs create/update/delete, blobs,
trees, commits, contents PUT, pulls create, merge, issue labels and comments.
"""

from __future__ import annotations

from . import api_apps, api_commits, api_git, api_pulls, api_repos, api_settings
from .routing import Route

__all__ = ["api_routes"]

_REPO = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
_NUM = r"(?P<number>[0-9]+)"


def api_routes() -> list[Route]:
    """A fresh route table (built per fake, never shared at module level)."""
    return [
        Route("GET", r"/app", api_apps.get_authenticated_app),
        Route("POST", r"/app/installations/(?P<installation>[0-9]+)/access_tokens", api_apps.create_installation_token),
        Route("GET", r"/user", api_settings.get_authenticated_user),
        Route("GET", r"/rate_limit", api_settings.get_rate_limit, counted=False),
        Route("GET", _REPO, api_repos.get_repository),
        Route("PATCH", _REPO, api_settings.update_repository),
        # Before the branch route: a branch name may hold slashes, so ".../protection" must be tried first.
        Route("GET", _REPO + r"/branches/(?P<branch>.+)/protection", api_settings.get_branch_protection),
        Route("GET", _REPO + r"/branches/(?P<branch>.+)", api_repos.get_branch),
        Route("GET", _REPO + r"/rules/branches/(?P<branch>.+)", api_settings.get_branch_rules),
        Route("GET", _REPO + r"/actions/permissions/workflow", api_settings.get_workflow_permissions),
        Route("PUT", _REPO + r"/actions/permissions/workflow", api_settings.set_workflow_permissions),
        Route("GET", _REPO + r"/actions/variables/(?P<name>[^/]+)", api_settings.get_variable),
        Route("POST", _REPO + r"/actions/variables", api_settings.create_variable),
        Route("PATCH", _REPO + r"/actions/variables/(?P<name>[^/]+)", api_settings.update_variable),
        Route("GET", _REPO + r"/contents/?", api_repos.get_contents),
        Route("GET", _REPO + r"/contents/(?P<path>.+)", api_repos.get_contents),
        Route("PUT", _REPO + r"/contents/(?P<path>.+)", api_repos.put_contents, content_creating=True),
        Route("GET", _REPO + r"/compare/(?P<basehead>.+)", api_commits.compare_commits),
        Route("GET", _REPO + r"/git/ref/(?P<ref>.+)", api_git.get_ref),
        Route("GET", _REPO + r"/git/matching-refs/(?P<ref>.*)", api_git.list_matching_refs),
        Route("GET", _REPO + r"/git/refs/?", api_git.list_refs),
        Route("GET", _REPO + r"/git/refs/(?P<ref>.+)", api_git.list_refs),
        Route("POST", _REPO + r"/git/refs", api_git.create_ref, content_creating=True),
        Route("PATCH", _REPO + r"/git/refs/(?P<ref>.+)", api_git.update_ref, content_creating=True),
        Route("DELETE", _REPO + r"/git/refs/(?P<ref>.+)", api_git.delete_ref, content_creating=True),
        Route("POST", _REPO + r"/git/blobs", api_git.create_blob, content_creating=True),
        Route("GET", _REPO + r"/git/blobs/(?P<sha>[^/]+)", api_git.get_blob),
        Route("POST", _REPO + r"/git/trees", api_git.create_tree, content_creating=True),
        Route("GET", _REPO + r"/git/trees/(?P<sha>[^/]+)", api_git.get_tree),
        Route("POST", _REPO + r"/git/commits", api_git.create_commit, content_creating=True),
        Route("GET", _REPO + r"/git/commits/(?P<sha>[^/]+)", api_git.get_commit),
        Route("POST", _REPO + r"/pulls", api_pulls.create_pull, content_creating=True),
        Route("GET", _REPO + r"/pulls", api_pulls.list_pulls),
        Route("GET", _REPO + r"/pulls/" + _NUM, api_pulls.get_pull),
        Route("PATCH", _REPO + r"/pulls/" + _NUM, api_pulls.update_pull, content_creating=True),
        Route("GET", _REPO + r"/pulls/" + _NUM + r"/files", api_pulls.list_pull_files),
        Route("PUT", _REPO + r"/pulls/" + _NUM + r"/merge", api_pulls.merge_pull, content_creating=True),
        Route("POST", _REPO + r"/issues/" + _NUM + r"/labels", api_pulls.add_labels, content_creating=True),
        Route("GET", _REPO + r"/issues/" + _NUM + r"/labels", api_pulls.list_labels),
        Route("POST", _REPO + r"/issues/" + _NUM + r"/comments", api_pulls.create_comment, content_creating=True),
        Route("GET", _REPO + r"/issues/" + _NUM + r"/comments", api_pulls.list_comments),
    ]
