"""Over HTTP: X-Forwarded-For that is not an IP address cannot make a rate-limit bucket of its own."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.captured import numbered_submission
from tests.support.servers import ReceiverProcess

JUNK = ["x1", "", "unknown", "1.2.3.4, x1", "fe80::1%", "::1::", "256.0.0.1", "1.2.3", "[::1]:80", "203.0.113.7:8080",
        "_", "localhost", "0x7f.1", "1.2.3.4 5.6.7.8", "2001:db8::g", "x" * 300, "%", "1.2.3.4;", "obfuscated", "null"]


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[ReceiverProcess]:
    """`receiver serve` trusting 127.0.0.1 as a proxy (the default), 5 submissions a minute per client."""
    with ReceiverProcess(tmp_path, {"RECEIVER_RATE_LIMIT": "5/minute"}) as server:
        yield server


def test_twenty_junk_forwarded_addresses_from_one_proxy_are_one_client(limited: ReceiverProcess) -> None:
    """20 posts from 127.0.0.1, each with a different junk X-Forwarded-For: all count as 127.0.0.1, so exactly 5 are admitted."""
    assert len(set(JUNK)) == 20
    with httpx.Client(base_url=limited.url, timeout=30) as http:
        statuses = Counter(
            http.post("/api/labels", json=numbered_submission(n), headers={"X-Forwarded-For": junk}).status_code for n, junk in enumerate(JUNK)
        )
    assert statuses == Counter({202: 5, 429: 15})


def test_refused_forwarded_addresses_are_logged_a_bounded_number_of_times(limited: ReceiverProcess) -> None:
    """The 20 refusals make one log line in their minute, not 20."""
    with httpx.Client(base_url=limited.url, timeout=30) as http:
        for n, junk in enumerate(JUNK):
            http.post("/api/labels", json=numbered_submission(n), headers={"X-Forwarded-For": junk})
    assert limited.log().count("is not an IP address; the peer address is used instead") == 1
