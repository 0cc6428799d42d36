"""A PyGithub client as the receiver uses it: authenticated by a token or as a GitHub App, never retrying on its own."""

from __future__ import annotations

from dataclasses import dataclass, field

from github import Auth, Github

__all__ = ["AppCredentials", "github_client"]


@dataclass(frozen=True)
class AppCredentials:
    """A GitHub App installation: the receiver then acts as the app's bot, with the app's own rate limits."""

    app_id: int
    private_key: str = field(repr=False)
    installation_id: int


def github_client(api_url: str, *, token: str = "", app: AppCredentials | None = None, timeout: int = 30) -> Github:
    """PyGithub without its own retrying or sleeping: waiting is the pacer's decision.

    With `app`, PyGithub signs a JWT with the app's key and trades it for an
    installation token (renewed before it expires); else the token is used as is.
    """
    auth: Auth.Auth | None
    if app is not None:
        auth = Auth.AppAuth(app.app_id, app.private_key).get_installation_auth(app.installation_id)
    else:
        auth = Auth.Token(token) if token else None
    return Github(auth=auth, base_url=api_url.rstrip("/"), retry=None, seconds_between_requests=None, seconds_between_writes=None, timeout=timeout)
