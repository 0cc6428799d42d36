"""The consensus on seeded synthetic crowds: quality, swaps, reliability, noise, increments, gold, visibility, refusals."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest

from receiver.consensus import ConsensusRule, FrameKey, FrameTally, Model, consensus, consensus_of_table, records_table, vote_of
from receiver.consensus.repository import answer_arrays, pair_indices
from receiver.consensus.votes import table_of
from receiver.contract.schemas import SkeletonError, load_skeleton
from tests.consensus.crowd import NOISE, PAIRS, Crowd, make_crowd
from tests.export.records import KEYPOINTS, TRUTH, VIDEO, crowd, record


@pytest.fixture(scope="module")
def small() -> Crowd:
    return make_crowd(3, frames=150, volunteers=40)


def _errors(c: Crowd, frames: dict[int, np.ndarray]) -> np.ndarray:
    return np.concatenate([np.hypot(*(frames[f] - c.truth[f]).T) for f in c.truth])


class TestQuality:
    def test_beats_the_median_on_mean_error(self, small: Crowd) -> None:
        """On the same clicks the learned consensus is closer to the truth than the per-keypoint median."""
        result = consensus(small.records, KEYPOINTS, symmetry=PAIRS)
        ours = {f.key.frame_index: np.array(f.centre, dtype=float) for f in result.frames}
        by_frame: dict[int, list[np.ndarray]] = {}
        for rid, f in small.frame_of.items():
            by_frame.setdefault(f, []).append(small.clicks[rid])
        median = {f: np.median(np.stack(v), axis=0) for f, v in by_frame.items()}
        assert _errors(small, ours).mean() < _errors(small, median).mean()

    def test_finds_swaps_with_precision_and_recall_of_095(self, small: Crowd) -> None:
        """Swapped pairs are found with precision and recall of at least 0.95."""
        result = consensus(small.records, KEYPOINTS, symmetry=PAIRS)
        found = {(s.record_id, p) for f in result.frames for s in f.submissions for p in s.swapped}
        actual = {(r, p) for r in small.swapped for p in PAIRS}
        assert len(found & actual) >= 0.95 * len(found) and len(found & actual) >= 0.95 * len(actual)

    def test_random_clickers_rank_in_the_bottom_15_percent(self, small: Crowd) -> None:
        """Every random clicker is among the least reliable 15% of volunteers."""
        result = consensus(small.records, KEYPOINTS, symmetry=PAIRS)
        ranked = sorted(result.volunteers, key=lambda v: v.reliability)
        bottom = {v.volunteer for v in ranked[: int(0.15 * len(ranked))]}
        assert {v for v, k in small.kind.items() if k == "random"} <= bottom

    def test_learned_sigmas_order_keypoints_as_the_noise(self, small: Crowd) -> None:
        """The learned per-keypoint sigmas rank the keypoints as the generated noise does."""
        result = consensus(small.records, KEYPOINTS, symmetry=PAIRS)
        assert list(np.argsort(result.model.sigma)) == list(np.argsort(NOISE))

    def test_a_swap_is_not_counted_as_two_outliers(self, small: Crowd) -> None:
        """A swapper's label, swapped back, agrees: it is reported as a swap, not as outlying paws."""
        result = consensus(small.records, KEYPOINTS, symmetry=PAIRS)
        swapped = [s for f in result.frames for s in f.submissions if s.record_id in small.swapped]
        assert sum(not s.outlier and bool(s.swapped) for s in swapped) >= 0.95 * len(swapped)


class TestIncremental:
    def test_one_at_a_time_equals_recomputing(self, small: Crowd) -> None:
        """Adding a frame's records one by one gives the recomputed consensus within 0.01 px."""
        learned = consensus(small.records, KEYPOINTS, symmetry=PAIRS).model
        frame_records = [r for r in small.records if small.frame_of[r.id] == 7]
        tally = FrameTally(FrameKey(VIDEO, 7), 1280, 720, KEYPOINTS, model=learned, symmetry=PAIRS)
        for r in reversed(frame_records):
            state = tally.add(r)
        again = consensus_of_table(records_table(frame_records, KEYPOINTS), ConsensusRule(), symmetry=PAIRS, model=learned)
        (frame,) = again.frames
        for a, b in zip(state.consensus.centre, frame.centre):
            assert a is not None and b is not None and math.dist(a, b) < 0.01

    def test_settles_with_the_kth_agreeing_label(self) -> None:
        """With the prior model, the frame is settled(3) after the third agreeing label and not before."""
        tally = FrameTally(FrameKey(VIDEO, 10), 1280, 720, KEYPOINTS)
        states = [tally.add(r) for r in crowd(random.Random(2), volunteers=3, noise=3.0)]
        assert [s.settled(3) for s in states] == [False, False, True]
        assert states[-1].agreeing_labels == 3

    def test_a_resent_record_counts_once(self) -> None:
        """Adding the same record twice leaves one label."""
        tally = FrameTally(FrameKey(VIDEO, 10), 1280, 720, KEYPOINTS)
        one = record(TRUTH)
        tally.add(one)
        assert tally.add(one).labels == 1


class TestBadInput:
    def test_too_few_volunteers_leave_the_frame_unsettled_without_a_centre(self) -> None:
        """Two labels with K = 3 give an unsettled frame and no made-up consensus."""
        (frame,) = consensus(crowd(random.Random(1), volunteers=2, noise=3.0), KEYPOINTS).frames
        assert not frame.settled and frame.centre == (None,) * len(KEYPOINTS)

    def test_a_skeleton_pairing_an_unknown_keypoint_is_refused(self, tmp_path: Path) -> None:
        """A symmetry pair naming a keypoint the skeleton lacks is refused with a sentence."""
        document = json.loads((Path(load_skeleton.__code__.co_filename).parents[2] / "schemas" / "skeleton.json").read_text())
        document["symmetry"] = [["left_front_paw", "left_ear"]]
        (tmp_path / "s.json").write_text(json.dumps(document))
        with pytest.raises(SkeletonError, match="left_ear, not a keypoint of this skeleton"):
            load_skeleton(tmp_path / "s.json")


class TestGold:
    def test_gold_is_never_outvoted(self) -> None:
        """A frame with an expert label keeps the expert's point though every volunteer clicks elsewhere."""
        records = crowd(random.Random(4), volunteers=6, noise=2.0)
        expert = {k: (x + 30, y) for k, (x, y) in TRUTH.items()}
        gold = {FrameKey(VIDEO, 10): tuple(expert[k] for k in KEYPOINTS)}
        (frame,) = consensus(records, KEYPOINTS, gold=gold).frames
        assert frame.gold and frame.centre[KEYPOINTS.index("nose")] == expert["nose"]

    def test_gold_scores_volunteers_against_truth(self) -> None:
        """Each volunteer of a gold frame gets an error against the expert."""
        records = crowd(random.Random(4), volunteers=6, noise=2.0)
        gold = {FrameKey(VIDEO, 10): tuple(TRUTH[k] for k in KEYPOINTS)}
        result = consensus(records, KEYPOINTS, gold=gold)
        assert all(v.gold_error_px is not None and v.gold_error_px < 8 for v in result.volunteers)
        assert result.gold_curve[0][0] == 1


class TestVisibility:
    def test_visibility_follows_the_majority(self) -> None:
        """When most volunteers mark the nose hidden, the consensus nose is hidden; the tail stays visible."""
        rng = random.Random(6)
        records = [
            record({k: (x + rng.gauss(0, 2), y + rng.gauss(0, 2)) for k, (x, y) in TRUTH.items()}, submitter=f"v{i}", hidden=("nose",) if i < 4 else ())
            for i in range(6)
        ]
        (frame,) = consensus(records, KEYPOINTS).frames
        assert frame.visible[KEYPOINTS.index("nose")] is False
        assert frame.visible[KEYPOINTS.index("tail_base")] is True


class TestModel:
    def test_the_prior_treats_every_volunteer_alike(self) -> None:
        """An unknown volunteer maps to the prior row."""
        assert list(Model.prior(KEYPOINTS).index(["anyone", "else"])) == [0, 0]


class TestRecordsTable:
    def test_lays_out_the_same_table_as_votes(self) -> None:
        """Records read straight into arrays give the table of their votes: unplaced NaN, hidden flags, frames, volunteers."""
        records = [
            record({"nose": (10.0, 20.0), "tail_base": (30.0, 40.0)}, submitter="a", hidden=("nose",)),
            record(TRUTH, submitter="b", frame_index=11),
            record({"nose": (12.0, 22.0)}, submitter="a", frame_index=11),
        ]
        direct = records_table(records, KEYPOINTS, chunk=2)
        by_votes = table_of(
            ((FrameKey(VIDEO, r.submission["frame_index"]), (1280, 720), vote_of(r, KEYPOINTS)) for r in records), KEYPOINTS
        )
        assert direct.frames == by_votes.frames and direct.volunteers == by_votes.volunteers
        assert direct.record_ids == by_votes.record_ids
        np.testing.assert_array_equal(direct.clicks, by_votes.clicks)
        np.testing.assert_array_equal(direct.visible, by_votes.visible)
        np.testing.assert_array_equal(direct.frame, by_votes.frame)
        np.testing.assert_array_equal(direct.volunteer, by_votes.volunteer)


class TestStreaming:
    def test_streamed_frames_equal_the_kept_ones(self, small: Crowd) -> None:
        """iter_frames builds, in the same order, the frames that .frames keeps."""
        result = consensus(small.records[:400], KEYPOINTS, symmetry=PAIRS)
        streamed = list(result.answers.frames(chunk=7))
        assert streamed == result.frames


class TestWarmStart:
    def test_a_start_off_the_answer_converges_to_it(self, small: Crowd) -> None:
        """Frames started 1 px away from their consensus come back to it within 0.01 px."""
        result = consensus(small.records, KEYPOINTS, symmetry=PAIRS)
        table = records_table(small.records, KEYPOINTS)
        pairs = pair_indices(KEYPOINTS, PAIRS)
        cold, _ = answer_arrays(table, result.model, pairs, ConsensusRule())
        warm, _ = answer_arrays(table, result.model, pairs, ConsensusRule(), start=cold.centre + 1.0)
        np.testing.assert_allclose(warm.centre, cold.centre, atol=0.01)
