"""Rate limits on the fake clock: primary headers and exhaustion, secondary bursts and retry-after."""

from __future__ import annotations

import pytest
from github import Github, GithubException

from tests.github_fake import FakeClock, FakeGitHub

from .conftest import REPO, Api

R = f"/repos/{REPO}"
SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."


def _blob(api: Api, text: str = "x") -> int:
    return api("POST", f"{R}/git/blobs", json={"content": text}).status_code


class TestPrimary:
    def test_every_answer_has_rate_limit_headers(self, api: Api, clock: FakeClock) -> None:
        """Answers carry x-ratelimit-limit/remaining/used/reset/resource for core (5000 an hour)."""
        api("GET", R)
        headers = api("GET", R).headers
        assert headers["x-ratelimit-limit"] == "5000"
        assert headers["x-ratelimit-remaining"] == "4998"
        assert headers["x-ratelimit-used"] == "2"
        assert headers["x-ratelimit-reset"] == str(int(clock.now()) + 3600)
        assert headers["x-ratelimit-resource"] == "core"

    def test_exhausted_primary_limit_is_403_with_remaining_0(self, api: Api, fake: FakeGitHub) -> None:
        """Past the hourly budget GitHub answers 403 "API rate limit exceeded" with remaining 0."""
        fake.set_limits(primary_per_hour=3)
        assert [api("GET", R).status_code for _ in range(3)] == [200, 200, 200]
        response = api("GET", R)
        assert response.status_code == 403
        assert response.headers["x-ratelimit-remaining"] == "0"
        assert response.json()["message"].startswith("API rate limit exceeded for user ID ")

    def test_primary_limit_resets_after_the_hour(self, api: Api, fake: FakeGitHub) -> None:
        """Waiting until x-ratelimit-reset restores the budget."""
        fake.set_limits(primary_per_hour=1)
        api("GET", R)
        reset = int(api("GET", R).headers["x-ratelimit-reset"])
        fake.advance(reset - fake.clock.now())
        assert api("GET", R).status_code == 200

    def test_limits_are_per_user(self, api: Api, fake: FakeGitHub) -> None:
        """Another token has its own budget."""
        fake.set_limits(primary_per_hour=1)
        api("GET", R)
        assert api("GET", R, token="contributor-token").status_code == 200


class TestSecondary:
    def test_burst_past_the_minute_budget_is_403_with_retry_after(self, api: Api, fake: FakeGitHub) -> None:
        """The write after secondary_per_minute writes in a minute gets 403, GitHub's message and retry-after."""
        fake.set_limits(secondary_per_minute=5)
        assert [_blob(api, str(i)) for i in range(5)] == [201] * 5
        response = api("POST", f"{R}/git/blobs", json={"content": "6"})
        assert response.status_code == 403
        assert response.json()["message"].startswith(SECONDARY)
        assert response.headers["retry-after"] == "60"

    def test_reads_do_not_count_toward_the_secondary_limit(self, api: Api, fake: FakeGitHub) -> None:
        """GETs pass while writes are refused."""
        fake.set_limits(secondary_per_minute=1)
        _blob(api)
        assert _blob(api, "y") == 403
        assert api("GET", R).status_code == 200

    def test_client_that_waits_as_told_succeeds(self, api: Api, fake: FakeGitHub) -> None:
        """After advancing the clock by retry-after the write succeeds, and nothing was sent early."""
        fake.set_limits(secondary_per_minute=2)
        _blob(api, "1")
        fake.advance(30)
        _blob(api, "2")
        refused = api("POST", f"{R}/git/blobs", json={"content": "3"})
        assert refused.headers["retry-after"] == "30"
        fake.advance(int(refused.headers["retry-after"]))
        assert _blob(api, "3") == 201
        assert not any(entry.retry_after_pending for entry in fake.requests())

    def test_request_sent_while_retry_after_pends_is_flagged(self, api: Api, fake: FakeGitHub) -> None:
        """A client ignoring retry-after is caught: its next request is logged as sent while pending."""
        fake.set_limits(secondary_per_minute=1)
        _blob(api, "1")
        _blob(api, "2")
        fake.advance(10)
        api("GET", R)
        assert [entry.retry_after_pending for entry in fake.requests()] == [False, False, True]

    def test_hourly_budget_applies_across_minutes(self, api: Api, fake: FakeGitHub) -> None:
        """secondary_per_hour refuses even when each minute stays under its budget."""
        fake.set_limits(secondary_per_minute=80, secondary_per_hour=3)
        for i in range(3):
            assert _blob(api, str(i)) == 201
            fake.advance(61)
        response = api("POST", f"{R}/git/blobs", json={"content": "last"})
        assert response.status_code == 403
        assert int(response.headers["retry-after"]) == 3600 - 3 * 61

    def test_pygithub_sees_the_secondary_limit(self, gh: Github, fake: FakeGitHub) -> None:
        """PyGithub raises a 403 GithubException carrying retry-after."""
        fake.set_limits(secondary_per_minute=1)
        repo = gh.get_repo(REPO)
        repo.create_git_blob("a", "utf-8")
        with pytest.raises(GithubException) as raised:
            repo.create_git_blob("b", "utf-8")
        assert raised.value.status == 403
        assert raised.value.headers is not None and raised.value.headers["retry-after"] == "60"
