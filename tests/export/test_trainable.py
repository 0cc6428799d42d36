"""Each export of the same 200 labeled frames loads with its own reader, holds the frames the labels name, and agrees on every point.

The clips are made with ffmpeg and every frame carries its index in its
pixels (`tests.support.clips`), so an image that is not the labeled frame is
caught by reading it, not by trusting a file name. Frames labeled by several
volunteers are exported once, as their medoid label.
"""

from __future__ import annotations

import json
import re
import shutil
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
from receiver.contract.schemas import load_skeleton
from tests.acceptance.conftest import RunCLI
from tests.export.records import KEYPOINTS
from tests.support.clips import ffmpeg_available, index_in, make_clip

pytestmark = pytest.mark.skipif(not ffmpeg_available(), reason="needs ffmpeg to make the clips")

WIDTH, HEIGHT = 320, 240
#: Two videos: frames 0-119 of a variable-rate H.264 MP4 starting at 10 s and 120-199 of an MJPEG AVI, so an image's index also names its video.
VIDEOS = {"https://lab.example/videos/arena-a.mp4": range(0, 120), "https://lab.example/videos/arena-b.avi": range(120, 200)}
EPOCH = datetime(2026, 12, 1, tzinfo=UTC)

Truth = dict[tuple[str, int], np.ndarray]


def _points(index: int) -> np.ndarray:
    """Where the keypoints of frame `index` are, different for every frame, in the band below the index code."""
    return np.array([[20.0 + 45 * k + (index % 7), 200.0 + (index % 31)] for k in range(len(KEYPOINTS))])


def _record(url: str, index: int, points: np.ndarray, volunteer: str, seconds: int) -> Record:
    labels = [
        {"id": key, "name": key.replace("_", " ").title(), "placed": True, "pixel_x": float(x), "pixel_y": float(y)}
        for key, (x, y) in zip(KEYPOINTS, points)
    ]
    body = {
        "video_url": url,
        "frame_index": index,
        "total_frames": 200,
        "fps": 30,
        "frame_width": WIDTH,
        "frame_height": HEIGHT,
        "timestamp": "2026-12-01T00:00:00Z",
        "labels": labels,
    }
    return Record.create(body, submitter=volunteer, received_at=EPOCH + timedelta(seconds=seconds), receiver_version="0.1.0")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, Truth]]:
    """(annotations folder, videos folder, the point each frame must carry): every 10th frame labeled by three volunteers, one of them off."""
    root = tmp_path_factory.mktemp("trainable")
    videos = root / "videos"
    videos.mkdir()
    # A variable rate and a late start: a reader that seeks by index / rate lands on the wrong frames here.
    make_clip(videos / "arena-a.mp4", Fraction(30), 120, width=WIDTH, height=HEIGHT, variable=True, start=10.0)
    make_clip(videos / "arena-b.avi", Fraction(25), 200, width=WIDTH, height=HEIGHT, codec="mjpeg")
    truth: Truth = {}
    records = []
    for url, indices in VIDEOS.items():
        for index in indices:
            points = _points(index)
            truth[(url, index)] = points
            records.append(_record(url, index, points, f"volunteer-{index % 5}", index))
            if index % 10 == 0:
                records.append(_record(url, index, points, f"volunteer-{(index + 1) % 5}", 1000 + index))
                records.append(_record(url, index, points + [30.0, 0.0], "volunteer-9", 2000 + index))
    annotations = root / "annotations"
    for record in records:
        path = root / record.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(record.to_bytes())
    yield annotations, videos, truth


def _export(run_cli: RunCLI, world: tuple[Path, Path, Truth], fmt: str, out: Path, *extra: str) -> str:
    annotations, videos, _ = world
    result = run_cli("export", "--format", fmt, "--out", str(out), "--videos", str(videos), *extra, str(annotations))
    assert result.code == 0, result.err
    # 200 frames, 20 of them labeled thrice; 6 volunteers in all (volunteer-0..4 and volunteer-9).
    assert "240 labels by 6 volunteer(s) on 200 frame(s) of 2 video(s); 200 instance(s) exported" in result.out, result.out
    return result.out


def _video_of(index: int) -> str:
    return next(url for url, indices in VIDEOS.items() if index in indices)


def _check_image(image: Any, index: int) -> None:
    assert index_in(np.asarray(image)) == index


class TestEveryExportAgrees:
    def test_slp_package_reads_its_frames_with_the_videos_gone(self, tmp_path: Path, run_cli: RunCLI, world: tuple[Path, Path, Truth]) -> None:
        """.pkg.slp: sleap_io.load_file with the videos moved away; each embedded frame is the labeled one, each point the truth."""
        out = tmp_path / "labels.pkg.slp"
        _export(run_cli, world, "slp", out, "--embed")
        annotations, videos, truth = world
        moved = tmp_path / "elsewhere"
        shutil.move(videos, moved)
        try:
            labels = sio.load_file(str(out))
            assert len(labels.labeled_frames) == 200
            for frame in labels.labeled_frames:
                (instance,) = frame.instances
                url = _video_of(frame.frame_idx)
                np.testing.assert_allclose(instance.numpy(), truth[(url, frame.frame_idx)])
                _check_image(frame.image, frame.frame_idx)
        finally:
            shutil.move(moved, videos)

    def test_dlc_h5_names_existing_images_of_the_labeled_frames(self, tmp_path: Path, run_cli: RunCLI, world: tuple[Path, Path, Truth]) -> None:
        """DeepLabCut: pandas.read_hdf reads each CollectedData .h5; every image it names exists, shows its frame, and the points agree."""
        out = tmp_path / "dlc"
        _export(run_cli, world, "dlc", out)
        _, _, truth = world
        config = yaml.safe_load((out / "config.yaml").read_text())
        assert config["bodyparts"] == list(KEYPOINTS)
        assert [tuple(e) for e in config["skeleton"]] == list(load_skeleton().edges)
        rows = 0
        for h5 in sorted(out.glob("labeled-data/*/CollectedData_pose-receiver.h5")):
            table = pd.read_hdf(h5)
            for image, row in table.iterrows():
                index = int(re.search(r"img(\d+)\.png$", str(image)).group(1))  # type: ignore[union-attr]
                assert (out / str(image)).is_file()
                _check_image(iio.imread(out / str(image)), index)
                points = row.to_numpy(dtype=float).reshape(len(KEYPOINTS), 2)
                np.testing.assert_allclose(points, truth[(_video_of(index), index)])
                rows += 1
        assert rows == 200

    def test_coco_file_names_exist_and_show_the_annotated_frame(self, tmp_path: Path, run_cli: RunCLI, world: tuple[Path, Path, Truth]) -> None:
        """COCO: pycocotools loads it; every file_name exists and shows its frame; keypoints agree and name their labeler."""
        out = tmp_path / "coco"
        _export(run_cli, world, "coco", out)
        _, _, truth = world
        coco = COCO(str(out / "annotations.json"))
        annotations = coco.loadAnns(coco.getAnnIds())
        assert len(annotations) == 200
        for annotation in annotations:
            (image,) = coco.loadImgs(annotation["image_id"])
            pixels = iio.imread(out / image["file_name"])
            index = index_in(pixels)
            triplets = np.array(annotation["keypoints"], dtype=float).reshape(-1, 3)
            np.testing.assert_allclose(triplets[:, :2], truth[(_video_of(index), index)])
            assert set(triplets[:, 2]) == {2.0}
            assert annotation["labeler"] != "volunteer-9"

    def test_nwb_pose_training_holds_every_frame(self, tmp_path: Path, run_cli: RunCLI, world: tuple[Path, Path, Truth]) -> None:
        """NWB: pynwb reads a PoseTraining whose training frames carry the points, by source video and frame index."""
        from pynwb import NWBHDF5IO

        out = tmp_path / "labels.nwb"
        _export(run_cli, world, "nwb", out)
        _, videos, truth = world
        with NWBHDF5IO(str(out), "r", load_namespaces=True) as io:
            nwb = io.read()
            (training,) = [o for module in nwb.processing.values() for o in module.data_interfaces.values() if type(o).__name__ == "PoseTraining"]
            sources = {s.name: s for s in training.source_videos.image_series.values()}
            assert {Path(s.external_file[0]).name for s in sources.values()} == {"arena-a.mp4", "arena-b.avi"}
            seen = 0
            for frame in training.training_frames.training_frames.values():
                index = int(frame.source_video_frame_index)
                url = next(u for u in VIDEOS if Path(u).name == Path(frame.source_video.external_file[0]).name)
                (instance,) = frame.skeleton_instances.skeleton_instances.values()
                np.testing.assert_allclose(np.asarray(instance.node_locations[:]), truth[(url, index)])
                seen += 1
            assert seen == 200

    def test_yolo_labels_are_normalised_and_flip_the_symmetry_pairs(self, tmp_path: Path, run_cli: RunCLI, world: tuple[Path, Path, Truth]) -> None:
        """YOLO: data.yaml's kpt_shape and flip_idx (paws swap left and right); each label line normalised and on its image's frame."""
        out = tmp_path / "yolo"
        _export(run_cli, world, "yolo", out)
        _, _, truth = world
        data = yaml.safe_load((out / "data.yaml").read_text())
        assert data["kpt_shape"] == [6, 3]
        assert data["flip_idx"] == [1, 0, 3, 2, 4, 5]
        seen = 0
        for label in sorted(out.glob("*/labels/*.txt")):
            image = label.parent.parent / "images" / (label.stem + ".png")
            index = index_in(iio.imread(image))
            (line,) = label.read_text().splitlines()
            values = np.array(line.split()[5:], dtype=float).reshape(-1, 3)
            assert ((values[:, :2] >= 0) & (values[:, :2] <= 1)).all()
            np.testing.assert_allclose(values[:, :2] * [WIDTH, HEIGHT], truth[(_video_of(index), index)], atol=1e-3)
            seen += 1
        assert seen == 200


def test_an_occupied_folder_is_refused_and_kept(tmp_path: Path, run_cli: RunCLI, world: tuple[Path, Path, Truth]) -> None:
    """A folder holding other files: exit 2 with a sentence naming --force; the file is still there, untouched."""
    annotations, videos, _ = world
    out = tmp_path / "dlc"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = run_cli("export", "--format", "dlc", "--out", str(out), "--videos", str(videos), str(annotations))
    assert result.code == 2
    assert "already holds files" in result.err and "--force" in result.err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_force_writes_beside_what_was_there_and_deletes_nothing(tmp_path: Path, run_cli: RunCLI, world: tuple[Path, Path, Truth]) -> None:
    """With --force the export lands beside the folder's own files, which keep their content."""
    annotations, videos, _ = world
    out = tmp_path / "coco"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = run_cli("export", "--format", "coco", "--force", "--out", str(out), "--videos", str(videos), str(annotations))
    assert result.code == 0, result.err
    assert (out / "notes.txt").read_text() == "mine" and (out / "annotations.json").is_file()


def test_a_video_that_cannot_be_read_is_named(tmp_path: Path, run_cli: RunCLI, world: tuple[Path, Path, Truth]) -> None:
    """A video file that is not a video: exit 1 and a sentence naming it."""
    annotations, _, _ = world
    broken = tmp_path / "videos"
    broken.mkdir()
    for name in ("arena-a.mp4", "arena-b.avi"):
        (broken / name).write_bytes(b"not a video at all")
    result = run_cli("export", "--format", "yolo", "--out", str(tmp_path / "yolo"), "--videos", str(broken), str(annotations))
    assert result.code == 1
    assert "https://lab.example/videos/arena-a.mp4" in result.err and "cannot be exported" in result.err


def test_a_video_not_on_this_machine_is_named_with_what_to_pass(tmp_path: Path, run_cli: RunCLI, world: tuple[Path, Path, Truth]) -> None:
    """No --videos folder holds the video: the sentence names it and says --videos DIR or --no-frames."""
    annotations, _, _ = world
    result = run_cli("export", "--format", "dlc", "--out", str(tmp_path / "dlc"), str(annotations))
    assert result.code == 1
    assert "arena-b.avi" in result.err and "--videos DIR" in result.err and "--no-frames" in result.err
    assert json.dumps(sorted(p.name for p in (tmp_path / "dlc").iterdir())) == "[]"
