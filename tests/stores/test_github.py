"""GitHubStore through PyGithub against the stateful fake, in-process: PRs, commits, batches, pacing, faults."""

from __future__ import annotations

import pytest

from receiver.stores import StoreRateLimited, StoreUnavailable
from receiver.stores.github import GitHubStore
from receiver.stores.pacing import Budget
from tests.github_fake import FakeClock, FakeGitHub, Fault
from tests.support.captured import numbered_record as record
from tests.support.github_world import REPO, pygithub


def make_store(clock: FakeClock, mode: str = "pull-request", budget: Budget | None = None) -> GitHubStore:
    return GitHubStore(REPO, mode=mode, budget=budget or Budget(), clock=clock.now, sleep=clock.advance, github=pygithub())  # type: ignore[arg-type]


def writes(fake: FakeGitHub) -> list[str]:
    return [f"{e.method} {e.path}" for e in fake.requests() if e.content_creating]


class TestPullRequestMode:
    def test_one_record_is_one_branch_one_file_one_pull(self, fake: FakeGitHub, clock: FakeClock) -> None:
        """Three content-creating requests: the ref, the file on it, the pull request."""
        store = make_store(clock)
        rec = record(1)
        [delivered] = store.deliver([rec])
        assert delivered.branch == rec.branch and delivered.pull_number == 1 and delivered.created
        assert len(writes(fake)) == 3
        [pull] = fake.pulls(REPO)
        assert pull.head_ref == rec.branch and pull.base_ref == "main"
        assert fake.files(REPO, rec.branch)[rec.path] == rec.to_bytes()
        assert rec.path not in fake.files(REPO, "main")

    def test_describe_counts_the_writes_github_received(self, fake: FakeGitHub, clock: FakeClock) -> None:
        """describe()'s writes_sent (what /metrics shows) equals the content-creating requests the fake saw: 3 per record."""
        store = make_store(clock)
        store.deliver([record(1), record(2)])
        assert store.describe()["writes_sent"] == len(writes(fake)) == 6

    def test_pull_request_reads_at_a_glance(self, fake: FakeGitHub, clock: FakeClock) -> None:
        store = make_store(clock)
        store.deliver([record(7)])
        pull = store.github.get_repo(REPO).get_pull(1)  # type: ignore[union-attr]
        assert pull.title.startswith("Annotation: frame 7 of ")
        assert "| `Left Front Paw` (`left_front_paw`) | yes | 7 |" in pull.body
        assert "Validated at intake by receiver 0.1.0" in pull.body and "anonymous" in pull.body
        assert pull.user.login == "pose-receiver"

    def test_retry_adopts_branch_file_and_pull(self, fake: FakeGitHub, clock: FakeClock) -> None:
        """Delivering the same record again opens nothing new."""
        store = make_store(clock)
        first = store.deliver([record(2)])
        again = make_store(clock).deliver([record(2)])
        assert again[0].pull_number == first[0].pull_number
        assert len(fake.pulls(REPO, "all")) == 1
        assert len([r for r in fake.refs(REPO) if "annotations/" in r]) == 1

    def test_crash_after_branch_before_pull_gives_one_pull(self, fake: FakeGitHub, clock: FakeClock) -> None:
        """The branch and file exist from the first attempt; the retry only opens the PR."""
        rec = record(3)
        fake.add_fault(Fault("drop", method="POST", path=r".*/pulls$", count=1))
        with pytest.raises(StoreUnavailable):
            make_store(clock).deliver([rec])
        [delivered] = make_store(clock).deliver([rec])
        assert delivered.pull_number is not None
        assert len(fake.pulls(REPO, "all")) == 1

    def test_writes_are_at_least_a_second_apart(self, fake: FakeGitHub, clock: FakeClock) -> None:
        store = make_store(clock)
        store.deliver([record(n) for n in range(3)])
        times = [e.at for e in fake.requests() if e.content_creating]
        assert len(times) == 9
        assert all(b - a >= 1.0 for a, b in zip(times, times[1:]))

    def test_low_hourly_budget_coalesces_backlog_into_one_batch_pull(self, fake: FakeGitHub, clock: FakeClock) -> None:
        store = make_store(clock, budget=Budget(per_hour=20))
        delivered = store.deliver([record(n) for n in range(10)])
        assert {d.pull_number for d in delivered} == {1}
        assert len(fake.pulls(REPO)) == 1 and "coalesced" in str(store.describe()["notes"])


class TestDirectMode:
    def test_batch_is_one_commit_on_main(self, fake: FakeGitHub, clock: FakeClock) -> None:
        store = make_store(clock, "direct")
        records = [record(n) for n in range(50)]
        delivered = store.deliver(records)
        files = fake.files(REPO, "main")
        assert all(files[r.path] == r.to_bytes() for r in records)
        assert len({d.commit for d in delivered}) == 1
        assert len(writes(fake)) == 3

    def test_redelivery_makes_no_commit(self, fake: FakeGitHub, clock: FakeClock) -> None:
        store = make_store(clock, "direct")
        records = [record(n) for n in range(5)]
        store.deliver(records)
        head = fake.refs(REPO)["refs/heads/main"]
        again = store.deliver(records)
        assert fake.refs(REPO)["refs/heads/main"] == head
        assert not any(d.created for d in again)


class TestBatchMode:
    def test_batch_is_one_branch_one_commit_one_pull(self, fake: FakeGitHub, clock: FakeClock) -> None:
        store = make_store(clock, "batch")
        records = [record(n) for n in range(100)]
        delivered = store.deliver(records)
        assert {d.pull_number for d in delivered} == {1}
        assert len(writes(fake)) == 4
        branch = delivered[0].branch
        assert branch is not None and all(fake.files(REPO, branch)[r.path] == r.to_bytes() for r in records)


class TestReviewLinks:
    REVIEW = "https://labels.example.org/review"

    def test_pull_body_links_the_review_page(self, fake: FakeGitHub, clock: FakeClock) -> None:
        """A store given a review URL writes the record's link into its pull request."""
        store = GitHubStore(REPO, budget=Budget(), clock=clock.now, sleep=clock.advance, github=pygithub(), review_url=self.REVIEW)
        rec = record(7)
        store.deliver([rec])
        [pull] = fake.pulls(REPO)
        assert f"**Review:** {self.REVIEW}/{rec.id}" in pull.body

    def test_batch_pull_links_each_record(self, fake: FakeGitHub, clock: FakeClock) -> None:
        """Each row of a batch pull request's table carries its record's link."""
        store = GitHubStore(REPO, mode="batch", budget=Budget(), clock=clock.now, sleep=clock.advance, github=pygithub(), review_url=self.REVIEW)
        records = [record(n) for n in range(3)]
        store.deliver(records)
        [pull] = fake.pulls(REPO)
        assert all(f"| {self.REVIEW}/{r.id} |" in pull.body for r in records)

    def test_public_url_setting_becomes_the_stores_review_url(self) -> None:
        """RECEIVER_PUBLIC_URL reaches the GitHub store as <public url>/review."""
        from receiver.settings import Settings
        from receiver.stores import build_store

        store = build_store(Settings(store="github", github_repository=REPO, github_token="t", public_url="https://labels.example.org/r"))
        assert isinstance(store, GitHubStore) and store.review_url == "https://labels.example.org/r/review"


class TestLimitsAndFaults:
    def test_retry_after_blocks_every_request_until_it_passes(self, fake: FakeGitHub, clock: FakeClock) -> None:
        """A 403 with retry-after: nothing is sent before the time is up, then delivery goes on."""
        fake.set_limits(secondary_per_minute=4)
        store = make_store(clock)
        delivered = []
        pending = [record(n) for n in range(4)]
        while pending:
            try:
                done = store.deliver(pending)
            except StoreRateLimited as exc:
                assert exc.retry_after is not None
                clock.advance(exc.retry_after)
                continue
            delivered += done
            pending = pending[len(done):]
        assert len(fake.pulls(REPO)) == 4
        assert not any(e.retry_after_pending for e in fake.requests())

    def test_server_errors_become_store_unavailable(self, fake: FakeGitHub, clock: FakeClock) -> None:
        fake.add_fault(Fault("status", status=503, count=None))
        with pytest.raises(StoreUnavailable, match="503"):
            make_store(clock).deliver([record(1)])

    def test_bad_token_says_what_to_check(self, fake: FakeGitHub, clock: FakeClock) -> None:
        store = GitHubStore(REPO, clock=clock.now, sleep=clock.advance, github=pygithub("wrong"))
        with pytest.raises(StoreUnavailable, match="GITHUB_TOKEN") as caught:
            store.deliver([record(1)])
        assert "wrong" not in str(caught.value)
