"""judge_frame: how many of one frame's labels agree, and where they agree."""

from __future__ import annotations

from datetime import datetime, timezone

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
