"""A model in the consensus: accepted suggestions vote once, as the model, learned per keypoint; they settle nothing alone."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from receiver.consensus import Consensus, FrameKey, consensus
from receiver.contract.records import Record
from tests.consensus.crowd import PAIRS
from tests.consensus.suggested import MODEL, VIDEO, ModelCrowd, make_model_crowd
from tests.export.records import EPOCH, KEYPOINTS, TRUTH, submission

#: The model's nose is 40 px off; its other points are right.
PREDICTED = {**TRUTH, "nose": (TRUTH["nose"][0] + 40.0, TRUTH["nose"][1])}


def _label(name: str, accepted: frozenset[str] | set[str], *, rng: random.Random, frame_index: int = 10, model: str = MODEL) -> Record:
    """A volunteer's label: the keypoints in `accepted` are the model's suggestions taken unchanged, the rest clicked near the truth."""
    points = {k: PREDICTED[k] if k in accepted else (x + rng.gauss(0, 2.0), y + rng.gauss(0, 2.0)) for k, (x, y) in TRUTH.items()}
    body = submission(points, frame_index=frame_index, metadata={"volunteer": name, "model": model})
    for label in body["labels"]:
        label["origin"] = "suggested" if label["id"] in accepted else "placed"
    return Record.create(body, submitter="anonymous", received_at=EPOCH, receiver_version="0.1.0")


def _frame(result: Consensus, frame_index: int = 10) -> Any:
    return next(f for f in result.frames if f.key.frame_index == frame_index)


class TestOneVote:
    @pytest.mark.parametrize("accepting", [2, 7])
    def test_the_model_is_one_submission_however_many_accepted(self, accepting: int) -> None:
        """Any number of volunteers accepting the same suggestions make one submission of `model:<version>`, not one each."""
        rng = random.Random(accepting)
        records = [_label(f"a{i}", set(KEYPOINTS), rng=rng) for i in range(accepting)]
        records += [_label(f"p{i}", set(KEYPOINTS) - {"nose"}, rng=rng) for i in range(3)]
        frame = _frame(consensus(records, KEYPOINTS, symmetry=PAIRS))
        models = [s for s in frame.submissions if s.volunteer == f"model:{MODEL}"]
        assert len(models) == 1 and frame.labels == accepting + 3 + 1

    def test_seven_acceptances_of_a_wrong_point_do_not_outvote_three_volunteers(self) -> None:
        """Seven volunteers accepting a nose 40 px off lose to three who placed it: the consensus stays at the truth."""
        rng = random.Random(1)
        records = [_label(f"a{i}", set(KEYPOINTS), rng=rng) for i in range(7)]
        records += [_label(f"p{i}", set(KEYPOINTS) - {"nose"}, rng=rng) for i in range(3)]
        frame = _frame(consensus(records, KEYPOINTS, symmetry=PAIRS))
        nose = frame.centre[KEYPOINTS.index("nose")]
        assert frame.settled and nose is not None and np.hypot(nose[0] - TRUTH["nose"][0], nose[1] - TRUTH["nose"][1]) < 5

    def test_the_model_appears_in_the_volunteers_table(self) -> None:
        """The model is a row of the volunteers table, named for its version, with one label per frame it voted on."""
        rng = random.Random(2)
        records = [_label(f"a{i}", set(KEYPOINTS), rng=rng, frame_index=f) for f in (10, 11) for i in range(3)]
        scores = {v.volunteer: v for v in consensus(records, KEYPOINTS).volunteers}
        assert scores[f"model:{MODEL}"].labels == 2 and scores[f"model:{MODEL}"].keypoint_reliability is not None


class TestNotSettledBySuggestions:
    def test_a_frame_agreed_only_by_accepted_suggestions_is_not_settled(self) -> None:
        """Five volunteers accepting every suggestion settle nothing: the frame has no consensus and is for review."""
        rng = random.Random(3)
        frame = _frame(consensus([_label(f"a{i}", set(KEYPOINTS), rng=rng) for i in range(5)], KEYPOINTS))
        assert not frame.settled and all(c is None for c in frame.centre)
        assert any("only accepted suggestions agree" in reason for reason in frame.review)

    def test_the_same_points_placed_by_volunteers_settle(self) -> None:
        """The same five labels with no origin are the volunteers' own votes, and settle the frame."""
        records = []
        for i in range(5):
            body = submission(PREDICTED, metadata={"volunteer": f"a{i}"})
            records.append(Record.create(body, submitter="anonymous", received_at=EPOCH, receiver_version="0.1.0"))
        assert _frame(consensus(records, KEYPOINTS)).settled

    def test_accepted_points_keep_their_place_in_a_settled_frame(self) -> None:
        """Keypoints volunteers accepted (and nobody contradicted) keep the model's point in a frame their own clicks settle."""
        rng = random.Random(4)
        records = [_label(f"p{i}", set(KEYPOINTS) - {"nose"}, rng=rng) for i in range(3)]
        frame = _frame(consensus(records, KEYPOINTS))
        paw = frame.centre[KEYPOINTS.index("left_hind_paw")]
        assert frame.settled and paw is not None and np.allclose(paw, PREDICTED["left_hind_paw"], atol=0.01)


@pytest.fixture(scope="module")
def nose_wrong() -> ModelCrowd:
    """A model wrong on half the noses and right on every other keypoint, with expert points on a fifth of the frames."""
    return make_model_crowd(5, frames=120, per_frame=6, wrong_share=np.array([0.0, 0.0, 0.0, 0.0, 0.5, 0.0]), gold_share=0.2, hard_share=None)


def _gold(crowd: ModelCrowd) -> dict[FrameKey, tuple[tuple[float, float], ...]]:
    return {FrameKey(VIDEO, f): tuple((float(x), float(y)) for x, y in t) for f, t in crowd.gold.items()}


class TestReliabilityPerKeypoint:
    def test_the_model_is_least_reliable_on_the_keypoint_it_gets_wrong(self, nose_wrong: ModelCrowd) -> None:
        """Learned on gold and on points volunteers placed, the model's nose reliability is below each of its other keypoints'."""
        result = consensus(nose_wrong.records(6), KEYPOINTS, symmetry=PAIRS, gold=_gold(nose_wrong))
        model = next(v for v in result.volunteers if v.volunteer == f"model:{MODEL}")
        assert model.keypoint_reliability is not None
        nose = model.keypoint_reliability[KEYPOINTS.index("nose")]
        assert all(nose < r - 0.2 for k, r in zip(KEYPOINTS, model.keypoint_reliability) if k != "nose")

    def test_the_model_error_per_keypoint_is_largest_on_the_nose(self, nose_wrong: ModelCrowd) -> None:
        """The model's mean error against settled points is largest on the nose, where it is wrong, and small where it is right."""
        result = consensus(nose_wrong.records(6), KEYPOINTS, symmetry=PAIRS, gold=_gold(nose_wrong))
        model = next(v for v in result.volunteers if v.volunteer == f"model:{MODEL}")
        errors = dict(zip(KEYPOINTS, model.keypoint_error_px or ()))
        assert errors["nose"] is not None and errors["nose"] > 10
        assert all(e is not None and e < 5 for k, e in errors.items() if k != "nose")



def test_a_label_that_only_accepted_suggestions_is_neither_an_outlier_nor_agreeing() -> None:
    """A volunteer who accepted every suggestion placed nothing to judge: not an outlier, not an agreeing label."""
    rng = random.Random(6)
    records = [_label("a0", set(KEYPOINTS), rng=rng)] + [_label(f"p{i}", set(KEYPOINTS) - {"nose"}, rng=rng) for i in range(3)]
    frame = _frame(consensus(records, KEYPOINTS))
    accepting = next(s for s in frame.submissions if s.volunteer == "anonymous/a0")
    assert accepting.suggested_only and not accepting.outlier and accepting not in frame.inliers


def test_the_model_is_not_judged_on_the_points_volunteers_corrected(nose_wrong: ModelCrowd) -> None:
    """With no gold and every volunteer shown the suggestions, the model's error is unknown (None), not the error of its corrected points.

    Volunteers shown a model place their own points mostly where it is wrong; judging it there would make it look wrong everywhere."""
    result = consensus(nose_wrong.records(6), KEYPOINTS, symmetry=PAIRS)
    model = next(v for v in result.volunteers if v.volunteer == f"model:{MODEL}")
    assert model.keypoint_error_px == (None,) * len(KEYPOINTS) and model.keypoint_checked == (0,) * len(KEYPOINTS)


class TestSeveralAnimals:
    @staticmethod
    def _two_mice(volunteer: str, *, accepts: bool, rng: random.Random) -> Record:
        """Two mice 300 px apart; the model suggested the left one with its nose 40 px off, which `accepts` takes whole."""
        body = submission({}, metadata={"volunteer": volunteer, "model": MODEL})
        del body["labels"]
        instances = []
        for dx in (-300.0, 300.0):
            suggested = accepts and dx < 0
            truth = {k: (x + dx, y) for k, (x, y) in TRUTH.items()}
            points = {k: (PREDICTED[k][0] + dx, PREDICTED[k][1]) if suggested else (x + rng.gauss(0, 2.0), y + rng.gauss(0, 2.0)) for k, (x, y) in truth.items()}
            labels = submission(points)["labels"]
            if dx < 0:
                for label in labels:
                    label["origin"] = "suggested" if suggested else "placed"
            instances.append({"labels": labels})
        body["instances"] = instances
        return Record.create(body, submitter="anonymous", received_at=EPOCH, receiver_version="0.1.0")

    def test_acceptances_in_instances_vote_once_with_the_animal_they_suggested(self) -> None:
        """Five volunteers accepting the left mouse's suggestions and three placing it: one model vote, on the left mouse, whose nose stays true."""
        rng = random.Random(11)
        records = [self._two_mice(f"a{i}", accepts=True, rng=rng) for i in range(5)] + [self._two_mice(f"p{i}", accepts=False, rng=rng) for i in range(3)]
        animals = consensus(records, KEYPOINTS, symmetry=PAIRS).frames
        assert len(animals) == 2
        left = min(animals, key=lambda a: a.centre[KEYPOINTS.index("tail_base")][0] if a.centre[KEYPOINTS.index("tail_base")] else 1e9)
        right = next(a for a in animals if a is not left)
        assert [s.volunteer for s in left.submissions].count(f"model:{MODEL}") == 1
        assert f"model:{MODEL}" not in [s.volunteer for s in right.submissions]
        nose = left.centre[KEYPOINTS.index("nose")]
        assert left.settled and nose is not None and abs(nose[0] - (TRUTH["nose"][0] - 300)) < 5
