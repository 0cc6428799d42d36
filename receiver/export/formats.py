"""The output formats: one name, one sleap-io writer, one line on what it is for.

Every format here is written by sleap-io itself; we write none by hand. The
table is the one place a format is chosen by name.

Left out, because sleap-io's writer needs the video's pixels and the export
never fetches videos: Ultralytics YOLO (it writes each frame as an image
beside its label file, and skips frames it cannot read), NWB (its writer
refuses a `Video` without an open media backend) and the SLEAP analysis HDF5
(one video per file, tracks by frame: a predictions format, not a training
set).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

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


def _coco(labels: sleap_io.Labels, path: Path) -> None:
    # Ternary visibility is COCO's own: 0 not labeled, 1 labeled but hidden, 2 visible.
    require("sleap_io").save_coco(labels, str(path), visibility_encoding="ternary")


def _dlc(labels: sleap_io.Labels, path: Path) -> None:
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
