"""A model's predictions for the configured videos: checked whole on import, and how doubtful each frame's prediction is.

A pose file (SLEAP `.slp`, DeepLabCut `.h5`, NWB ndx-pose), loaded by the
CLI through sleap-io, arrives here as its labeled frames. `read_predictions`
maps its videos to configured ones (by a mapping, or by file name) and its
keypoints to the skeleton's by name, and refuses the whole file at the first
entry it cannot place, so nothing is half-imported. It reads only the
attributes sleap-io's objects carry (`video.filename`, `frame_idx`,
`instances`, `skeleton.node_names`, `numpy(scores=True)`), so this module
does not import sleap-io.

A frame's *doubt* says how much a volunteer's label would help there: the
larger of the model's own uncertainty (one minus the mean score of the points
it placed, a missing point scoring 0) and its jump (the largest move of a
keypoint to the prediction of the frame before or after, against 2% of the
frame's diagonal, capped at 1), DeepLabCut's "jump" outliers. Both lie in 0..1.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from receiver.volunteers.videos import Video

__all__ = ["Prediction", "PredictionError", "doubts", "read_predictions"]

Point = tuple[float, float, float]

#: A move of this share of the frame's diagonal between neighbouring frames is a full jump (doubt 1).
JUMP_SHARE = 0.02


class PredictionError(ValueError):
    """A pose file that cannot be imported; the message names the file and the first entry at fault."""


@dataclass(frozen=True)
class Prediction:
    """One frame's predicted points in skeleton order: (x, y, score), None where the model placed nothing."""

    video_url: str
    frame_index: int
    model: str
    points: tuple[Point | None, ...]

    def uncertainty(self) -> float:
        """One minus the mean score over every keypoint (a missing one scores 0), clipped to 0..1."""
        scores = [0.0 if p is None else min(max(p[2], 0.0), 1.0) for p in self.points]
        return 1.0 - sum(scores) / len(scores) if scores else 1.0


def video_name(url: str) -> str:
    """The file name a URL ends in, which a pose file's video path is matched against."""
    return PurePosixPath(urlsplit(url).path).name


def read_predictions(
    frames: Iterable[Any],
    *,
    source: str,
    videos: Sequence[Video],
    keypoints: Sequence[str],
    model: str,
    video_map: Mapping[str, str] | None = None,
    keypoint_map: Mapping[str, str] | None = None,
) -> list[Prediction]:
    """Every predicted frame of a loaded pose file, placed on a configured video and the skeleton, or a `PredictionError`.

    `video_map` maps a file name in the pose file to a configured video URL;
    without an entry, the configured video whose URL ends in the same file
    name is taken. `keypoint_map` renames the file's node names first. A frame
    with several predicted animals keeps its highest-scoring one.
    """
    by_url = {video.url: video for video in videos}
    by_name = {video_name(video.url): video for video in videos}
    renames = dict(keypoint_map or {})
    found: dict[tuple[str, int], tuple[float, Prediction]] = {}
    for number, frame in enumerate(frames, start=1):
        where = f"{source}, labeled frame {number}"
        name = PurePosixPath(str(getattr(frame.video, "filename", "")).replace("\\", "/")).name
        url = (video_map or {}).get(name)
        video = by_url.get(url) if url is not None else by_name.get(name)
        if video is None:
            known = ", ".join(sorted(by_name)) or "none"
            raise PredictionError(
                f"{where}: its video {name!r} is not one of the configured videos ({known}); map it with --video {name}=URL"
            )
        index = int(frame.frame_idx)
        if not 0 <= index < video.frames:
            raise PredictionError(f"{where}: frame {index} is past the end of {video.url}, which has {video.frames} frames")
        for instance in frame.instances:
            points = _points(instance, keypoints, renames, where)
            score = float(getattr(instance, "score", 0.0) or 0.0)
            key = (video.url, index)
            if key not in found or score > found[key][0]:
                found[key] = (score, Prediction(video.url, index, model, points))
    return [prediction for _, prediction in sorted(found.values(), key=lambda item: (item[1].video_url, item[1].frame_index))]


def _points(instance: Any, keypoints: Sequence[str], renames: Mapping[str, str], where: str) -> tuple[Point | None, ...]:
    names = [renames.get(str(node), str(node)) for node in instance.skeleton.node_names]
    unknown = [name for name in names if name not in keypoints]
    if unknown:
        raise PredictionError(
            f"{where}: keypoint {unknown[0]!r} is not in the skeleton ({', '.join(keypoints)}); map it with --keypoint {unknown[0]}=ID"
        )
    try:
        rows = instance.numpy(scores=True)
    except TypeError:
        rows = [(x, y, 1.0) for x, y in instance.numpy()]
    placed: dict[str, Point] = {}
    for name, row in zip(names, rows):
        x, y, score = (float(v) for v in row[:3])
        if math.isfinite(x) and math.isfinite(y):
            placed[name] = (x, y, score if math.isfinite(score) else 0.0)
    return tuple(placed.get(keypoint) for keypoint in keypoints)


def doubts(predictions: Sequence[Prediction], width: int, height: int) -> list[float]:
    """Each prediction's doubt (see the module docstring), for predictions of one video sorted by frame."""
    jump_scale = JUMP_SHARE * math.hypot(width, height)
    result = []
    for i, prediction in enumerate(predictions):
        jump = 0.0
        for j in (i - 1, i + 1):
            if 0 <= j < len(predictions) and abs(predictions[j].frame_index - prediction.frame_index) == 1:
                jump = max(jump, _largest_move(prediction, predictions[j]))
        result.append(max(prediction.uncertainty(), min(1.0, jump / jump_scale)))
    return result


def _largest_move(a: Prediction, b: Prediction) -> float:
    moves = [math.hypot(p[0] - q[0], p[1] - q[1]) for p, q in zip(a.points, b.points) if p is not None and q is not None]
    return max(moves, default=0.0)
