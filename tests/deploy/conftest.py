"""Fixtures for the deployment tests: Debian's nginx, found where Debian puts it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.nginx import find_nginx


@pytest.fixture(scope="session")
def nginx_binary() -> Path:
    """The installed nginx; skipped only where it is not installed (.ci/run installs it)."""
    binary = find_nginx()
    if binary is None:
        pytest.skip("nginx is not installed here (.ci/run installs it)")
    return binary
