"""judge_frame: how many of one frame's labels agree, and where they agree."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from receiver.contract.records import Record
from receiver.volunteers.retirement import judge_frame
from tests.volunteers.frames.conftest import VIDEO, far_label, honest_label, truth

KEYPOINTS = ("left_front_paw", "right_front_paw", "left_hind_paw", "right_hind_paw", "nose", "tail_base")
WHEN = datetime(2026, 11, 25, tzinfo=timezone.utc)


def record(body: dict[str, object], who: str) -> Record:
    return Record.create(body, submitter=who, received_at=WHEN, receiver_version="0.1.0")


def test_honest_labels_all_agree() -> None:
    """Four careful volunteers: 4 labels, 4 agreeing, retired at 3."""
    agreement = judge_frame([record(honest_label(VIDEO, 5, f"vol-{n:05d}"), "anonymous") for n in range(4)], KEYPOINTS)
    assert (agreement.labels, agreement.agreeing, agreement.retired(3), agreement.retired(5)) == (4, 4, True, False)


def test_a_far_label_does_not_agree() -> None:
    """Three honest labels and one far off: 4 labels, 3 agreeing."""
    records = [record(honest_label(VIDEO, 5, f"vol-{n:05d}"), "anonymous") for n in range(3)] + [record(far_label(VIDEO, 5, "off-00001"), "anonymous")]
    agreement = judge_frame(records, KEYPOINTS)
    assert (agreement.labels, agreement.agreeing) == (4, 3)


def test_agreed_points_sit_near_the_truth() -> None:
    """Each keypoint's agreed point lies within a few pixels of where it really is."""
    agreement = judge_frame([record(honest_label(VIDEO, 9, f"vol-{n:05d}"), "anonymous") for n in range(5)], KEYPOINTS)
    points = agreement.points()
    assert list(points) == list(KEYPOINTS)
    for name, (x, y) in zip(KEYPOINTS, truth(VIDEO, 9)):
        point = points[name]
        assert point is not None and abs(point["x"] - x) < 10 and abs(point["y"] - y) < 10


def test_no_labels_means_nothing_agrees() -> None:
    """An empty frame: 0 labels, 0 agreeing, every point null."""
    agreement = judge_frame([], KEYPOINTS)
    assert (agreement.labels, agreement.agreeing, set(agreement.points().values())) == (0, 0, {None})


def test_a_judgement_solves_the_frame_once_however_many_labels_it_has(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forty labels, one solve: judging is linear in the labels, not quadratic."""
    from receiver.consensus import incremental

    solves = []
    real = incremental.read_answers
    monkeypatch.setattr(incremental, "read_answers", lambda *args, **kwargs: solves.append(1) or real(*args, **kwargs))
    judge_frame([record(honest_label(VIDEO, 5, f"vol-{n:05d}"), "anonymous") for n in range(40)], KEYPOINTS)
    assert len(solves) == 1


def test_one_solve_answers_what_adding_one_by_one_answers() -> None:
    """extend() and add() per record end in the same consensus."""
    from receiver.consensus import FrameKey, FrameTally

    records = [record(honest_label(VIDEO, 5, f"vol-{n:05d}"), "anonymous") for n in range(5)] + [record(far_label(VIDEO, 5, "off-00001"), "anonymous")]
    key = FrameKey(VIDEO.url, 5)
    one_by_one = FrameTally(key, VIDEO.width, VIDEO.height, KEYPOINTS)
    for each in records:
        last = one_by_one.add(each)
    at_once = FrameTally(key, VIDEO.width, VIDEO.height, KEYPOINTS).extend(records)
    assert (at_once.labels, at_once.agreeing_labels, at_once.consensus.centre) == (last.labels, last.agreeing_labels, last.consensus.centre)


def test_retired_needs_the_agreeing_labels_to_outnumber_the_others_two_to_one() -> None:
    """Three agreeing of eight is not retired at K=3; three of four is."""
    honest = [record(honest_label(VIDEO, 5, f"vol-{n:05d}"), "anonymous") for n in range(3)]
    disputed = judge_frame(honest + [record(far_label(VIDEO, 5, f"off-{n:05d}"), "anonymous") for n in range(5)], KEYPOINTS)
    assert disputed.labels == 8 and not disputed.retired(3)
    assert judge_frame(honest + [record(far_label(VIDEO, 5, "off-00001"), "anonymous")], KEYPOINTS).retired(3)


def accepted(frame: int, who: str, *, nose_off: float = 0.0) -> dict[str, object]:
    """A label that accepted every suggested point of a model that put the truth (its nose `nose_off` px to the right) unchanged."""
    body = honest_label(VIDEO, frame, who)
    for label, (x, y) in zip(body["labels"], truth(VIDEO, frame)):
        label.update(pixel_x=round(x + (nose_off if label["id"] == "nose" else 0.0), 1), pixel_y=round(y, 1), origin="suggested")
    return body


class TestAcceptedSuggestions:
    def test_labels_accepting_the_same_suggestions_are_one_vote(self) -> None:
        """Four acceptances of the same points: one label, one agreeing, never retired."""
        agreement = judge_frame([record(accepted(5, f"acc-{n:05d}"), "anonymous") for n in range(4)], KEYPOINTS)
        assert (agreement.labels, agreement.agreeing, agreement.retired(1), agreement.retired(2), agreement.suggested) == (1, 1, True, False, True)

    def test_the_model_counts_once_beside_placed_labels(self) -> None:
        """Two placed labels and three acceptances of the right points: three agreeing, all five scored as agreeing."""
        records = [record(honest_label(VIDEO, 5, f"vol-{n:05d}"), "anonymous") for n in range(2)]
        records += [record(accepted(5, f"acc-{n:05d}"), "anonymous") for n in range(3)]
        agreement = judge_frame(records, KEYPOINTS)
        assert (agreement.labels, agreement.agreeing, agreement.retired(3)) == (3, 3, True)
        assert agreement.agreeing_records == {r.id for r in records}

    def test_echoes_of_a_wrong_point_do_not_outvote_the_crowd(self) -> None:
        """Four acceptances of a nose 60 px off against three placed labels: the agreed nose is the crowd's (counted each, the echoes would put it at the model's)."""
        records = [record(accepted(5, f"acc-{n:05d}", nose_off=60.0), "anonymous") for n in range(4)]
        records += [record(honest_label(VIDEO, 5, f"vol-{n:05d}"), "anonymous") for n in range(3)]
        agreement = judge_frame(records, KEYPOINTS)
        assert (agreement.labels, agreement.agreeing, agreement.retired(3)) == (4, 4, True)
        nose = agreement.points()["nose"]
        assert nose is not None and abs(nose["x"] - truth(VIDEO, 5)[4][0]) < 10

    def test_a_keypoint_agreed_only_through_the_model_holds_the_frame(self) -> None:
        """Three labels that placed their own nose and accepted the rest agree three times on the nose, once elsewhere."""
        records = []
        for n in range(3):
            body = accepted(5, f"acc-{n:05d}")
            body["labels"][4] = honest_label(VIDEO, 5, f"acc-{n:05d}")["labels"][4]  # type: ignore[index]
            records.append(record(body, "anonymous"))
        agreement = judge_frame(records, KEYPOINTS)
        assert (agreement.agreeing, agreement.retired(3)) == (1, False)

    def test_labels_without_suggestions_are_judged_as_before(self) -> None:
        """`origin: placed` on every label changes nothing: four labels, four agreeing, nothing suggested."""
        bodies = [honest_label(VIDEO, 5, f"vol-{n:05d}") for n in range(4)]
        for body in bodies:
            for label in body["labels"]:
                label["origin"] = "placed"
        agreement = judge_frame([record(body, "anonymous") for body in bodies], KEYPOINTS)
        assert (agreement.labels, agreement.agreeing, agreement.suggested) == (4, 4, False)
