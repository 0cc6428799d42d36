"""The consensus rule on synthetic volunteers: true points, Gaussian noise, a few deliberate outliers."""

from __future__ import annotations

import math
import random

import pytest

from receiver.consensus import (
    ConsensusRule,
    FrameKey,
    consensus,
    frame_consensus,
    group_by_frame,
    vote_of,
)
from tests.export.records import KEYPOINTS, TRUTH, VIDEO, crowd, record

NOISE = 4.0


class TestConsensus:
    def test_centre_lies_within_the_noise_of_the_truth(self) -> None:
        """Each keypoint's consensus is within two noise deviations of the true point, outliers notwithstanding."""
        records = crowd(random.Random(7), volunteers=15, noise=NOISE, outliers=(3, 9))
        (result,) = consensus(records, KEYPOINTS)
        for name, centre in zip(result.keypoints, result.centre):
            assert centre is not None
            assert math.dist(centre, TRUTH[name]) < 2 * NOISE, name

    def test_flags_the_outliers_and_only_them(self) -> None:
        """The volunteers who put the nose 150 px off are the outliers, and nobody else is."""
        records = crowd(random.Random(11), volunteers=15, noise=NOISE, outliers=(3, 9))
        (result,) = consensus(records, KEYPOINTS)
        assert {s.submitter for s in result.outliers} == {"volunteer-3", "volunteer-9"}
        assert all(s.outlying_keypoints == ("nose",) for s in result.outliers)

    def test_flags_no_honest_volunteer_over_many_frames(self) -> None:
        """Across 200 frames of honest noisy clicks, almost no submission is flagged (under 1%)."""
        rng = random.Random(5)
        records = [r for frame in range(200) for r in crowd(rng, volunteers=6, noise=NOISE, frame_index=frame)]
        results = consensus(records, KEYPOINTS)
        flagged = sum(len(r.outliers) for r in results)
        assert flagged < 0.01 * len(records)

    def test_spread_estimates_the_noise(self) -> None:
        """The median distance to the centre is near the Rayleigh median of the noise, sigma * 1.18."""
        records = crowd(random.Random(3), volunteers=41, noise=NOISE)
        (result,) = consensus(records, KEYPOINTS)
        for spread in result.spread:
            assert spread is not None
            assert 0.6 * 1.18 * NOISE < spread < 1.5 * 1.18 * NOISE

    def test_outliers_score_lower_agreement(self) -> None:
        """An outlier's OKS-style agreement is below every inlier's."""
        records = crowd(random.Random(13), volunteers=8, noise=NOISE, outliers=(0,))
        (result,) = consensus(records, KEYPOINTS)
        outlier = result.outliers[0]
        assert all(outlier.agreement < s.agreement for s in result.inliers)
        assert outlier.error is not None and outlier.error > 0.01

    def test_two_labels_are_never_judged(self) -> None:
        """With two clicks nobody can say which one is wrong, so neither is an outlier."""
        records = crowd(random.Random(1), volunteers=2, noise=NOISE, outliers=(1,))
        (result,) = consensus(records, KEYPOINTS)
        assert result.outliers == ()

    @pytest.mark.parametrize(("volunteers", "settled"), [(2, False), (3, True)])
    def test_a_frame_settles_after_k_agreeing_labels(self, volunteers: int, settled: bool) -> None:
        """With K = 3, a frame is settled by its third agreeing label, not before."""
        records = crowd(random.Random(2), volunteers=volunteers, noise=NOISE)
        (result,) = consensus(records, KEYPOINTS, ConsensusRule(settle=3))
        assert result.settled is settled

    def test_outliers_do_not_count_towards_settling(self) -> None:
        """Four labels of which two are outliers do not settle a frame that needs three."""
        records = crowd(random.Random(4), volunteers=5, noise=NOISE, outliers=(1, 2))
        (result,) = consensus(records, KEYPOINTS, ConsensusRule(settle=4))
        assert len(result.inliers) == 3 and not result.settled

    def test_a_keypoint_most_left_unplaced_is_missing(self) -> None:
        """When most inliers did not place a keypoint, the consensus leaves it out."""
        placed = {k: v for k, v in TRUTH.items()}
        hidden = {**placed, "tail_base": None}
        records = [record(placed, submitter="a"), record(hidden, submitter="b"), record(hidden, submitter="c")]
        (result,) = consensus(records, KEYPOINTS)
        assert result.centre[KEYPOINTS.index("tail_base")] is None
        assert result.centre[KEYPOINTS.index("nose")] == TRUTH["nose"]


class TestFrameConsensus:
    def test_one_label_is_its_own_consensus(self) -> None:
        """A single submission is the centre, with zero spread and full agreement."""
        only = record(TRUTH)
        result = frame_consensus(
            FrameKey(VIDEO, 10), [vote_of(only, KEYPOINTS)], keypoints=KEYPOINTS, width=1280, height=720
        )
        assert result.centre == tuple(TRUTH[k] for k in KEYPOINTS)
        assert result.spread == (0.0,) * len(KEYPOINTS)
        assert result.submissions[0].agreement == 1.0


class TestGroupByFrame:
    def test_groups_records_by_video_and_frame(self) -> None:
        """Records of the same frame go together; frames come out sorted."""
        a, b, c = record(TRUTH, frame_index=5), record(TRUTH, frame_index=2), record(TRUTH, frame_index=5, submitter="bob")
        groups = group_by_frame([a, b, c])
        assert list(groups) == [FrameKey(VIDEO, 2), FrameKey(VIDEO, 5)]
        assert groups[FrameKey(VIDEO, 5)] == [a, c]


class TestConsensusRule:
    def test_refuses_a_settle_below_one(self) -> None:
        """K = 0 would settle frames nobody labeled; the rule refuses it."""
        with pytest.raises(ValueError, match="settle"):
            ConsensusRule(settle=0)
