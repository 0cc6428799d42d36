"""GitHubStore's beat: a long paced delivery calls it before every request and every slice of every wait."""

from __future__ import annotations

from receiver.stores.github import GitHubStore
from receiver.stores.pacing import WAIT_SLICE, Budget, paced_sleep
from tests.github_fake import FakeClock, FakeGitHub
from tests.support.captured import numbered_record as record
from tests.support.github_world import REPO, pygithub


class Journey:
    """What happened, in order: each beat and each sleep, at the fake clock's time."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.events: list[tuple[str, float]] = []

    def beat(self) -> None:
        self.events.append(("beat", self.clock.now()))

    def sleep(self, seconds: float) -> None:
        self.events.append(("sleep", seconds))
        self.clock.advance(seconds)


class TestPacedSleep:
    def test_a_wait_is_cut_into_slices_each_after_a_beat(self, clock: FakeClock) -> None:
        """3.5 s of waiting: four sleeps of at most WAIT_SLICE, each right after a beat, adding up to the wait."""
        journey = Journey(clock)
        paced_sleep(3.5, journey.sleep, journey.beat)
        kinds = [kind for kind, _ in journey.events]
        assert kinds == ["beat", "sleep"] * 4
        sleeps = [value for kind, value in journey.events if kind == "sleep"]
        assert max(sleeps) <= WAIT_SLICE and sum(sleeps) == 3.5

    def test_without_a_beat_it_only_sleeps(self, clock: FakeClock) -> None:
        """No beat given: the same slices, and nothing else is called."""
        journey = Journey(clock)
        paced_sleep(2.0, journey.sleep, None)
        assert journey.events == [("sleep", 1.0), ("sleep", 1.0)]


class TestDeliveryBeats:
    def test_a_paced_delivery_beats_before_every_request(self, fake: FakeGitHub, clock: FakeClock) -> None:
        """Five pull requests at one write a second: at least one beat per request GitHub received, none missing a sleep."""
        store = GitHubStore(REPO, budget=Budget(min_interval=1.0), clock=clock.now, sleep=clock.advance, github=pygithub())
        journey = Journey(clock)
        store.sleep = journey.sleep
        store.call.sleep = journey.sleep
        outcomes = store.deliver([record(n) for n in range(5)], beat=journey.beat)
        assert len(outcomes) == 5 and len(fake.pulls(REPO)) == 5
        beats = [at for kind, at in journey.events if kind == "beat"]
        assert len(beats) >= len(fake.requests())
        # Every sleep follows a beat, and no sleep is longer than a slice.
        for (kind, value), (before, _) in zip(journey.events[1:], journey.events):
            if kind == "sleep":
                assert before == "beat" and value <= WAIT_SLICE

    def test_the_beat_ends_with_the_delivery(self, fake: FakeGitHub, clock: FakeClock) -> None:
        """A later call without a beat does not call the earlier delivery's."""
        store = GitHubStore(REPO, clock=clock.now, sleep=clock.advance, github=pygithub())
        journey = Journey(clock)
        store.deliver([record(1)], beat=journey.beat)
        counted = len(journey.events)
        store.deliver([record(2)])
        assert counted > 0 and len(journey.events) == counted
