"""Several animals per frame: instances matched across volunteers, the number of animals decided, each animal's consensus."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from receiver.consensus import Consensus, FrameKey, FrameTally, consensus, records_table, vote_of, votes_of
from receiver.consensus.instances import match_instances, pair_oks
from receiver.contract.records import Record
from receiver.export.tables import consensus_json
from tests.consensus.crowd import PAIRS
from tests.consensus.herd import Herd, make_herd
from tests.export.records import KEYPOINTS, TRUTH, VIDEO, submission

SIGMA = np.full(len(KEYPOINTS), 0.003)
DIAGONAL = float(np.hypot(1280, 720))
PAIR_INDEX = np.array([[0, 1], [2, 3]])
WHEN = datetime(2026, 1, 15, 12, tzinfo=UTC)


def _mouse(dx: float) -> np.ndarray:
    return np.array([TRUTH[k] for k in KEYPOINTS]) + [dx, 0.0]


def _record(animals: list[tuple[float, str | None]], volunteer: str, *, jitter: float = 0.0, seed: int = 0) -> Record:
    """One volunteer's label of frame 10: a mouse per (shift, track), jittered."""
    rng = np.random.default_rng(seed)
    body = submission({}, metadata={"volunteer": volunteer})
    del body["labels"]
    instances: list[dict[str, Any]] = []
    for dx, track in animals:
        points = _mouse(dx) + rng.normal(0, jitter, (len(KEYPOINTS), 2))
        labels = submission({k: (float(x), float(y)) for k, (x, y) in zip(KEYPOINTS, points, strict=True)})["labels"]
        instances.append({"labels": labels} | ({"track": track} if track else {}))
    body["instances"] = instances
    return Record.create(body, submitter="anonymous", received_at=WHEN, receiver_version="0.1.0")


class TestMatchInstances:
    def test_instances_in_any_order_are_matched_to_the_same_animals(self) -> None:
        left, right = _mouse(-300), _mouse(300)
        matching = match_instances([np.stack([left, right]), np.stack([right, left]), np.stack([left, right])], SIGMA, DIAGONAL, PAIR_INDEX)
        assert matching.animals == 2
        assert matching.animal[0] == (matching.animal[1][1], matching.animal[1][0]) == matching.animal[2]

    def test_a_spurious_animal_of_one_volunteer_in_three_is_left_out_and_disputed(self) -> None:
        left, right, ghost = _mouse(-300), _mouse(300), _mouse(0) + [0, 250]
        matching = match_instances([np.stack([left, right]), np.stack([left, right, ghost]), np.stack([right, left])], SIGMA, DIAGONAL, PAIR_INDEX)
        assert (matching.animals, matching.animal[1][2], matching.disputed) == (2, -1, True)

    def test_an_animal_skipped_by_one_volunteer_in_three_is_kept(self) -> None:
        left, right = _mouse(-300), _mouse(300)
        matching = match_instances([np.stack([left, right]), left[None], np.stack([right, left])], SIGMA, DIAGONAL, PAIR_INDEX)
        assert matching.animals == 2 and matching.counts == (2, 1, 2)

    def test_swapped_paws_still_match_their_animal(self) -> None:
        """Left and right exchanged scores as high as kept: the swap is repaired later, within the animal."""
        mouse = _mouse(0)
        swapped = mouse[[1, 0, 3, 2, 4, 5]]
        assert pair_oks(swapped[None], mouse[None], SIGMA, DIAGONAL, PAIR_INDEX)[0, 0] == pytest.approx(1.0)
        assert pair_oks(swapped[None], mouse[None], SIGMA, DIAGONAL, np.zeros((0, 2), dtype=np.int64))[0, 0] < 0.5


class TestVotes:
    def test_a_record_of_two_animals_votes_with_its_first_where_one_vote_is_needed(self) -> None:
        record = _record([(-300, None), (300, None)], "a")
        assert vote_of(record, KEYPOINTS).points[0] == pytest.approx(tuple(_mouse(-300)[0]))
        assert [vote.points[0][0] for vote in votes_of(record, KEYPOINTS)] == pytest.approx([_mouse(-300)[0, 0], _mouse(300)[0, 0]])


@pytest.fixture(scope="module")
def pair_result() -> Consensus:
    records = [_record([(-300, "mother"), (300, "pup")][:: 1 if i % 2 else -1], f"v{i}", jitter=2.0, seed=i) for i in range(5)]
    records.append(_record([(-300, None), (300, None), (0, None)], "spurious", jitter=2.0, seed=9))
    return consensus(records, KEYPOINTS, symmetry=PAIRS)


class TestConsensus:
    def test_each_decided_animal_is_a_frame_with_its_number_and_track(self, pair_result: Consensus) -> None:
        animals = [(f.animal, f.track, f.settled) for f in pair_result.frames]
        assert sorted(animals, key=str) == [(0, "mother", True), (1, "pup", True)] or sorted(a[1] for a in animals) == ["mother", "pup"]
        assert len(animals) == 2

    def test_each_animal_gets_its_own_consensus_point(self, pair_result: Consensus) -> None:
        by_track = {f.track: np.array(f.centre, dtype=float) for f in pair_result.frames}
        assert np.abs(by_track["mother"] - _mouse(-300)).max() < 4
        assert np.abs(by_track["pup"] - _mouse(300)).max() < 4

    def test_a_disagreement_on_the_number_of_animals_is_flagged_for_review(self, pair_result: Consensus) -> None:
        assert all(any("number of animals" in why for why in f.review) for f in pair_result.frames)

    def test_the_json_frame_carries_instances_with_keypoints_and_track(self, pair_result: Consensus) -> None:
        (frame,) = json.loads(consensus_json(pair_result))["frames"]
        assert "keypoints" not in frame and frame["animals"] == 2
        assert sorted(i["track"] for i in frame["instances"]) == ["mother", "pup"]
        assert set(frame["instances"][0]["keypoints"]) == set(KEYPOINTS)
        assert frame["labels"] == 6

    def test_a_single_animal_label_in_a_frame_of_several_votes_as_one_instance(self) -> None:
        records = [_record([(-300, None), (300, None)], f"v{i}", jitter=1.0, seed=i) for i in range(3)]
        single = Record.create(submission({k: tuple(p) for k, p in zip(KEYPOINTS, _mouse(300).tolist(), strict=True)}, metadata={"volunteer": "one"}), submitter="anonymous", received_at=WHEN, receiver_version="0.1.0")
        table = records_table([single, *records], KEYPOINTS)
        assert len(table.frames) == 2 and single.id in table.record_ids

    def test_single_animal_frames_keep_their_shape(self) -> None:
        records = [Record.create(submission(dict(TRUTH), metadata={"volunteer": f"v{i}"}), submitter="anonymous", received_at=WHEN, receiver_version="0.1.0") for i in range(3)]
        (frame,) = json.loads(consensus_json(consensus(records, KEYPOINTS)))["frames"]
        assert list(frame) == ["video_url", "frame_index", "labels", "inliers", "settled", "score", "gold", "review", "keypoints", "submissions"]


@pytest.fixture(scope="module")
def herd() -> Herd:
    return make_herd(5, frames=60, per_frame=7, volunteers=30)


def test_a_herd_of_one_two_and_three_gets_the_number_of_animals_right_nearly_always(herd: Herd) -> None:
    result = consensus(herd.records, KEYPOINTS, symmetry=PAIRS)
    decided = Counter(f.key.frame_index for f in result.frames)
    right = sum(decided[f] == len(truth) for f, truth in herd.truth.items())
    assert right >= 0.95 * len(herd.truth)


def test_volunteers_are_scored_on_their_matched_instances(herd: Herd) -> None:
    """Random clickers match no animal well: they rank below the honest volunteers."""
    result = consensus(herd.records, KEYPOINTS, symmetry=PAIRS)
    agreement = {v.volunteer: v.agreement for v in result.volunteers}
    honest = [agreement[v] for v, kind in herd.kind.items() if kind == "honest" and v in agreement]
    random_ = [agreement[v] for v, kind in herd.kind.items() if kind == "random" and v in agreement]
    assert max(random_) < np.median(honest)


class TestFrameTally:
    """Retirement's view: a record of several animals agrees when each of its animals agrees and it sent them all."""

    def _tally(self) -> FrameTally:
        return FrameTally(FrameKey(VIDEO, 10), 1280, 720, KEYPOINTS, symmetry=PAIRS)

    def test_records_whose_every_animal_matches_agree(self) -> None:
        records = [_record([(-300, None), (300, None)][:: 1 if n % 2 else -1], f"v{n}", jitter=1.0, seed=n) for n in range(3)]
        state = self._tally().extend(records)
        assert (state.labels, state.agreeing_labels, state.settled(3)) == (3, 3, True)

    def test_a_record_that_missed_an_animal_or_put_one_far_off_does_not_agree(self) -> None:
        records = [_record([(-300, None), (300, None)], f"v{n}", jitter=1.0, seed=n) for n in range(3)]
        records.append(_record([(-300, None)], "skipper", jitter=1.0, seed=7))
        records.append(_record([(-300, None), (330, None)], "off", jitter=1.0, seed=8))
        state = self._tally().extend(records)
        assert (state.labels, state.agreeing_labels) == (5, 3)
        assert {s.record_id for s in state.consensus.outliers} == {records[3].id, records[4].id}

    def test_single_animal_frames_are_judged_as_before(self) -> None:
        records = [Record.create(submission(dict(TRUTH), metadata={"volunteer": f"v{i}"}), submitter="anonymous", received_at=WHEN, receiver_version="0.1.0") for i in range(3)]
        state = self._tally().extend(records)
        assert state.consensus.animal is None and state.agreeing_labels == 3
