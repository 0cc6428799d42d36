"""Each format is written by sleap-io and read back by its own ecosystem's reader."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sleap_io as sio
from pycocotools.coco import COCO

from receiver.contract.records import Record
from receiver.contract.schemas import load_skeleton
from receiver.export.formats import FORMATS, Target, Written
from receiver.export.labels import submission_labels
from tests.export.records import KEYPOINTS, TRUTH, crowd, record


def _write(name: str, labels: sio.Labels, out: Path) -> Written:
    """Write with the named format and no frames (the videos of these records are not on this machine)."""
    return FORMATS[name].write(labels, Target(out, load_skeleton()))


def _dlc_table(out: Path, header: list[int]) -> pd.DataFrame:
    return pd.read_csv(out / "labeled-data" / "mouse-1" / "CollectedData_pose-receiver.csv", header=header, index_col=0)


@pytest.fixture
def records() -> list[Record]:
    one = record({**TRUTH, "tail_base": None}, submitter="ada", frame_index=3)
    return [one, *crowd(random.Random(9), volunteers=3, noise=2.0, frame_index=7)]


class TestSlp:
    def test_round_trip_keeps_every_point(self, tmp_path: Path, records: list[Record]) -> None:
        """Written as .slp and loaded with sleap-io, every instance has the same points (NaN where unplaced)."""
        labels = submission_labels(records, load_skeleton(), keep="all")
        _write("slp", labels, tmp_path / "out.slp")
        back = sio.load_slp(str(tmp_path / "out.slp"), open_videos=False)
        before = [i.numpy() for lf in labels.labeled_frames for i in lf.instances]
        after = [i.numpy() for lf in back.labeled_frames for i in lf.instances]
        assert len(after) == len(before) == 4
        for a, b in zip(before, after):
            np.testing.assert_allclose(a, b, equal_nan=True)

    def test_round_trip_keeps_the_video_url_shape_and_submitters(self, tmp_path: Path, records: list[Record]) -> None:
        """The video's URL and shape and the submitters' side table survive the file."""
        labels = submission_labels(records, load_skeleton(), keep="all")
        _write("slp", labels, tmp_path / "out.slp")
        back = sio.load_slp(str(tmp_path / "out.slp"), open_videos=False)
        assert back.videos[0].filename == records[0].submission["video_url"]
        assert tuple(back.videos[0].shape) == (300, 720, 1280, 3)
        assert [row[3] for row in back.provenance["instances"]] == ["ada", "volunteer-0", "volunteer-1", "volunteer-2"]


class TestCoco:
    def test_pycocotools_loads_the_keypoints_as_xyv_triplets(self, tmp_path: Path, records: list[Record]) -> None:
        """COCO(path) loads; each annotation's keypoints are [x, y, v] triplets, v=0 for unplaced."""
        _write("coco", submission_labels(records, load_skeleton(), keep="all"), tmp_path / "out")
        coco = COCO(str(tmp_path / "out" / "annotations.json"))
        (category,) = coco.loadCats(coco.getCatIds())
        assert category["keypoints"] == list(KEYPOINTS)
        annotations = coco.loadAnns(coco.getAnnIds())
        assert len(annotations) == 4
        first = min(annotations, key=lambda a: a["id"])
        triplets = [first["keypoints"][i : i + 3] for i in range(0, len(first["keypoints"]), 3)]
        assert triplets[KEYPOINTS.index("nose")] == [*TRUTH["nose"], 2]
        assert triplets[KEYPOINTS.index("tail_base")][2] == 0

    def test_images_have_the_frame_size(self, tmp_path: Path, records: list[Record]) -> None:
        """Each COCO image is 1280x720, the size the volunteers saw."""
        _write("coco", submission_labels(records, load_skeleton(), keep="all"), tmp_path / "out")
        images = json.loads((tmp_path / "out" / "annotations.json").read_text())["images"]
        assert {(i["width"], i["height"]) for i in images} == {(1280, 720)}


class TestDlc:
    def test_single_animal_header_is_scorer_bodyparts_coords(self, tmp_path: Path) -> None:
        """One label per frame gives DeepLabCut's three header rows and the points as x, y columns."""
        labels = submission_labels([record(TRUTH, frame_index=4)], load_skeleton())
        _write("dlc", labels, tmp_path / "out")
        frame = _dlc_table(tmp_path / "out", [0, 1, 2])
        assert frame.columns.names == ["scorer", "bodyparts", "coords"]
        assert frame.loc[frame.index[0], ("pose-receiver", "nose", "x")] == TRUTH["nose"][0]
        assert list(frame.columns.get_level_values("bodyparts").unique()) == list(KEYPOINTS)

    def test_several_labels_of_a_frame_are_one_animal(self, tmp_path: Path, records: list[Record]) -> None:
        """Three volunteers' labels of frame 7 make one row of one animal, not three individuals."""
        _write("dlc", submission_labels(records, load_skeleton()), tmp_path / "out")
        frame = _dlc_table(tmp_path / "out", [0, 1, 2])
        assert frame.columns.names == ["scorer", "bodyparts", "coords"]
        assert list(frame.index) == ["labeled-data/mouse-1/img0003.png", "labeled-data/mouse-1/img0007.png"]

    def test_the_h5_table_is_the_csv_table(self, tmp_path: Path, records: list[Record]) -> None:
        """CollectedData_<scorer>.h5 is real HDF5 that pandas.read_hdf reads, equal to the CSV."""
        _write("dlc", submission_labels(records, load_skeleton()), tmp_path / "out")
        h5 = pd.read_hdf(tmp_path / "out" / "labeled-data" / "mouse-1" / "CollectedData_pose-receiver.h5")
        pd.testing.assert_frame_equal(h5, _dlc_table(tmp_path / "out", [0, 1, 2]))


class TestLargeSlp:
    def test_a_side_table_past_the_attribute_limit_is_kept(self, tmp_path: Path) -> None:
        """Thousands of submitters overflow HDF5's 64 kB attribute; the .slp still holds every one."""
        records = [r for frame in range(400) for r in crowd(random.Random(frame), volunteers=5, noise=2.0, frame_index=frame % 300)]
        _write("slp", submission_labels(records, load_skeleton(), keep="all"), tmp_path / "big.slp")
        back = sio.load_slp(str(tmp_path / "big.slp"), open_videos=False)
        assert len(back.provenance["instances"]) == len({r.id for r in records})


class TestHiddenKeypoints:
    """A keypoint placed but hidden (visible false) in each format's own terms."""

    @staticmethod
    def _labels() -> sio.Labels:
        return submission_labels([record(TRUTH, frame_index=4, hidden=("nose",))], load_skeleton())

    def test_slp_keeps_the_point_with_its_visible_flag_off(self, tmp_path: Path) -> None:
        """In .slp the hidden nose keeps its coordinates and reads back as not visible."""
        _write("slp", self._labels(), tmp_path / "out.slp")
        points = sio.load_slp(str(tmp_path / "out.slp"), open_videos=False).labeled_frames[0].instances[0].points
        nose = KEYPOINTS.index("nose")
        assert tuple(points["xy"][nose]) == TRUTH["nose"]
        assert not points["visible"][nose] and points["visible"][KEYPOINTS.index("tail_base")]

    def test_coco_marks_hidden_v1_and_seen_v2(self, tmp_path: Path) -> None:
        """COCO's ternary flag: the hidden nose is v=1 at its coordinates, the other points v=2."""
        _write("coco", self._labels(), tmp_path / "out")
        (annotation,) = COCO(str(tmp_path / "out" / "annotations.json")).loadAnns(COCO(str(tmp_path / "out" / "annotations.json")).getAnnIds())
        triplets = [annotation["keypoints"][i : i + 3] for i in range(0, len(annotation["keypoints"]), 3)]
        assert triplets[KEYPOINTS.index("nose")] == [*TRUTH["nose"], 1]
        assert {t[2] for i, t in enumerate(triplets) if i != KEYPOINTS.index("nose")} == {2}

    def test_dlc_keeps_the_hidden_point_as_placed(self, tmp_path: Path) -> None:
        """DeepLabCut has no visibility flag: the hidden nose is written with its coordinates."""
        _write("dlc", self._labels(), tmp_path / "out")
        frame = _dlc_table(tmp_path / "out", [0, 1, 2])
        assert frame.loc[frame.index[0], ("pose-receiver", "nose", "x")] == TRUTH["nose"][0]

    def test_writing_leaves_the_labels_flags_as_they_were(self, tmp_path: Path) -> None:
        """The COCO writer turns hidden points visible only while it runs."""
        labels = self._labels()
        _write("coco", labels, tmp_path / "out")
        assert not labels.labeled_frames[0].instances[0].points["visible"][KEYPOINTS.index("nose")]
