"""Gold standard: expert labels for some frames, which the crowd never outvotes.

Expert labels are ordinary stored records (read by `receiver.export.gold`, or
the records of a named token in the main source: the CLI's ``--gold-from``).
Each becomes the frame's points (`gold_points`); a frame an expert labeled
twice keeps the mean of the expert clicks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from receiver.consensus.votes import FrameKey, Point, vote_of
from receiver.contract.records import Record

__all__ = ["gold_points"]


def gold_points(records: Iterable[Record], keypoints: Sequence[str]) -> dict[FrameKey, tuple[Point | None, ...]]:
    """Each gold frame's expert points in skeleton order (None where the expert placed nothing)."""
    sums: dict[FrameKey, list[list[float]]] = {}
    for record in records:
        key = FrameKey(record.submission["video_url"], int(record.submission["frame_index"]))
        acc = sums.setdefault(key, [[0.0, 0.0, 0.0] for _ in keypoints])
        for k, point in enumerate(vote_of(record, keypoints).points):
            if point is not None:
                acc[k][0] += point[0]
                acc[k][1] += point[1]
                acc[k][2] += 1
    return {key: tuple((x / n, y / n) if n else None for x, y, n in acc) for key, acc in sums.items()}
