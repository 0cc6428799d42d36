"""Handlers for the GitHub App endpoints the receiver uses: installation access tokens.

Each handler links the GitHub REST documentation of the endpoint it models.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from .errors import NotFound
from .routing import Call, Reply

__all__ = ["create_installation_token"]


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
