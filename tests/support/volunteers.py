"""A volunteer over real HTTP, as the labeling page is one: a session the receiver issued, from an address of its own.

The receiver under test trusts `X-Forwarded-For` from 127.0.0.1 (its default
`forwarded_allow_ips`), so each volunteer's address is the one it names there.
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["HttpVolunteer"]


class HttpVolunteer:
    """One browser: asks for a session once, then sends it with every request; labels go with their frame's lease."""

    def __init__(self, base_url: str, address: str, client: httpx.Client) -> None:
        self.base_url, self.address = base_url, address
        self.http = client
        answer = self.http.post(f"{base_url}/api/sessions", headers={"X-Forwarded-For": address})
        assert answer.status_code == 201, answer.text
        self.token: str = answer.json()["session"]
        self.pseudonym: str = answer.json()["pseudonym"]

    def headers(self, **extra: str) -> dict[str, str]:
        return {"X-Forwarded-For": self.address, "X-Volunteer-Session": self.token, **extra}

    def next_frame(self, **params: str) -> dict[str, Any]:
        answer = self.http.get(f"{self.base_url}/api/next-frame", params=params, headers=self.headers())
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def label(self, body: dict[str, Any], lease: str | None = None) -> httpx.Response:
        """Post a label, with the lease next-frame gave for its frame when there is one."""
        extra = {"X-Volunteer-Lease": lease} if lease else {}
        return self.http.post(f"{self.base_url}/api/labels", json=body, headers=self.headers(**extra))
