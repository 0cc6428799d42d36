"""The output formats: one name, one writer built on sleap-io's, one line on what it is for.

sleap-io writes every format's labels; this module adds only what its writers
leave out, and says why where it does:

- `slp`: sleap-io's `save_slp`; with `--embed`, its embedding (`embed="user"`)
  stores the labeled frames in the file (a `.pkg.slp`).
- `coco`: `save_coco` for the annotations, with the image file names we chose;
  the frames are written as PNGs at those names (the writer writes JSON only),
  hidden points become v=1 and each annotation names its `labeler`.
- `dlc`: `save_csv(format="dlc")` per video into a DeepLabCut project folder;
  we add the `.h5` twin DeepLabCut trains from (pandas, key
  `df_with_missing`, as DeepLabCut writes it), the PNGs at the paths the table
  names, and `config.yaml` (sleap-io reads DeepLabCut configs but writes none).
  With several animals in a frame it is a multi-animal project whose
  `individuals` are the tracks, or `animal1`, `animal2`... by position where
  no track is named (the writer keeps only instances with a track).
- `nwb`: `save_nwb(nwb_format="annotations")`, an ndx-pose `PoseTraining`
  with the source videos by reference.
- `yolo`: `save_ultralytics` per split (seeded, so an export is repeatable);
  we rewrite `flip_idx` in `data.yaml` from the skeleton's symmetry pairs,
  since the writer leaves every keypoint its own mirror, which teaches a
  flipped image's left paw to be the left paw.

Hidden keypoints (placed, visible flag off): SLEAP and NWB keep the flag;
COCO marks them v=1; DeepLabCut and YOLO, whose writers drop an invisible
point, keep them as placed points (a hidden paw's position is still a label).
A consensus export gives COCO annotations its `score`. Every writer returns
how many instances its files hold, which is what the summary prints.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from receiver.contract.schemas import Skeleton
from receiver.export.extra import require

if TYPE_CHECKING:
    import sleap_io

__all__ = ["FORMATS", "Format", "OutputError", "Target", "Written", "format_names", "prepare_folder"]

#: The DeepLabCut scorer our tables are written under (CollectedData_<scorer>).
SCORER = "pose-receiver"


class OutputError(ValueError):
    """An output that must not or cannot be written; the message says what to pass instead."""


@dataclass(frozen=True)
class Target:
    """Where an export goes and what it may use: the labeled frames' images and the skeleton's symmetry."""

    out: Path
    skeleton: Skeleton
    #: Writes the labeled frames as PNGs at the paths it is given and attaches them to the labels; None: no frames.
    frames: Callable[[sleap_io.Labels, Callable[[str, int], Path]], dict[tuple[str, int], Path]] | None = None
    embed: bool = False


@dataclass
class Written:
    """What a writer put on disk: the main paths to name in the summary, and the instances its files hold."""

    paths: list[Path] = field(default_factory=list)
    instances: int = 0
    images: int = 0


Writer = Callable[["sleap_io.Labels", Target], Written]


@dataclass(frozen=True)
class Format:
    name: str
    help: str
    write: Writer
    #: --out names a folder the export fills, not a file.
    folder: bool = False
    #: The format has a place for several labels of one frame and who made each (--all-labels).
    keeps_all: bool = False
    #: The format carries the frames' pixels (or, for slp, can with --embed).
    frames: bool = False


def prepare_folder(path: Path, *, force: bool) -> None:
    """Refuse a folder that holds files unless forced; an export adds and overwrites its own files and deletes nothing."""
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path} is a file; this format writes a folder: name a new or empty folder with --out")
    if path.is_dir() and any(path.iterdir()) and not force:
        raise OutputError(
            f"{path} already holds files; name a new or empty folder with --out, or pass --force to write into it "
            "(files of the same name are replaced, nothing else is touched or deleted)"
        )
    path.mkdir(parents=True, exist_ok=True)


def _count(labels: sleap_io.Labels) -> int:
    return sum(len(frame.instances) for frame in labels.labeled_frames)


def _slp(labels: sleap_io.Labels, target: Target) -> Written:
    sio = require("sleap_io")
    with warnings.catch_warnings():
        # Past 64 kB the submitters' side table cannot also sit in the HDF5
        # metadata attribute; sleap-io says so but keeps it in its own
        # `provenance_json` dataset, which is what it reads back. Nothing is lost.
        warnings.filterwarnings("ignore", message=r"Labels metadata JSON .* exceeded", category=UserWarning)
        if not target.embed:
            sio.save_slp(labels, str(target.out), verbose=False)
            return Written([target.out], _count(labels))
        assert target.frames is not None
        with tempfile.TemporaryDirectory(prefix="receiver-export-") as scratch:
            images = target.frames(labels, lambda url, index: Path(scratch) / _safe(url) / f"{index:08d}.png")
            sources = list(labels.videos)

            def encoded(done: int, total: int, phase: str) -> bool:
                # Every frame is encoded once the "write" phase starts; sleap-io then serialises the source
                # videos, and only a closed one (or a type of its own) can be: our backend goes first.
                if phase == "write":
                    for video in sources:
                        video.backend = None
                return True

            # In place: sleap-io's copy of the labels would reopen each video with its own reader, which seeks
            # by index / rate and lands on the wrong frame in a variable-rate or late-starting video.
            sio.save_slp(labels, str(target.out), embed="user", embed_inplace=True, verbose=False, progress_callback=encoded)
    return Written([target.out], _count(labels), len(images))


def _safe(url: str) -> str:
    """A folder name for a video's scratch images that no URL character can break."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


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


def _image_names(labels: sleap_io.Labels, pattern: str) -> list[str]:
    """One relative image path per labeled frame, in the labels' order: `pattern` with the video's folder and the index."""
    from receiver.export.frames import folder_names

    folders = folder_names(str(video.filename) for video in labels.videos)
    return [pattern.format(video=folders[str(f.video.filename)], index=f.frame_idx) for f in labels.labeled_frames]


def _coco(labels: sleap_io.Labels, target: Target) -> Written:
    """DIR/annotations.json and DIR/images/<video>/<index>.png (without frames, the JSON alone)."""
    sio = require("sleap_io")
    prepare_folder(target.out, force=True)  # the CLI refused an occupied folder before anything was read
    names = _image_names(labels, "images/{video}/img{index:06d}.png")
    images: dict[tuple[str, int], Path] = {}
    if target.frames is not None:
        where = {(str(f.video.filename), f.frame_idx): target.out / name for f, name in zip(labels.labeled_frames, names)}
        images = target.frames(labels, lambda url, index: where[(url, index)])
    path = target.out / "annotations.json"
    # Ternary visibility is COCO's own: 0 not labeled, 1 labeled but hidden, 2 visible.
    with _hidden_as_placed(labels) as hidden:
        sio.save_coco(labels, str(path), image_filenames=names, visibility_encoding="ternary")
    scores = labels.provenance.get("consensus_scores")
    side = labels.provenance.get("instances")
    document = json.loads(path.read_text(encoding="utf-8"))
    annotations = document["annotations"]
    # The writer emits one annotation per instance, frames in order: the same order as the masks and the side table.
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
        if side is not None:
            # Not a COCO field; COCO readers keep unknown keys, so who labeled it travels with the annotation.
            annotation["labeler"] = side[index][5] or "anonymous"
    path.write_text(json.dumps(document), encoding="utf-8")
    return Written([path], len(annotations), len(images))


def _dlc(labels: sleap_io.Labels, target: Target) -> Written:
    """A DeepLabCut project: config.yaml and labeled-data/<video>/CollectedData_<scorer>.{csv,h5} beside the PNGs."""
    sio = require("sleap_io")
    pd = require("pandas")
    prepare_folder(target.out, force=True)
    stems = [Path(str(video.filename)).stem for video in labels.videos]
    if len(set(stems)) != len(stems):
        # sleap-io names a video's image folder by its file name's stem; two such videos would overwrite each other.
        twice = sorted({s for s in stems if stems.count(s) > 1})
        raise OutputError(
            f"two videos are both named {', '.join(twice)}; DeepLabCut keeps one labeled-data folder per video name: "
            "export them separately, or rename one"
        )
    individuals = _individuals(labels)
    written = Written()
    table_paths: dict[tuple[str, int], Path] = {}
    for video in labels.videos:
        frames = sorted((f for f in labels.labeled_frames if f.video is video), key=lambda f: f.frame_idx)
        if not frames:
            continue
        folder = target.out / "labeled-data" / Path(str(video.filename)).stem
        folder.mkdir(parents=True, exist_ok=True)
        csv_path = folder / f"CollectedData_{SCORER}.csv"
        # DeepLabCut has no visibility flag: a hidden point it knows is still a point to learn.
        with _hidden_as_placed(labels):
            sio.save_csv(labels, str(csv_path), format="dlc", video=video, include_score=False, scorer=SCORER)
        # A multi-animal table has a fourth header row: the individual.
        table = pd.read_csv(csv_path, header=[0, 1, 2, 3] if individuals else [0, 1, 2], index_col=0)
        if len(table.index) != len(frames):
            raise RuntimeError(f"the DeepLabCut writer wrote {len(table.index)} rows for {len(frames)} frames of {video.filename}")
        # The .h5 is what DeepLabCut trains from; it writes it with this key and reads it with pandas.read_hdf.
        table.to_hdf(folder / f"CollectedData_{SCORER}.h5", key="df_with_missing", mode="w", format="fixed")
        for frame, image in zip(frames, table.index):
            table_paths[(str(video.filename), frame.frame_idx)] = target.out / image
        written.paths.append(folder / f"CollectedData_{SCORER}.h5")
        if individuals:
            written.instances += sum(int(table.xs(name, axis=1, level=1).notna().any(axis=1).sum()) for name in individuals)
        else:
            written.instances += int(table.notna().any(axis=1).sum())
    if target.frames is not None:
        written.images = len(target.frames(labels, lambda url, index: table_paths[(url, index)]))
    config = target.out / "config.yaml"
    config.write_text(_dlc_config(labels, target, individuals), encoding="utf-8")
    written.paths.insert(0, config)
    return written


def _individuals(labels: sleap_io.Labels) -> list[str]:
    """The animals of a multi-animal DeepLabCut project, every instance given a track; empty when no frame holds two.

    DeepLabCut names each animal of a frame (`individuals`); sleap-io writes
    an instance only under its track, so one without gets `animal<n>` by its
    place in the frame. Volunteers are never individuals.
    """
    if all(len(frame.instances) <= 1 for frame in labels.labeled_frames):
        return []
    sio = require("sleap_io")
    by_name = {track.name: track for track in labels.tracks}
    for frame in labels.labeled_frames:
        taken = {instance.track.name for instance in frame.instances if instance.track is not None}
        free = (f"animal{n}" for n in range(1, 10_000) if f"animal{n}" not in taken)
        for instance in frame.instances:
            if instance.track is None:
                name = next(free)
                if name not in by_name:
                    by_name[name] = sio.Track(name=name)
                    labels.tracks.append(by_name[name])
                instance.track = by_name[name]
    return [track.name for track in labels.tracks]


def _dlc_config(labels: sleap_io.Labels, target: Target, individuals: Sequence[str] = ()) -> str:
    """DeepLabCut's project config: the keys its labeling and training read (sleap-io has no writer for it)."""
    yaml = require("yaml")
    videos = {}
    for video in labels.videos:
        shape = video.shape if video.backend is not None else video.backend_metadata.get("shape")
        height, width = (int(shape[1]), int(shape[2])) if shape else (0, 0)
        videos[str(video.filename)] = {"crop": f"0, {width}, 0, {height}"}
    config = {
        "Task": target.skeleton.name,
        "scorer": SCORER,
        "date": "export",
        "multianimalproject": False,
        "identity": None,
        "project_path": str(target.out.resolve()),
        "video_sets": videos,
        "bodyparts": [k.id for k in target.skeleton.keypoints],
        "start": 0,
        "stop": 1,
        "numframes2pick": 20,
        "skeleton": [list(edge) for edge in target.skeleton.edges],
        "skeleton_color": "black",
        "pcutoff": 0.6,
        "dotsize": 12,
        "alphavalue": 0.7,
        "colormap": "rainbow",
        "TrainingFraction": [0.95],
        "iteration": 0,
        "default_net_type": "resnet_50",
        "default_augmenter": "default",
        "snapshotindex": -1,
        "batch_size": 8,
        "cropping": False,
        "corner2move2": [50, 50],
        "move2corner": True,
    }
    if individuals:
        # maDLC's keys: every body part belongs to each individual; "MULTI!" is what it writes for bodyparts.
        config["multianimalproject"] = True
        config["individuals"] = list(individuals)
        config["uniquebodyparts"] = []
        config["multianimalbodyparts"] = config["bodyparts"]
        config["bodyparts"] = "MULTI!"
    return yaml.safe_dump(config, sort_keys=False)


def _nwb(labels: sleap_io.Labels, target: Target) -> Written:
    """An NWB file with ndx-pose's PoseTraining: skeleton, training frames, source videos by reference."""
    sio = require("sleap_io")
    with warnings.catch_warnings():
        # pynwb warns about fields a training set has no use for (session start in local time and the like).
        warnings.simplefilter("ignore")
        sio.save_nwb(labels, str(target.out), nwb_format="annotations")
    return Written([target.out], _count(labels))


def _yolo(labels: sleap_io.Labels, target: Target) -> Written:
    """An Ultralytics pose dataset: train/ and val/ images and labels, and data.yaml with kpt_shape and flip_idx."""
    sio = require("sleap_io")
    yaml = require("yaml")
    prepare_folder(target.out, force=True)
    assert target.frames is not None
    splits = {"train": labels}
    if len(labels.labeled_frames) >= 2:
        halves = labels.split(0.8, seed=0)
        splits = {"train": halves["split1"], "val": halves["split2"]}
    with tempfile.TemporaryDirectory(prefix="receiver-export-") as scratch:
        for name, part in splits.items():
            target.frames(part, lambda url, index: Path(scratch) / _safe(url) / f"{index:08d}.png")
            # YOLO's writer drops a point whose visible flag is off; a hidden paw is still a label (see the module doc).
            with _hidden_as_placed(part), warnings.catch_warnings(record=True) as skipped:
                warnings.simplefilter("always")
                sio.save_ultralytics(part, str(target.out), split_ratios={name: 1.0}, verbose=False)
            # The writer warns and skips a frame it cannot read; a training set missing frames is not what was asked.
            lost = [str(w.message) for w in skipped if "skipping" in str(w.message)]
            if lost:
                raise OutputError(f"the Ultralytics writer skipped frames: {lost[0]}")
    data = target.out / "data.yaml"
    config = yaml.safe_load(data.read_text(encoding="utf-8"))
    config["flip_idx"] = flip_index(target.skeleton)
    config["train"] = "train/images"
    config["val"] = "val/images" if "val" in splits else "train/images"
    data.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    label_files = sorted(target.out.glob("*/labels/*.txt"))
    instances = sum(1 for path in label_files for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    images = sum(1 for _ in target.out.glob("*/images/*"))
    return Written([data], instances, images)


def flip_index(skeleton: Skeleton) -> list[int]:
    """Ultralytics' flip_idx: for each keypoint, the index of its mirror image (itself when it has no pair)."""
    ids = [k.id for k in skeleton.keypoints]
    flip = list(range(len(ids)))
    for a, b in skeleton.symmetry:
        flip[ids.index(a)], flip[ids.index(b)] = ids.index(b), ids.index(a)
    return flip


def _csv(labels: sleap_io.Labels, target: Target) -> Written:
    require("sleap_io").save_csv(labels, str(target.out), format="instances", include_score=False)
    return Written([target.out], _count(labels))


def _labelstudio(labels: sleap_io.Labels, target: Target) -> Written:
    require("sleap_io").save_labelstudio(labels, str(target.out))
    return Written([target.out], _count(labels))


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("slp", "SLEAP labels (HDF5); with --embed a .pkg.slp holding the labeled frames", _slp, keeps_all=True, frames=True),
        Format("coco", "COCO keypoints: DIR/annotations.json and the frames under DIR/images", _coco, folder=True, keeps_all=True, frames=True),
        Format("dlc", "DeepLabCut project folder: config.yaml, labeled-data/<video>/CollectedData_*.h5/.csv and PNGs", _dlc, folder=True, frames=True),
        Format("nwb", "NWB file with ndx-pose PoseTraining (skeleton, training frames, source videos by reference)", _nwb),
        Format("yolo", "Ultralytics YOLO pose dataset folder: images, labels, data.yaml (kpt_shape, flip_idx)", _yolo, folder=True, frames=True),
        Format("csv", "one row per instance, a column pair per keypoint (pandas, spreadsheets)", _csv, keeps_all=True),
        Format("labelstudio", "Label Studio tasks, to review or correct labels by hand", _labelstudio, keeps_all=True),
    )
}


def format_names() -> tuple[str, ...]:
    return tuple(FORMATS)
