"""Records, or their consensus, as one sleap-io `Labels`: the single conversion every format starts from.

- The skeleton is the receiver's (`schemas.load_skeleton`): keypoint ids become
  node names, in skeleton order, with its edges.
- One `Video` per `video_url`, named by the URL and never opened or fetched
  (`open_backend=False`); its shape `(total_frames, height, width, 3)` is set
  in `backend_metadata`, which sleap-io reads when the backend is closed.
- One `LabeledFrame` per (video, frame_index). Without a consensus it holds
  one instance, the frame's representative label (`representative`: the
  medoid, the label closest to the others), since every training format reads
  the instances of a frame as different animals; `keep="all"` keeps one
  instance per label for the formats that can say who labeled what. A
  consensus export holds the consensus instance of each settled frame. A
  keypoint not placed is NaN, which sleap-io stores as not visible; a keypoint
  placed but hidden (the label's `visible` false) keeps its coordinates with
  sleap-io's visible flag off, which the writers in `formats` turn into each
  format's own notion.
- Several animals: a record with `instances` gives a frame one sleap-io
  instance per animal (its `Track` when the instance names one); its
  representative is the medoid among the frame's labels with the most common
  number of animals, and a consensus export holds each settled animal the
  consensus decided. Tracks name animals, never volunteers.
- Who labeled what: sleap-io's `Instance` has no free metadata, and `Track`
  and `Identity` mean the animal, not the person who clicked, so submitters go
  in a side table in `Labels.provenance` (saved in `.slp` files):
  ``provenance["instances"]`` holds ``[video, frame_idx, instance, submitter,
  record_id, volunteer, labels_of_the_frame]`` per instance, and for a
  consensus export ``provenance["consensus"]`` holds ``[video, frame_idx,
  labels, inliers, settled, submitters, score, spreads_px]`` per frame.

It writes no files; `formats` does.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from receiver.consensus import FrameConsensus, FrameKey, animals_of, volunteer_of
from receiver.consensus.votes import tracks_of
from receiver.contract.records import Record
from receiver.contract.schemas import Skeleton
from receiver.export.extra import require

if TYPE_CHECKING:
    import sleap_io

__all__ = ["GENERATOR", "Keep", "Label", "Submissions", "representative", "VideoInfo", "VideoSizes", "consensus_labels", "submission_labels", "video_infos"]

GENERATOR = "pose-receiver export"

#: One instance per frame (its representative label), or every label of every frame.
Keep = Literal["one", "all"]


@dataclass(frozen=True)
class VideoInfo:
    """What the records say about one video (the video itself is never read)."""

    url: str
    width: int
    height: int
    total_frames: int
    fps: float


class VideoSizes:
    """Each video's size, gathered one record at a time; the largest total_frames seen wins (FPS edits change it)."""

    def __init__(self) -> None:
        self._videos: dict[str, VideoInfo] = {}

    def add(self, record: Record) -> None:
        s = record.submission
        known = self._videos.get(s["video_url"])
        if known is None or s["total_frames"] > known.total_frames:
            self._videos[s["video_url"]] = VideoInfo(
                s["video_url"], int(s["frame_width"]), int(s["frame_height"]), int(s["total_frames"]), float(s["fps"])
            )

    def infos(self) -> dict[str, VideoInfo]:
        return dict(sorted(self._videos.items()))


def video_infos(records: Iterable[Record]) -> dict[str, VideoInfo]:
    """Each video's size from its records (see `VideoSizes`)."""
    sizes = VideoSizes()
    for record in records:
        sizes.add(record)
    return sizes.infos()


@dataclass(frozen=True)
class Label:
    """One submission as a submission export keeps it: its points and who sent it, when."""

    points: Any
    submitter: str
    volunteer: str
    record_id: str
    received_at: str
    #: A record of several animals: each animal's points and track; empty for a single animal (then `points` is it).
    animals: tuple[Any, ...] = ()
    tracks: tuple[str | None, ...] = ()

    def instances(self) -> list[tuple[Any, str | None]]:
        """Each animal the label holds, with its track (None where not given)."""
        if not self.animals:
            return [(self.points, None)]
        return list(zip(self.animals, self.tracks, strict=True))


class Submissions:
    """Records reduced, one at a time, to what a submission export writes: each one's points and origin, by frame.

    A streamed export holds these (a few hundred bytes a record) instead of
    the records themselves.
    """

    def __init__(self, skeleton: Skeleton) -> None:
        self._nodes = [k.id for k in skeleton.keypoints]
        self._frames: dict[FrameKey, list[Label]] = {}
        self.videos = VideoSizes()

    def add(self, record: Record) -> None:
        np = require("numpy")
        key = FrameKey(record.submission["video_url"], int(record.submission["frame_index"]))
        if "labels" in record.submission:
            points = np.array(_points(record.submission["labels"], self._nodes), dtype="float64")
            label = Label(points, record.submitter, volunteer_of(record), record.id, record.received_at)
        else:
            animals = tuple(np.array(_points(labels, self._nodes), dtype="float64") for labels in animals_of(record.submission))
            tracks = tuple(tracks_of(record.submission))
            label = Label(animals[0], record.submitter, volunteer_of(record), record.id, record.received_at, animals, tracks)
        self._frames.setdefault(key, []).append(label)
        self.videos.add(record)

    @property
    def crowded(self) -> bool:
        """Whether some frame has more than one submission."""
        return any(len(entries) > 1 for entries in self._frames.values())

    def by_frame(self) -> list[tuple[FrameKey, list[Label]]]:
        """(frame, [label, ...]) in frame order, labels in the order added."""
        return sorted(self._frames.items())


def submission_labels(records: Iterable[Record] | Submissions, skeleton: Skeleton, *, keep: Keep = "one") -> sleap_io.Labels:
    """A Labels with one instance per frame (`keep="one"`, the label `representative` picks) or one per label (`"all"`).

    One instance per frame is what a trainer needs: every format reads the
    instances of a frame as different animals. `"all"` is the several-labels
    view, for formats that can tell labelers apart (SLEAP's side table, COCO's
    `labeler`).
    """
    sio = require("sleap_io")
    if not isinstance(records, Submissions):
        gathered = Submissions(skeleton)
        for record in records:
            gathered.add(record)
        records = gathered
    sio_skeleton = _skeleton(sio, skeleton)
    videos = {url: _video(sio, info) for url, info in records.videos.infos().items()}
    video_index = {url: i for i, url in enumerate(videos)}
    tracks: dict[str, Any] = {}
    frames = []
    side: list[list[Any]] = []
    for key, entries in records.by_frame():
        chosen = entries if keep == "all" else [entries[representative(entries)]]
        instances = []
        for label in chosen:
            for points, track in label.instances():
                instances.append(sio.Instance.from_numpy(points, skeleton=sio_skeleton, track=_track(sio, tracks, track)))
                side.append([video_index[key.video_url], key.frame_index, len(instances) - 1, label.submitter, label.record_id, label.volunteer, len(entries)])
        frames.append(sio.LabeledFrame(video=videos[key.video_url], frame_idx=key.frame_index, instances=instances))
    provenance = {"generator": GENERATOR, "skeleton": skeleton.name, "instances": side, "kept": keep}
    return sio.Labels(
        labeled_frames=frames, videos=list(videos.values()), skeletons=[sio_skeleton], tracks=list(tracks.values()), provenance=provenance
    )


def _track(sio: Any, tracks: dict[str, Any], name: str | None) -> Any:
    """The one sleap-io `Track` of that name (made the first time it is named), or None."""
    if name is None:
        return None
    if name not in tracks:
        tracks[name] = sio.Track(name=name)
    return tracks[name]


def representative(labels: Sequence[Label]) -> int:
    """Which of a frame's labels stands for it: the medoid, the label closest to all the others.

    Closeness is the mean pixel distance over the keypoints both labels placed,
    summed over the other labels; a pair with no keypoint in common counts as
    the largest distance seen. Ties (always with one or two labels) go to the
    label with more keypoints placed, then to the most recent.
    """
    np = require("numpy")
    if any(label.animals for label in labels):
        return _representative_of_animals(labels)
    points = np.stack([label.points[:, :2] for label in labels])  # (n, k, 2)
    placed = np.isfinite(points).all(axis=2)  # (n, k)
    both = placed[:, None, :] & placed[None, :, :]  # (n, n, k)
    gaps = np.linalg.norm(points[:, None, :, :] - points[None, :, :, :], axis=3)  # (n, n, k)
    shared = both.sum(axis=2)
    with np.errstate(invalid="ignore"):
        mean = np.where(shared > 0, np.where(both, gaps, 0.0).sum(axis=2) / np.maximum(shared, 1), np.nan)
    worst = np.nanmax(mean) if np.isfinite(mean).any() else 0.0
    mean = np.where(np.isnan(mean), worst, mean)
    np.fill_diagonal(mean, 0.0)
    cost = mean.sum(axis=1)
    # Rounded so that float noise does not break a tie the data does not break.
    order = sorted(range(len(labels)), key=lambda i: (round(float(cost[i]), 6), -int(placed[i].sum()), _newest_first(labels[i])))
    return order[0]


def _representative_of_animals(labels: Sequence[Label]) -> int:
    """The medoid among a frame's labels of several animals that hold the most common number of them.

    Two labels are as far apart as each animal of one is from the nearest
    animal of the other, on average (mean pixel distance over the keypoints
    both placed), so the order in which volunteers listed their animals does
    not count.
    """
    np = require("numpy")
    sizes = [len(label.instances()) for label in labels]
    common = max(set(sizes), key=lambda n: (sizes.count(n), n))
    candidates = [i for i, n in enumerate(sizes) if n == common]
    animals = [np.stack([points[:, :2] for points, _ in label.instances()]) for label in labels]

    def apart(a: Any, b: Any) -> float:
        gaps = np.linalg.norm(a[:, None] - b[None, :], axis=3)  # (n, m, k)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(gaps, axis=2)
        nearest = np.where(np.isfinite(mean), mean, np.inf).min(axis=1)
        return float(np.where(np.isfinite(nearest), nearest, 0.0).mean())

    cost = {i: sum(apart(animals[i], animals[j]) for j in range(len(labels)) if j != i) for i in candidates}
    return min(candidates, key=lambda i: (round(cost[i], 6), _newest_first(labels[i])))


def _newest_first(label: Label) -> tuple[int, ...]:
    """A sort key that puts the most recent `received_at` first (the strings are fixed-width UTC)."""
    return tuple(-ord(c) for c in label.received_at)


def consensus_labels(
    results: Sequence[FrameConsensus], videos: dict[str, VideoInfo], skeleton: Skeleton, *, keep_order: bool = False
) -> sleap_io.Labels:
    """A Labels with one instance per settled frame: the consensus points, missing where the crowd left them out.

    A frame that is not settled has no consensus and is left out. The
    instance stays a user `Instance` (SLEAP trains only on those, never on
    predictions), so its certainty goes in the side tables:
    ``provenance["consensus"]`` per frame ``[video, frame_idx, labels,
    agreeing, settled, submitters, score, spreads_px]`` and
    ``provenance["consensus_scores"]``, which the COCO writer turns into each
    annotation's `score`. Frames go in `FrameKey` order, or as given with
    `keep_order` (a ranking, such as `--where model-wrong`'s).
    """
    sio = require("sleap_io")
    np = require("numpy")
    sio_skeleton = _skeleton(sio, skeleton)
    # Stable: the animals of a frame of several keep the consensus' order.
    chosen = [r for r in results if r.settled]
    if not keep_order:
        chosen.sort(key=lambda r: r.key)
    used = {r.key.video_url for r in chosen}
    sio_videos = {url: _video(sio, info) for url, info in videos.items() if url in used}
    video_index = {url: i for i, url in enumerate(sio_videos)}
    tracks: dict[str, Any] = {}
    frames = []
    side: list[list[Any]] = []
    scores: list[float] = []
    nan = float("nan")
    for result in chosen:
        rows = [
            (c[0], c[1], 1.0 if v is not False else 0.0) if c is not None else (nan, nan, 0.0)
            for c, v in zip(result.centre, result.visible)
        ]
        instance = sio.Instance.from_numpy(np.array(rows, dtype="float64"), skeleton=sio_skeleton, track=_track(sio, tracks, result.track))
        if result.animal is not None and frames and frames[-1].frame_idx == result.key.frame_index and frames[-1].video is sio_videos[result.key.video_url]:
            frames[-1].instances.append(instance)  # another animal of the same frame
        else:
            frames.append(
                sio.LabeledFrame(video=sio_videos[result.key.video_url], frame_idx=result.key.frame_index, instances=[instance])
            )
        side.append(
            [
                video_index[result.key.video_url],
                result.key.frame_index,
                result.labels,
                len(result.inliers),
                result.settled,
                [s.submitter for s in result.inliers],
                round(result.score, 4),
                [None if s is None else round(s, 2) for s in result.spread],
            ]
        )
        scores.append(round(result.score, 4))
    provenance = {"generator": GENERATOR, "skeleton": skeleton.name, "consensus": side, "consensus_scores": scores}
    return sio.Labels(
        labeled_frames=frames, videos=list(sio_videos.values()), skeletons=[sio_skeleton], tracks=list(tracks.values()), provenance=provenance
    )


def _skeleton(sio: Any, skeleton: Skeleton) -> Any:
    return sio.Skeleton(nodes=[k.id for k in skeleton.keypoints], edges=[list(e) for e in skeleton.edges], name=skeleton.name)


def _video(sio: Any, info: VideoInfo) -> Any:
    # open_backend=False: the URL is a name, never a file to probe or download.
    metadata = {"shape": (info.total_frames, info.height, info.width, 3), "fps": info.fps}
    return sio.Video(filename=info.url, backend_metadata=metadata, open_backend=False)


def _points(labels: Sequence[dict[str, Any]], nodes: Sequence[str]) -> list[tuple[float, float, float]]:
    """x, y and sleap-io's visible flag per node of one animal's labels: a hidden keypoint keeps its coordinates, visible 0."""
    by_id = {label["id"]: label for label in labels}
    nan = float("nan")
    points = []
    for node in nodes:
        label = by_id.get(node)
        if label is None or not label.get("placed"):
            points.append((nan, nan, 0.0))
        else:
            # Absent means visible: submissions from before the flag existed are all seen.
            seen = 1.0 if label.get("visible", True) else 0.0
            points.append((float(label["pixel_x"]), float(label["pixel_y"]), seen))
    return points
