"""Faults on demand: server errors, slow answers and dropped connections, by count or clock window."""

from __future__ import annotations

import pytest
import requests

from tests.github_fake import FakeGitHub, FakeServer, Fault

from .conftest import REPO, Api

R = f"/repos/{REPO}"


class TestServerErrors:
    @pytest.mark.parametrize(("status", "message"), [(502, "Server Error"), (503, "Service Unavailable")])
    def test_status_fault_answers_for_its_count_then_recovers(
        self, api: Api, fake: FakeGitHub, status: int, message: str
    ) -> None:
        """A status fault with count 2 fails two requests with GitHub's body, then answers normally."""
        fake.add_fault(Fault("status", status=status, count=2))
        first, second, third = (api("GET", R) for _ in range(3))
        assert (first.status_code, second.status_code, third.status_code) == (status, status, 200)
        assert first.json()["message"] == message

    def test_fault_before_the_write_leaves_state_alone(self, api: Api, fake: FakeGitHub) -> None:
        """A 502 on a write (default) does not apply it."""
        fake.add_fault(Fault("status", method="POST"))
        head = fake.refs(REPO)["refs/heads/main"]
        assert api("POST", f"{R}/git/refs", json={"ref": "refs/heads/x", "sha": head}).status_code == 502
        assert "refs/heads/x" not in fake.refs(REPO)

    def test_fault_after_the_write_applies_it(self, api: Api, fake: FakeGitHub) -> None:
        """after=True applies the write and still answers 502, so a blind retry meets "already exists"."""
        fake.add_fault(Fault("status", method="POST", after=True))
        head = fake.refs(REPO)["refs/heads/main"]
        assert api("POST", f"{R}/git/refs", json={"ref": "refs/heads/x", "sha": head}).status_code == 502
        assert fake.refs(REPO)["refs/heads/x"] == head
        assert api("POST", f"{R}/git/refs", json={"ref": "refs/heads/x", "sha": head}).status_code == 422

    def test_window_fault_applies_only_inside_the_window(self, api: Api, fake: FakeGitHub) -> None:
        """A fault for [now+10, now+20) on the fake clock hits only requests inside it."""
        now = fake.clock.now()
        fake.add_fault(Fault("status", status=503, count=None, start=now + 10, end=now + 20))
        statuses = []
        for _ in range(3):
            statuses.append(api("GET", R).status_code)
            fake.advance(10)
        assert statuses == [200, 503, 200]

    def test_path_pattern_limits_the_fault(self, api: Api, fake: FakeGitHub) -> None:
        """A fault with a path pattern leaves other routes alone."""
        fake.add_fault(Fault("status", path=r"/pulls$", count=None))
        assert api("GET", R).status_code == 200
        assert api("GET", f"{R}/pulls").status_code == 502


class TestSlowAndDropped:
    def test_delay_fault_sleeps_before_answering(self, api: Api, fake: FakeGitHub) -> None:
        """A delay fault calls the injected sleep (here the fake clock) and then answers."""
        before = fake.clock.now()
        fake.add_fault(Fault("delay", delay=7.5))
        assert api("GET", R).status_code == 200
        assert fake.clock.now() == before + 7.5

    def test_drop_in_process_raises_connection_error(self, api: Api, fake: FakeGitHub) -> None:
        """In responses mode a dropped connection is requests' ConnectionError."""
        fake.add_fault(Fault("drop"))
        with pytest.raises(requests.exceptions.ConnectionError):
            api("GET", R)
        assert api("GET", R).status_code == 200

    def test_drop_over_http_closes_the_socket(self, server: FakeServer, fake: FakeGitHub) -> None:
        """Over real HTTP a dropped connection closes the socket without an answer."""
        fake.add_fault(Fault("drop"))
        client = Api(server.url)
        with pytest.raises(requests.exceptions.ConnectionError):
            client("GET", R)
        assert client("GET", R).status_code == 200
        assert [entry.fault for entry in fake.requests()] == ["drop", None]

    def test_unknown_fault_kind_is_refused(self) -> None:
        """A misspelt fault fails when made, not silently later."""
        with pytest.raises(ValueError, match="unknown fault kind"):
            Fault("explode")  # type: ignore[arg-type]
