"""A stateful fake of the part of GitHub's REST API the receiver uses.

It holds repositories (forks included), refs, git objects with real git ids,
pull requests with labels and comments, users and their tokens, and answers
PyGithub as GitHub would, with GitHub's rate limits (on a clock tests freeze, or real time when run by hand),
faults on demand and a log of every request.

In-process, through ``responses``::

    fake = FakeGitHub(clock=FakeClock(), sleep=...)   # sleep: what a delay fault calls
    fake.create_repository("owner/data")               # README on main
    fake.add_token("T", "owner")                       # PRs opened with T are by owner
    with fake_github_mock(fake, "https://api.github.com"):   # or register(fake, mock, base)
        Github(auth=Auth.Token("T"), retry=None, seconds_between_writes=0)...

Over HTTP, in a thread (``start`` returns once serving) or as a process
(prints ``fake github listening on URL`` when ready)::

    with FakeServer(fake) as server:  # server.url, e.g. http://127.0.0.1:PORT
        ...
    python -m tests.github_fake --port 0 --repo owner/data --token T [--token T2=login]

State and log: ``fake.files(repo, branch)``, ``fake.refs(repo)``,
``fake.pulls(repo)``, ``fake.requests()``, ``fake.unmodelled()``; over HTTP
``/_fake/state``, ``/_fake/log``, ``/_fake/objects``. Steering:
``fake.add_fault(Fault(...))``, ``fake.set_limits(...)``, ``fake.advance(s)``,
``fake.fork(repo, login)``; over HTTP the ``/_fake/`` routes in ``control.py``.

Repository settings (``fake.set_role``, ``fake.protect_branch``,
``fake.add_ruleset``, and through the API deleting head branches on merge,
Actions workflow permissions and variables) are kept and shown back; a
private repository hides from logins without a role.

It is a test double: it enforces no write permissions, branch protection,
rulesets or reviews, and has no plain issues or line-level merges.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .app import FakeGitHub
from .clock import FakeClock
from .errors import ApiError
from .faults import Fault
from .limits import LimitSettings
from .messages import Request, Response
from .requestlog import LogEntry
from .server import FakeServer

if TYPE_CHECKING:
    from .via_responses import DEFAULT_BASE_URL, fake_github_mock, register

__all__ = [
    "ApiError",
    "DEFAULT_BASE_URL",
    "FakeClock",
    "FakeGitHub",
    "FakeServer",
    "Fault",
    "LimitSettings",
    "LogEntry",
    "Request",
    "Response",
    "fake_github_mock",
    "register",
]


_THROUGH_RESPONSES = ("DEFAULT_BASE_URL", "fake_github_mock", "register")


def __getattr__(name: str) -> Any:
    """The in-process entry points, imported when first asked for: they need ``responses`` (the test extra), the server does not."""
    if name in _THROUGH_RESPONSES:
        from . import via_responses

        return getattr(via_responses, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
