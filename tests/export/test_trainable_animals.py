"""Each export of a two-animal dataset loads with its own reader with two instances per frame, and its points agree with the records.

Forty frames of one clip, each labeled by four volunteers who list the two
mice (tracks mother and pup) in either order; three agree exactly, one puts
the pup 30 px off. Without --consensus each frame exports its medoid label's
two animals; with it, the consensus' two animals. Either way every reader
sees two instances per frame at the true points. Helpers are the
single-animal suite's (`test_trainable`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import imageio.v3 as iio
import numpy as np
import pandas as pd
import pytest
import sleap_io as sio
import yaml
from pycocotools.coco import COCO

from receiver.contract.records import Record
from tests.acceptance.conftest import RunCLI
from tests.export.records import KEYPOINTS
from tests.export.test_trainable import HEIGHT, WIDTH, _check_image, _points
from tests.support.clips import ffmpeg_available, index_in, make_clip

pytestmark = pytest.mark.skipif(not ffmpeg_available(), reason="needs ffmpeg to make the clip")

URL = "https://lab.example/videos/pair.mp4"
FRAMES = 40
TRACKS = ("mother", "pup")
EPOCH = datetime(2026, 12, 1, tzinfo=UTC)

#: (frame, track) -> the animal's true points.
Truth = dict[tuple[int, str], np.ndarray]


def _animals(index: int) -> dict[str, np.ndarray]:
    """The mother where the single-animal suite puts its mouse, the pup 70 px above her (still below the index code)."""
    mother = _points(index)
    return {"mother": mother, "pup": mother - [0.0, 70.0]}


def _labels(points: np.ndarray) -> list[dict[str, Any]]:
    return [
        {"id": key, "name": key.replace("_", " ").title(), "placed": True, "pixel_x": float(x), "pixel_y": float(y)}
        for key, (x, y) in zip(KEYPOINTS, points, strict=True)
    ]


def _record(index: int, animals: dict[str, np.ndarray], volunteer: str, seconds: int, *, reverse: bool) -> Record:
    order = list(TRACKS)[:: -1 if reverse else 1]
    body = {
        "video_url": URL,
        "frame_index": index,
        "total_frames": FRAMES,
        "fps": 30,
        "frame_width": WIDTH,
        "frame_height": HEIGHT,
        "timestamp": "2026-12-01T00:00:00Z",
        "instances": [{"labels": _labels(animals[track]), "track": track} for track in order],
    }
    return Record.create(body, submitter=volunteer, received_at=EPOCH + timedelta(seconds=seconds), receiver_version="0.1.0")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, Truth]]:
    """(annotations folder, videos folder, each animal's true points)."""
    root = tmp_path_factory.mktemp("animals")
    videos = root / "videos"
    videos.mkdir()
    make_clip(videos / "pair.mp4", Fraction(30), FRAMES, width=WIDTH, height=HEIGHT)
    truth: Truth = {}
    records = []
    for index in range(FRAMES):
        animals = _animals(index)
        truth.update({(index, track): points for track, points in animals.items()})
        for n in range(3):
            records.append(_record(index, animals, f"volunteer-{n}", 10 * index + n, reverse=bool((index + n) % 2)))
        off = {"mother": animals["mother"], "pup": animals["pup"] + [30.0, 0.0]}
        records.append(_record(index, off, "volunteer-off", 10 * index + 5, reverse=False))
    for record in records:
        path = root / record.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(record.to_bytes())
    yield root / "annotations", videos, truth


def _export(run_cli: RunCLI, world: tuple[Path, Path, Truth], fmt: str, out: Path, *extra: str) -> None:
    annotations, videos, _ = world
    result = run_cli("export", "--format", fmt, "--out", str(out), "--videos", str(videos), *extra, str(annotations))
    assert result.code == 0, result.err
    assert f"{2 * FRAMES} instance(s) exported" in result.out, result.out


def _matches_a_truth(points: np.ndarray, index: int, truth: Truth) -> str:
    """Which animal of frame `index` these points are (asserting they are one of them exactly)."""
    for track in TRACKS:
        if np.allclose(points, truth[(index, track)], atol=1e-3):
            return track
    raise AssertionError(f"frame {index}: {points.tolist()} is neither animal")


CONSENSUS = pytest.mark.parametrize("extra", [(), ("--consensus",)], ids=["medoid", "consensus"])


@CONSENSUS
def test_slp_holds_two_tracked_instances_per_frame(tmp_path: Path, run_cli: RunCLI, world: tuple[Path, Path, Truth], extra: tuple[str, ...]) -> None:
    """SLEAP: each frame two instances, on the tracks mother and pup, each at its animal's points."""
    out = tmp_path / "labels.slp"
    _export(run_cli, world, "slp", out, *extra)
    labels = sio.load_file(str(out))
    assert len(labels.labeled_frames) == FRAMES
    assert sorted(track.name for track in labels.tracks) == sorted(TRACKS)
    for frame in labels.labeled_frames:
        assert len(frame.instances) == 2
        for instance in frame.instances:
            assert _matches_a_truth(instance.numpy(), frame.frame_idx, world[2]) == instance.track.name


@CONSENSUS
def test_coco_has_one_annotation_per_animal(tmp_path: Path, run_cli: RunCLI, world: tuple[Path, Path, Truth], extra: tuple[str, ...]) -> None:
    """COCO: pycocotools loads it; two annotations per image, each one animal's keypoints, on the labeled frame."""
    out = tmp_path / "coco"
    _export(run_cli, world, "coco", out, *extra)
    coco = COCO(str(out / "annotations.json"))
    assert len(coco.getImgIds()) == FRAMES
    for image_id in coco.getImgIds():
        (image,) = coco.loadImgs(image_id)
        index = index_in(iio.imread(out / image["file_name"]))
        annotations = coco.loadAnns(coco.getAnnIds(imgIds=image_id))
        found = {_matches_a_truth(np.array(a["keypoints"], dtype=float).reshape(-1, 3)[:, :2], index, world[2]) for a in annotations}
        assert len(annotations) == 2 and found == set(TRACKS)


@CONSENSUS
def test_dlc_is_a_multi_animal_project_whose_individuals_are_the_tracks(
    tmp_path: Path, run_cli: RunCLI, world: tuple[Path, Path, Truth], extra: tuple[str, ...]
) -> None:
    """DeepLabCut: config.yaml says multi-animal with individuals mother and pup (never volunteers); the .h5 holds each animal's points."""
    out = tmp_path / "dlc"
    _export(run_cli, world, "dlc", out, *extra)
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["multianimalproject"] is True and sorted(config["individuals"]) == sorted(TRACKS)
    assert config["multianimalbodyparts"] == list(KEYPOINTS)
    (h5,) = out.glob("labeled-data/*/CollectedData_pose-receiver.h5")
    table = pd.read_hdf(h5)
    assert table.columns.names == ["scorer", "individuals", "bodyparts", "coords"]
    assert len(table) == FRAMES
    for image, row in table.iterrows():
        index = int(re.search(r"img(\d+)\.png$", str(image)).group(1))  # type: ignore[union-attr]
        _check_image(iio.imread(out / str(image)), index)
        for track in TRACKS:
            points = row.xs(track, level="individuals").to_numpy(dtype=float).reshape(len(KEYPOINTS), 2)
            np.testing.assert_allclose(points, world[2][(index, track)], atol=1e-3)


@CONSENSUS
def test_nwb_training_frames_hold_two_skeleton_instances(tmp_path: Path, run_cli: RunCLI, world: tuple[Path, Path, Truth], extra: tuple[str, ...]) -> None:
    """NWB: pynwb reads a PoseTraining whose every training frame carries both animals."""
    from pynwb import NWBHDF5IO

    out = tmp_path / "labels.nwb"
    _export(run_cli, world, "nwb", out, *extra)
    with NWBHDF5IO(str(out), "r", load_namespaces=True) as io:
        nwb = io.read()
        (training,) = [o for module in nwb.processing.values() for o in module.data_interfaces.values() if type(o).__name__ == "PoseTraining"]
        frames = list(training.training_frames.training_frames.values())
        assert len(frames) == FRAMES
        for frame in frames:
            index = int(frame.source_video_frame_index)
            instances = list(frame.skeleton_instances.skeleton_instances.values())
            found = {_matches_a_truth(np.asarray(i.node_locations[:]), index, world[2]) for i in instances}
            assert len(instances) == 2 and found == set(TRACKS)


@CONSENSUS
def test_yolo_has_one_line_per_animal(tmp_path: Path, run_cli: RunCLI, world: tuple[Path, Path, Truth], extra: tuple[str, ...]) -> None:
    """YOLO pose: each image's label file has two lines, one per animal, normalised."""
    out = tmp_path / "yolo"
    _export(run_cli, world, "yolo", out, *extra)
    seen = 0
    for label in sorted(out.glob("*/labels/*.txt")):
        index = index_in(iio.imread(label.parent.parent / "images" / (label.stem + ".png")))
        lines = label.read_text().splitlines()
        found = set()
        for line in lines:
            values = np.array(line.split()[5:], dtype=float).reshape(-1, 3)
            found.add(_matches_a_truth(values[:, :2] * [WIDTH, HEIGHT], index, world[2]))
        assert len(lines) == 2 and found == set(TRACKS)
        seen += 1
    assert seen == FRAMES
