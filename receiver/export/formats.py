"""The output formats: one name, one sleap-io writer, one line on what it is for.

Every format here is written by sleap-io itself; we write none by hand. The
table is the one place a format is chosen by name. Hidden keypoints (placed,
visible flag off): SLEAP keeps the flag; COCO marks them v=1 (labeled, not
visible) and v=2 the seen ones; DeepLabCut, which has no flag, keeps them as
placed points. A consensus export gives COCO annotations its `score`.

Left out, because sleap-io's writer needs the video's pixels and the export
never fetches videos: Ultralytics YOLO (it writes each frame as an image
beside its label file, and skips frames it cannot read), NWB (its writer
refuses a `Video` without an open media backend) and the SLEAP analysis HDF5
(one video per file, tracks by frame: a predictions format, not a training
set).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from receiver.export.extra import require

if TYPE_CHECKING:
    import sleap_io

__all__ = ["FORMATS", "Format", "format_names"]

Writer = Callable[["sleap_io.Labels", Path], None]


@dataclass(frozen=True)
class Format:
    name: str
    suffix: str
    help: str
    write: Writer
    # True when the format keeps one instance per image: several submissions
    # of a frame then need a track each, or the writer keeps only the last.
    one_per_image: bool = False


def _slp(labels: sleap_io.Labels, path: Path) -> None:
    with warnings.catch_warnings():
        # Past 64 kB the submitters' side table cannot also sit in the HDF5
        # metadata attribute; sleap-io says so but keeps it in its own
        # `provenance_json` dataset, which is what it reads back. Nothing is lost.
        warnings.filterwarnings("ignore", message=r"Labels metadata JSON .* exceeded", category=UserWarning)
        require("sleap_io").save_slp(labels, str(path), verbose=False)


@contextmanager
def _hidden_as_placed(labels: sleap_io.Labels) -> Iterator[list[Any]]:
    """Every placed point visible while a writer runs; yields each instance's hidden mask, in writing order.

    sleap-io's COCO and CSV writers read points through `Instance.numpy()`,
    which turns a point whose visible flag is off into NaN: a hidden keypoint
    would be written as never labeled. The flags are restored afterwards.
    """
    np = require("numpy")
    saved: list[tuple[Any, Any]] = []
    hidden: list[Any] = []
    for frame in labels.labeled_frames:
        for instance in frame.instances:
            points = instance.points
            placed = np.isfinite(points["xy"]).all(axis=1)
            saved.append((points, points["visible"].copy()))
            hidden.append(placed & ~points["visible"])
            points["visible"] = placed
    try:
        yield hidden
    finally:
        for points, visible in saved:
            points["visible"] = visible


def _coco(labels: sleap_io.Labels, path: Path) -> None:
    # Ternary visibility is COCO's own: 0 not labeled, 1 labeled but hidden, 2 visible.
    with _hidden_as_placed(labels) as hidden:
        require("sleap_io").save_coco(labels, str(path), visibility_encoding="ternary")
    scores = labels.provenance.get("consensus_scores")
    document = json.loads(path.read_text(encoding="utf-8"))
    annotations = document["annotations"]
    # The writer emits one annotation per instance, frames in order: the same order as the masks.
    if len(annotations) != len(hidden):
        raise RuntimeError(f"the COCO writer wrote {len(annotations)} annotations for {len(hidden)} instances")
    for index, (annotation, mask) in enumerate(zip(annotations, hidden)):
        keypoints = annotation["keypoints"]
        for k, is_hidden in enumerate(mask):
            if is_hidden:
                keypoints[3 * k + 2] = 1
        if scores is not None:
            # COCO's results format: a confidence per annotation, read by its evaluators as `score`.
            annotation["score"] = scores[index]
    path.write_text(json.dumps(document), encoding="utf-8")


def _dlc(labels: sleap_io.Labels, path: Path) -> None:
    # DeepLabCut has no visibility flag: a hidden point it knows is still a point to learn.
    with _hidden_as_placed(labels):
        require("sleap_io").save_csv(labels, str(path), format="dlc", include_score=False, scorer="pose-receiver")


def _csv(labels: sleap_io.Labels, path: Path) -> None:
    require("sleap_io").save_csv(labels, str(path), format="instances", include_score=False)


def _labelstudio(labels: sleap_io.Labels, path: Path) -> None:
    require("sleap_io").save_labelstudio(labels, str(path))


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("slp", ".slp", "SLEAP labels (HDF5): SLEAP and sleap-nn train from it", _slp),
        Format("coco", ".json", "COCO keypoints JSON: mmpose, detectron2 and most keypoint trainers", _coco),
        Format("dlc", ".csv", "DeepLabCut CollectedData CSV (scorer/bodyparts/coords header)", _dlc, one_per_image=True),
        Format("csv", ".csv", "one row per instance, a column pair per keypoint (pandas, spreadsheets)", _csv),
        Format("labelstudio", ".json", "Label Studio tasks, to review or correct labels by hand", _labelstudio),
    )
}


def format_names() -> tuple[str, ...]:
    return tuple(FORMATS)
