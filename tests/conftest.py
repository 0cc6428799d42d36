"""Fixtures for every test: the network is off (only loopback passes), the environment is clean."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
import responses

from receiver.validation import Validator


@pytest.fixture(autouse=True)
def network() -> Iterator[responses.RequestsMock]:
    """`requests` reaches nothing but loopback; register fakes on this mock."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(re.compile(r"https?://(127\.0\.0\.1|localhost)(:\d+)?/"))
        yield mock


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the test, never from the machine running it."""
    for key in list(os.environ):
        if key.startswith(("RECEIVER_", "GITHUB_")):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def validator() -> Validator:
    return Validator()
