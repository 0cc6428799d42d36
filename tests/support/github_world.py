"""The GitHub world most tests start from: the fake with `owner/data` and the receiver's token, reached through PyGithub."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from github import Auth, Github

from tests.github_fake import FakeClock, FakeGitHub, fake_github_mock

__all__ = ["BASE", "REPO", "TOKEN", "RULE_VIOLATION", "fake_world", "pygithub"]

BASE = "http://github.test/api/v3"
REPO = "owner/data"
TOKEN = "receiver-token"

#: A repository ruleset refusing every file write, as `POST /_fake/faults` JSON (and `Fault(**...)`).
RULE_VIOLATION: dict[str, object] = {
    "kind": "status",
    "status": 422,
    "message": "Repository rule violations found",
    "errors": [{"message": "Cannot update this protected ref."}],
    "method": "PUT",
    "path": "/contents/",
    "count": None,
}


def pygithub(token: str = TOKEN, base_url: str = BASE) -> Github:
    """PyGithub as the receiver builds it: no retries or sleeps of its own, so pacing is ours to decide."""
    return Github(base_url=base_url, auth=Auth.Token(token), retry=None, seconds_between_requests=None, seconds_between_writes=None)


@contextmanager
def fake_world(clock: FakeClock, *, tokens: dict[str, str] | None = None, in_process: bool = True) -> Iterator[FakeGitHub]:
    """The fake on `clock` with `owner/data` (README on main) and the receiver's token; reached through `responses`."""
    fake = FakeGitHub(clock=clock, sleep=clock.advance)
    fake.create_repository(REPO)
    for token, login in {TOKEN: "pose-receiver", **(tokens or {})}.items():
        fake.add_token(token, login)
    if not in_process:
        yield fake
        return
    with fake_github_mock(fake, BASE):
        yield fake
