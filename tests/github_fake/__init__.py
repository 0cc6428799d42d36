"""A stateful fake of the part of GitHub's REST API the receiver uses.

It holds repositories (forks included), refs, git objects with real git ids,
pull requests with labels and comments, users and their tokens, and answers
PyGithub as GitHub would, with GitHub's rate limits (on a fake clock),
faults on demand and a log of every request. Two ways in:

- in-process: ``fake_github_mock(fake, base_url)`` (``responses``);
- over HTTP: ``FakeServer(fake).start()`` in a thread, or
  ``python -m tests.github_fake --port P --repo O/R --token T``,
  driven from other processes through ``/_fake/`` (see ``control.py``).

It is a test double: no permissions, branch protection, reviews, plain
issues or line-level merges.
"""

from __future__ import annotations

from .app import FakeGitHub
from .clock import FakeClock
from .errors import ApiError
from .faults import Fault
from .limits import LimitSettings
from .messages import Request, Response
from .requestlog import LogEntry
from .server import FakeServer
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
