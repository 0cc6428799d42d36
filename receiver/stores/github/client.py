"""A PyGithub client as the receiver uses it: authenticated by a token or as a GitHub App, never retrying on its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from github import Auth, Github, GithubIntegration

__all__ = ["AppCredentials", "REQUEST_TIMEOUT", "app_login", "github_client"]


@dataclass(frozen=True)
class AppCredentials:
    """A GitHub App installation: the receiver then acts as the app's bot, with the app's own rate limits."""

    app_id: int
    private_key: str = field(repr=False)
    installation_id: int

    @classmethod
    def from_key_file(cls, app_id: int, key_file: Path, installation_id: int) -> AppCredentials:
        """The credentials with the key read from its file; raises `OSError` when it cannot be read."""
        return cls(app_id, key_file.read_text(encoding="utf-8"), installation_id)


#: Seconds one request may hang before it is given up: well inside the deliverer's 30 s heartbeat staleness,
#: since the deliverer cannot report while a request is in flight.
REQUEST_TIMEOUT = 20


def github_client(api_url: str, *, token: str = "", app: AppCredentials | None = None, timeout: int = REQUEST_TIMEOUT) -> Github:
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


def app_login(api_url: str, app: AppCredentials, *, timeout: int = 30) -> str:
    """The login the app's installation acts as, `<slug>[bot]`: the author of its pull requests.

    An installation's token cannot ask `GET /user`; the app's own JWT asks `GET /app` for its slug.
    """
    integration = GithubIntegration(auth=Auth.AppAuth(app.app_id, app.private_key), base_url=api_url.rstrip("/"), timeout=timeout)
    return f"{integration.get_app().slug}[bot]"
