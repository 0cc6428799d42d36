"""Handlers for the GitHub App endpoints the receiver uses: the app itself, installation access tokens.

Each handler links the GitHub REST documentation of the endpoint it models.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from . import shapes
from .errors import NotFound
from .routing import Call, Reply

__all__ = ["create_installation_token", "get_authenticated_app"]


def get_authenticated_app(call: Call) -> Reply:
    """https://docs.github.com/rest/apps/apps#get-the-authenticated-app

    The app's installations act as `<slug>[bot]`; the fake names its owner after it.
    """
    app_id = int(call.user.login.removeprefix("app:"))
    slug = call.state.app_slug(app_id)
    owner = call.state.add_user(f"{slug}-owner")
    made = datetime(2026, 1, 1, tzinfo=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Reply(
        200,
        {
            "id": app_id,
            "slug": slug,
            "node_id": shapes.node_id("Integration", app_id),
            "client_id": f"Iv1.{app_id:016x}",
            "owner": shapes.simple_user(owner, call.root),
            "name": slug,
            "description": None,
            "external_url": f"https://{slug}.example.org",
            "html_url": f"https://github.com/apps/{slug}",
            "created_at": made,
            "updated_at": made,
            "permissions": {"contents": "write", "pull_requests": "write", "metadata": "read"},
            "events": [],
        },
    )


def create_installation_token(call: Call) -> Reply:
    """https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app"""
    app_id = int(call.user.login.removeprefix("app:"))
    minted = call.state.mint_installation_token(app_id, int(call.params["installation"]))
    if minted is None:
        raise NotFound()
    token, _ = minted
    # Clients judge a token's expiry by their own clock, not the fake's: an hour from the real now.
    expires = datetime.fromtimestamp(time.time() + 3600, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Reply(201, {"token": token, "expires_at": expires, "permissions": {"contents": "write", "pull_requests": "write"}, "repository_selection": "selected"})
