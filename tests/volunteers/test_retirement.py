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
