"""When a frame has enough agreeing labels: the one place the frame tally asks the consensus.

`judge_frame` turns one frame's records into a `FrameAgreement` (how many
labels, how many of them agree, the agreed point per keypoint). Everything
that hands out frames or shows a review goes through it, so the consensus
behind it can change (a better rule, an incremental one) by editing this
module alone. It does no I/O and keeps no state.

An accepted suggestion (a label whose `origin` is `"suggested"`) is not an
independent vote: on each keypoint, the agreeing labels that accepted the
same suggested point count together as one vote, the model's, and labels
that accepted every point they placed unchanged send the consensus one vote
between them. A frame whose only agreement on a keypoint is accepted
suggestions therefore needs agreeing placed labels to retire, by the same
rule as any other. Frames without accepted suggestions are judged as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from receiver.consensus import FrameKey, FrameTally, Point, vote_of
from receiver.contract.records import Record

__all__ = ["FrameAgreement", "judge_frame", "suggested_points"]


@dataclass(frozen=True)
class FrameAgreement:
    """What one frame's labels say together."""

    labels: int
    agreeing: int
    keypoints: tuple[str, ...]
    centre: tuple[Point | None, ...]
    #: The ids of the records that agree.
    agreeing_records: frozenset[str] = frozenset()
    #: Whether any of the labels judged accepted a suggestion (the frame is settled "from suggestions" if it retires).
    suggested: bool = False

    def retired(self, retire_after: int) -> bool:
        """At least K labels agree, and they outnumber the disagreeing ones two to one.

        The margin is what undoes a retirement: a retired frame whose later
        counted labels disagree with its answer fails it and goes back into the
        pool, where more labels settle it one way or the other.
        """
        return self.agreeing >= retire_after and self.agreeing >= 2 * (self.labels - self.agreeing)

    def points(self) -> dict[str, dict[str, float] | None]:
        """The agreed point of each keypoint (null where the agreeing labels mostly left it unplaced)."""
        return {k: None if c is None else {"x": c[0], "y": c[1]} for k, c in zip(self.keypoints, self.centre)}


def judge_frame(records: Sequence[Record], keypoints: Sequence[str], symmetry: Iterable[tuple[str, str]] = ()) -> FrameAgreement:
    """How many of one frame's records agree, as the consensus judges them (every record must label the same frame).

    The consensus repairs left/right swaps (`symmetry`) and counts a label as
    agreeing only when the whole submission agrees with the frame's consensus;
    the agreed points are None until the frame is settled. One solve over all
    the records: the cost grows with their number, never with its square.
    """
    if not records:
        return FrameAgreement(labels=0, agreeing=0, keypoints=tuple(keypoints), centre=tuple(None for _ in keypoints))
    accepted = {record.id: suggested_points(record, keypoints) for record in records}
    if not any(any(point is not None for point in points) for points in accepted.values()):
        state = _tally(records, keypoints, symmetry).extend(records)
        return FrameAgreement(
            labels=state.labels,
            agreeing=state.agreeing_labels,
            keypoints=tuple(keypoints),
            centre=state.consensus.centre,
            agreeing_records=frozenset(score.record_id for score in state.consensus.inliers),
        )
    return _judge_with_suggestions(records, keypoints, symmetry, accepted)


def suggested_points(record: Record, keypoints: Sequence[str]) -> tuple[Point | None, ...]:
    """Per keypoint, the point the record accepted as suggested (its first animal's, as retirement judges it); None where it placed its own or none."""
    submission = record.submission
    labels = submission["labels"] if "labels" in submission else (submission.get("instances") or [{"labels": []}])[0]["labels"]
    by_id = {label["id"]: label for label in labels}
    found: list[Point | None] = []
    for keypoint in keypoints:
        label = by_id.get(keypoint)
        if label is not None and label.get("placed") and label.get("origin") == "suggested":
            found.append((float(label["pixel_x"]), float(label["pixel_y"])))
        else:
            found.append(None)
    return tuple(found)


def _tally(records: Sequence[Record], keypoints: Sequence[str], symmetry: Iterable[tuple[str, str]]) -> FrameTally:
    first = records[0].submission
    return FrameTally(
        FrameKey(str(first["video_url"]), int(first["frame_index"])),
        int(first["frame_width"]),
        int(first["frame_height"]),
        keypoints,
        symmetry=symmetry,
    )


def _judge_with_suggestions(
    records: Sequence[Record], keypoints: Sequence[str], symmetry: Iterable[tuple[str, str]], accepted: dict[str, tuple[Point | None, ...]]
) -> FrameAgreement:
    """Judge a frame some of whose labels accepted suggestions, counting the model once per keypoint and suggested point.

    Labels that placed only accepted suggestions and are the same vote (every
    point and hidden flag alike) reach the consensus as one, so echoes of the
    model cannot outvote the crowd; each of them agrees when that one does.
    On each keypoint the agreeing labels that placed their own point count one
    each, and those that accepted a suggestion one per distinct suggested
    point; the frame's agreeing count is the least of these over keypoints,
    and the disagreeing labels (echoes again counted once) are added to it.
    """
    echo_of: dict[str, str] = {}
    first_echo: dict[tuple[object, ...], str] = {}
    echo_key: dict[str, tuple[object, ...]] = {}
    for record in records:
        vote = vote_of(record, keypoints)
        placed = [point for point in vote.points if point is not None]
        # A label of several animals is never an echo: its other animals are votes of their own.
        alike = all((point is None) == (mine is None) for point, mine in zip(vote.points, accepted[record.id]))
        if placed and alike and "labels" in record.submission:
            key = (vote.points, vote.visible)
            echo_key[record.id] = key
            echo_of[record.id] = first_echo.setdefault(key, record.id)
    judged = [record for record in records if echo_of.get(record.id, record.id) == record.id]
    state = _tally(judged, keypoints, symmetry).extend(judged)
    inliers = {score.record_id for score in state.consensus.inliers}
    agreeing = [record for record in records if echo_of.get(record.id, record.id) in inliers]
    support = []
    for k in range(len(keypoints)):
        own = sum(1 for record in agreeing if accepted[record.id][k] is None)
        model = len({accepted[record.id][k] for record in agreeing if accepted[record.id][k] is not None})
        support.append(own + model)
    count = min(support) if support else len(agreeing)
    against = {echo_key.get(record.id, record.id) for record in records if echo_of.get(record.id, record.id) not in inliers}
    return FrameAgreement(
        labels=count + len(against),
        agreeing=count,
        keypoints=tuple(keypoints),
        centre=state.consensus.centre,
        agreeing_records=frozenset(record.id for record in agreeing),
        suggested=True,
    )
