"""Handlers for the commits API: comparing two commits.

Each handler links the GitHub REST documentation of the endpoint it models.
The comparison's file list is cut at ``GitHubState.caps.compare_files``
without saying so, as GitHub's is; ``changed_files`` of a pull request is
the only count that shows the cut.
"""

from __future__ import annotations

from . import shapes
from .errors import NotFound
from .routing import Call, Reply

__all__ = ["compare_commits"]

#: Without paging parameters GitHub lists the newest 250 commits of a comparison.
_UNPAGED_COMMITS = 250


def compare_commits(call: Call) -> Reply:
    """https://docs.github.com/rest/commits/commits#compare-two-commits

    ``basehead`` is ``BASE...HEAD``; either side may be ``owner:ref`` to name a
    fork in the same network. Paging (``page``/``per_page``) pages the commits;
    the files come on the first page only. Not modelled: the ``link`` header for
    commit pages, patches, and two-dot comparisons.
    """
    basehead = call.params["basehead"]
    base, sep, head = basehead.partition("...")
    if not sep or not base or not head:
        raise NotFound()
    repo = call.repo()
    found = call.state.compare(repo, base, head)
    page_param, per_page_param = call.request.param("page"), call.request.param("per_page")
    files = found.changes[: call.state.caps.compare_files]
    if page_param is None and per_page_param is None:
        commits = found.ahead[-_UNPAGED_COMMITS:]
        return Reply(200, shapes.comparison(call.state, repo, basehead, found, commits, files, call.root))
    try:
        per_page = max(1, min(100, int(per_page_param or 30)))
        page = max(1, int(page_param or 1))
    except ValueError:
        per_page, page = 30, 1
    commits = found.ahead[(page - 1) * per_page : page * per_page]
    shown = files if page == 1 else []
    return Reply(200, shapes.comparison(call.state, repo, basehead, found, commits, shown, call.root))
