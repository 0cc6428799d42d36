"""Who clicked what on which frame: records turned into the arrays the consensus works on.

A `Vote` is one submission's clicks in skeleton order; a `ClickTable` holds
many of them as numpy arrays (clicks, placed, visible, frame, volunteer), so
every later step is vectorised. Volunteers are the record's submitter, and for
anonymous submissions the page's volunteer id in ``metadata["volunteer"]``
when present; an anonymous submission without one is nobody in particular
(volunteer index 0), who keeps the prior's weight and is never learned about.

A label whose `origin` is "suggested" (a model's point the volunteer
accepted unchanged) is not the volunteer's vote: every label of a frame that
accepted the same suggestion (one model version from `metadata.model`, one
keypoint) makes one click of that model's row, a pseudo-volunteer named
``model:<version>`` (`MODEL_PREFIX`), and the volunteer's own row keeps only
what they placed (`ClickTable.accepted` says what they accepted). So ten
volunteers accepting a wrong point are one vote, the model's, not ten. A
label a volunteer shown the suggestions placed themselves ("placed") rejects
the model's point there: `ClickTable.rejected` marks it in the model's row,
whose point is kept (to measure the model) but does not vote.
In records of several animals (`instances`), instances are matched with
their accepted points, which then vote in the model's row, placed with the
animal its acceptors' instances were matched to.

It decides nothing about agreement; it only lays the records out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from receiver.consensus.instances import match_instances
from receiver.consensus.model import MODEL_PREFIX, PRIOR_SIGMA
from receiver.contract.records import ANONYMOUS, Record

__all__ = [
    "MODEL_PREFIX",
    "UNKNOWN_VOLUNTEER",
    "model_of",
    "ClickTable",
    "FrameKey",
    "Point",
    "Vote",
    "group_by_frame",
    "rematched",
    "table_of",
    "volunteer_of",
    "animals_of",
    "tracks_of",
    "vote_of",
    "votes_of",
]

Point = tuple[float, float]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

#: The volunteer of an anonymous submission that names none.
UNKNOWN_VOLUNTEER = ""


@dataclass(frozen=True, order=True)
class FrameKey:
    """One frame of one video: what several volunteers label together."""

    video_url: str
    frame_index: int


@dataclass(frozen=True)
class Vote:
    """One submission's clicks in skeleton order; None where a keypoint was not placed."""

    record_id: str
    submitter: str
    points: tuple[Point | None, ...]
    visible: tuple[bool, ...] = ()
    volunteer: str = UNKNOWN_VOLUNTEER


def volunteer_of(record: Record) -> str:
    """Who clicked: the token's name, the session's pseudonym, or else the page's declared volunteer id ('' when none).

    A pseudonym is issued by the receiver; a declared id is whatever the client
    wrote, so records that carry only one are keyed apart (`anonymous/<id>`).
    """
    if record.submitter != ANONYMOUS:
        return record.submitter
    if record.volunteer is not None:
        return record.volunteer
    volunteer = (record.submission.get("metadata") or {}).get("volunteer")
    if isinstance(volunteer, str) and volunteer:
        return f"{ANONYMOUS}/{volunteer}"
    return UNKNOWN_VOLUNTEER


def model_of(submission: dict[str, Any]) -> str:
    """The pseudo-volunteer of the model whose suggestions a submission accepted: ``model:<metadata.model>``, or ``model:unnamed``."""
    name = (submission.get("metadata") or {}).get("model")
    return MODEL_PREFIX + (name if isinstance(name, str) and name else "unnamed")


def animals_of(submission: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """Each animal's labels in a submission: its one `labels`, or one list per instance."""
    if "labels" in submission:
        return [submission["labels"]]
    return [instance["labels"] for instance in submission.get("instances", [])]


def tracks_of(submission: dict[str, Any]) -> list[str | None]:
    """Each animal's track (None where not given), in the order of `animals_of`."""
    if "labels" in submission:
        return [None]
    return [instance.get("track") for instance in submission.get("instances", [])]


def vote_of(record: Record, keypoints: Sequence[str]) -> Vote:
    """A record's clicks in the order of `keypoints` (a valid record: placed means coordinates).

    A record of several animals votes with its first instance here: judging a
    frame one animal at a time (retirement, gold screening) needs one vote per
    record. `votes_of` gives every animal's.
    """
    return _vote(record, animals_of(record.submission)[0], keypoints)


def votes_of(record: Record, keypoints: Sequence[str]) -> list[Vote]:
    """One vote per animal the record labels (one for a single-animal record)."""
    return [_vote(record, labels, keypoints) for labels in animals_of(record.submission)]


def _vote(record: Record, labels: Sequence[dict[str, Any]], keypoints: Sequence[str]) -> Vote:
    by_id = {label["id"]: label for label in labels}
    points: list[Point | None] = []
    visible: list[bool] = []
    for keypoint in keypoints:
        label = by_id.get(keypoint)
        if label is None or not label.get("placed"):
            points.append(None)
            visible.append(False)
        else:
            points.append((float(label["pixel_x"]), float(label["pixel_y"])))
            # Absent means visible: submissions from before the flag were all seen.
            visible.append(bool(label.get("visible", True)))
    return Vote(record.id, record.submitter, tuple(points), tuple(visible), volunteer_of(record))


def group_by_frame(records: Iterable[Record]) -> dict[FrameKey, list[Record]]:
    """Records by the frame they label, frames in sorted order, records in the order given."""
    frames: dict[FrameKey, list[Record]] = {}
    for record in records:
        key = FrameKey(record.submission["video_url"], int(record.submission["frame_index"]))
        frames.setdefault(key, []).append(record)
    return dict(sorted(frames.items()))


@dataclass
class ClickTable:
    """Submissions as arrays: row i is one submission, column k one keypoint.

    `clicks` (n, K, 2) pixels, NaN where not placed; `visible` (n, K);
    `frame` (n,) an index into `frames`; `volunteer` (n,) an index into
    `volunteers` (0 is the unknown volunteer); `size` (F, 2) each frame's width
    and height.
    """

    keypoints: tuple[str, ...]
    frames: list[FrameKey]
    size: FloatArray
    volunteers: list[str]
    record_ids: list[str]
    submitters: list[str]
    clicks: FloatArray
    visible: BoolArray
    frame: IntArray
    volunteer: IntArray
    #: The name a volunteer's page showed (metadata.volunteer), beside the pseudonym that identifies them.
    display_names: dict[str, str] = field(default_factory=dict)
    #: Frames of several animals: each animal is a frame of its own here (same `FrameKey`), by index: (animal number, track).
    animal_of: dict[int, tuple[int, str | None]] = field(default_factory=dict)
    #: Frames of several animals by key: the number of animals decided, and how many each of its volunteers sent.
    animal_counts: dict[FrameKey, tuple[int, tuple[int, ...]]] = field(default_factory=dict)
    _volunteer_index: dict[str, int] = field(default_factory=dict, repr=False)
    #: (n, K) keypoints a submission accepted as suggested (left NaN in its own clicks: they vote in the model's row); None when none did.
    accepted: BoolArray | None = None
    #: (n, K) a model row's points that a volunteer shown them replaced with their own: kept, but no vote. None when none.
    rejected: BoolArray | None = None
    #: (n,) rows whose volunteer was shown a model's suggestions (and model rows): their clicks are not a fair test of
    #: the model, since volunteers place their own points mostly where it is wrong. None when no one was shown any.
    shown: BoolArray | None = None
    #: What the frames of several animals were matched from (the table without them, their voters, the pairs), to match them again.
    _animals: tuple[ClickTable, Any, IntArray] | None = field(default=None, repr=False)

    @property
    def model_rows(self) -> BoolArray:
        """(n,) which rows are a model's accepted suggestions rather than a volunteer's submission."""
        machine = np.array([name.startswith(MODEL_PREFIX) for name in self.volunteers], dtype=bool)
        result: BoolArray = machine[self.volunteer]
        return result

    @property
    def placed(self) -> BoolArray:
        placed: BoolArray = np.isfinite(self.clicks[..., 0])
        return placed

    def __len__(self) -> int:
        return len(self.record_ids)


def table_of(votes: Iterable[tuple[FrameKey, tuple[int, int], Vote]], keypoints: Sequence[str]) -> ClickTable:
    """Lay out (frame, (width, height), vote) triples; frames and volunteers get indices in order of appearance."""
    frame_index: dict[FrameKey, int] = {}
    sizes: list[tuple[int, int]] = []
    volunteer_index: dict[str, int] = {UNKNOWN_VOLUNTEER: 0}
    rows: list[Any] = []
    record_ids: list[str] = []
    submitters: list[str] = []
    frame: list[int] = []
    volunteer: list[int] = []
    visible: list[tuple[bool, ...]] = []
    nan = (float("nan"), float("nan"))
    for key, size, vote in votes:
        f = frame_index.setdefault(key, len(frame_index))
        if f == len(sizes):
            sizes.append(size)
        frame.append(f)
        volunteer.append(volunteer_index.setdefault(vote.volunteer, len(volunteer_index)))
        rows.append([p if p is not None else nan for p in vote.points])
        visible.append(vote.visible or tuple(p is not None for p in vote.points))
        record_ids.append(vote.record_id)
        submitters.append(vote.submitter)
    k = len(keypoints)
    return ClickTable(
        keypoints=tuple(keypoints),
        frames=list(frame_index),
        size=np.array(sizes, dtype=np.float64).reshape(-1, 2),
        volunteers=list(volunteer_index),
        record_ids=record_ids,
        submitters=submitters,
        clicks=np.array(rows, dtype=np.float64).reshape(-1, k, 2),
        visible=np.array(visible, dtype=bool).reshape(-1, k),
        frame=np.array(frame, dtype=np.int64),
        volunteer=np.array(volunteer, dtype=np.int64),
        _volunteer_index=volunteer_index,
    )


def records_table(
    records: Iterable[Record],
    keypoints: Sequence[str],
    *,
    chunk: int = 65_536,
    symmetry: Iterable[tuple[str, str]] = (),
    sigma: FloatArray | None = None,
) -> ClickTable:
    """The click table of stored records, read as they come.

    The same table as `table_of` over `vote_of`, without a `Vote` per record:
    each record's clicks go straight into flat lists that become numpy arrays
    every `chunk` records, so the records can be streamed (from a folder, a
    git repository or a generator) and need not be held. Records of several
    animals (`instances`) are the exception: they are held per frame until
    the end, when each such frame's instances are matched into animals
    (`instances.match_instances`, with `sigma` per keypoint and the
    `symmetry` pairs) and each animal becomes a frame of the table.
    """
    several: dict[tuple[str, int], list[Record]] = {}
    position = {keypoint: k for k, keypoint in enumerate(keypoints)}
    k_count = len(keypoints)
    nan = float("nan")
    frame_index: dict[tuple[str, int], int] = {}
    frames: list[FrameKey] = []
    sizes: list[tuple[int, int]] = []
    volunteer_index: dict[str, int] = {UNKNOWN_VOLUNTEER: 0}
    record_ids: list[str] = []
    submitters: list[str] = []
    clicks: list[FloatArray] = []
    visible: list[BoolArray] = []
    frame: list[IntArray] = []
    volunteer: list[IntArray] = []
    coordinates: list[float] = []
    seen: list[bool] = []
    frame_rows: list[int] = []
    volunteer_rows: list[int] = []
    display_names: dict[str, str] = {}
    # Per (frame, model row): the accepted points, x and y per keypoint (the first acceptance of each keypoint).
    suggested: dict[tuple[int, str], list[float]] = {}
    accepted_rows: dict[int, list[bool]] = {}
    rejections: dict[tuple[int, str], set[int]] = {}
    shown_rows: list[bool] = []

    def flush() -> None:
        clicks.append(np.array(coordinates, dtype=np.float64).reshape(-1, k_count, 2))
        visible.append(np.array(seen, dtype=bool).reshape(-1, k_count))
        frame.append(np.array(frame_rows, dtype=np.int64))
        volunteer.append(np.array(volunteer_rows, dtype=np.int64))
        coordinates.clear()
        seen.clear()
        frame_rows.clear()
        volunteer_rows.clear()

    for record in records:
        submission = record.submission
        where = (submission["video_url"], int(submission["frame_index"]))
        if "labels" not in submission:
            several.setdefault(where, []).append(record)
            continue
        f = frame_index.get(where)
        if f is None:
            f = frame_index[where] = len(frames)
            frames.append(FrameKey(*where))
            sizes.append((int(submission["frame_width"]), int(submission["frame_height"])))
        frame_rows.append(f)
        who = volunteer_of(record)
        v = volunteer_index.get(who)
        if v is None:
            v = volunteer_index[who] = len(volunteer_index)
        volunteer_rows.append(v)
        if record.volunteer is not None:
            shown = (submission.get("metadata") or {}).get("volunteer")
            if isinstance(shown, str) and shown:
                display_names[who] = shown[:64]
        row = [nan] * (2 * k_count)
        flags = [False] * k_count
        # A record of several animals lays out its first here; `instances` match them whole.
        for label in submission["labels"] if "labels" in submission else animals_of(submission)[0]:
            k = position.get(label["id"])
            if k is None:
                continue
            if label.get("placed") and label.get("origin") == "suggested":
                # Not this volunteer's vote: it joins the model's one click at this keypoint.
                model_row = suggested.setdefault((f, model_of(submission)), [nan] * (2 * k_count))
                if model_row[2 * k] != model_row[2 * k]:
                    model_row[2 * k], model_row[2 * k + 1] = float(label["pixel_x"]), float(label["pixel_y"])
                accepted_rows.setdefault(len(record_ids), [False] * k_count)[k] = True
            elif label.get("placed"):
                if label.get("origin") == "placed":
                    rejections.setdefault((f, model_of(submission)), set()).add(k)
                row[2 * k], row[2 * k + 1] = float(label["pixel_x"]), float(label["pixel_y"])
                # Absent means visible: submissions from before the flag were all seen.
                flags[k] = bool(label.get("visible", True))
            else:
                row[2 * k] = row[2 * k + 1] = nan
                flags[k] = False
        coordinates += row
        seen += flags
        shown_rows.append("model" in (submission.get("metadata") or {}) or any("origin" in label for label in submission["labels"]))
        record_ids.append(record.id)
        submitters.append(record.submitter)
        if len(frame_rows) >= chunk:
            flush()
    rejected_rows: dict[int, set[int]] = {}
    for (f, name), coordinates_of_model in suggested.items():
        if (f, name) in rejections:
            rejected_rows[len(record_ids)] = rejections[f, name]
        frame_rows.append(f)
        v = volunteer_index.get(name)
        if v is None:
            v = volunteer_index[name] = len(volunteer_index)
        volunteer_rows.append(v)
        coordinates += coordinates_of_model
        seen += [x == x for x in coordinates_of_model[::2]]
        record_ids.append(name)
        submitters.append(name)
        shown_rows.append(True)
    flush()
    rejected = None
    if rejected_rows:
        rejected = np.zeros((len(record_ids), k_count), dtype=bool)
        for i, columns in rejected_rows.items():
            rejected[i, sorted(columns)] = True
    accepted = None
    if accepted_rows:
        accepted = np.zeros((len(record_ids), k_count), dtype=bool)
        for i, flags_of_row in accepted_rows.items():
            accepted[i] = flags_of_row
    table = ClickTable(
        keypoints=tuple(keypoints),
        frames=frames,
        size=np.array(sizes, dtype=np.float64).reshape(-1, 2),
        volunteers=list(volunteer_index),
        record_ids=record_ids,
        submitters=submitters,
        clicks=np.concatenate(clicks),
        visible=np.concatenate(visible),
        frame=np.concatenate(frame),
        volunteer=np.concatenate(volunteer),
        display_names=display_names,
        accepted=accepted,
        rejected=rejected,
        shown=np.array(shown_rows, dtype=bool) if any(shown_rows) else None,
        _volunteer_index=volunteer_index,
    )
    if not several:
        return table
    pairs = np.array([(position[a], position[b]) for a, b in symmetry if a in position and b in position], dtype=np.int64).reshape(-1, 2)
    base, voters = _set_apart(table, several, position)
    return _with_animals(base, voters, pairs, np.full(k_count, PRIOR_SIGMA) if sigma is None else sigma)


def rematched(table: ClickTable, sigma: FloatArray) -> ClickTable:
    """The table with its frames of several animals matched again with `sigma` (the learned noise): what `consensus` does once it has learned."""
    if table._animals is None:
        return table
    base, voters, pairs = table._animals
    return _with_animals(base, voters, pairs, sigma)


@dataclass
class _Voter:
    """One record's animals in a frame of several: points (n, K, 2), visible (n, K), tracks (n,).

    `accepted` (n, K) the suggestions it accepted (left out of `points`); for a
    model's voter, `rejected` (n, K) its points volunteers replaced; `shown`
    whether its volunteer saw a model's suggestions.
    """

    record_id: str
    submitter: str
    volunteer: int
    points: FloatArray
    visible: BoolArray
    tracks: list[str | None]
    accepted: BoolArray | None = None
    rejected: BoolArray | None = None
    shown: bool = False


def _voter(record: Record, position: dict[str, int], volunteer: int, models: dict[str, _Voter], index: dict[str, int], volunteers: list[str]) -> _Voter:
    """The record's voter; its accepted suggestions go to its model's voter in `models` (made on first use, one instance).

    The receiver suggests one animal per frame, so all a frame's accepted
    points are that model's one instance; a point placed in an instance that
    accepted some suggestions rejects the model's point there.
    """
    submission = record.submission
    animals = animals_of(submission)
    k = len(position)
    points = np.full((len(animals), k, 2), np.nan)
    visible = np.zeros((len(animals), k), dtype=bool)
    accepted = np.zeros((len(animals), k), dtype=bool)
    shown = "model" in (submission.get("metadata") or {})
    for i, labels in enumerate(animals):
        suggested_here = any(label.get("origin") == "suggested" for label in labels)
        for label in labels:
            shown = shown or "origin" in label
            j = position.get(label["id"])
            if j is None or not label.get("placed"):
                continue
            if label.get("origin") == "suggested" or (suggested_here and label.get("origin") == "placed"):
                name = model_of(submission)
                model = models.get(name)
                if model is None:
                    if name not in index:
                        index[name] = len(volunteers)
                        volunteers.append(name)
                    blank = np.full((1, k, 2), np.nan)
                    model = models[name] = _Voter(name, name, index[name], blank, np.zeros((1, k), bool), [None], rejected=np.zeros((1, k), bool), shown=True)
                if label.get("origin") == "placed":
                    assert model.rejected is not None
                    model.rejected[0, j] = True
                else:
                    accepted[i, j] = True
                    if not np.isfinite(model.points[0, j, 0]):
                        model.points[0, j] = (float(label["pixel_x"]), float(label["pixel_y"]))
                        model.visible[0, j] = bool(label.get("visible", True))
            # Accepted points stay here for matching the instances; `_with_animals` leaves them out of the votes.
            points[i, j] = (float(label["pixel_x"]), float(label["pixel_y"]))
            visible[i, j] = bool(label.get("visible", True))
    return _Voter(record.id, record.submitter, volunteer, points, visible, tracks_of(submission), accepted if accepted.any() else None, None, shown)


#: Per frame of several animals: its size, its voters, and its models' voters (one instance each, placed after matching).
_Frames = dict[tuple[str, int], tuple[tuple[int, int], list[_Voter], list[_Voter]]]


def _set_apart(table: ClickTable, several: dict[tuple[str, int], list[Record]], position: dict[str, int]) -> tuple[ClickTable, _Frames]:
    """The table without the frames that have records of several animals, and those frames' voters (a single-animal record votes as one instance)."""
    lookup = {(key.video_url, key.frame_index): f for f, key in enumerate(table.frames)}
    mixed = np.array(sorted(lookup[w] for w in several if w in lookup), dtype=np.int64)
    moved = np.isin(table.frame, mixed)
    by_frame: dict[int, list[_Voter]] = {}
    for row in np.flatnonzero(moved).tolist():
        voter = _Voter(
            table.record_ids[row],
            table.submitters[row],
            int(table.volunteer[row]),
            table.clicks[row][None],
            table.visible[row][None],
            [None],
            None if table.accepted is None else table.accepted[row][None],
            None if table.rejected is None else table.rejected[row][None],
            bool(table.shown is not None and table.shown[row]),
        )
        by_frame.setdefault(int(table.frame[row]), []).append(voter)
    kept_frames = np.flatnonzero(~np.isin(np.arange(len(table.frames)), mixed))
    renumber = np.full(len(table.frames), -1, dtype=np.int64)
    renumber[kept_frames] = np.arange(len(kept_frames))
    keep = ~moved
    index = table._volunteer_index
    volunteers = list(table.volunteers)
    frames: _Frames = {}
    for where, records in sorted(several.items()):
        voters = by_frame.get(lookup[where], []) if where in lookup else []
        # A model's row moved from the single-animal records is its voter here too; the instances' acceptances join it.
        models = {v.record_id: v for v in voters if v.record_id.startswith(MODEL_PREFIX)}
        voters = [v for v in voters if not v.record_id.startswith(MODEL_PREFIX)]
        for model in models.values():
            if model.rejected is None:
                model.rejected = np.zeros(model.points.shape[:2], dtype=bool)
            model.shown = True
        for record in records:
            who = volunteer_of(record)
            if who not in index:
                index[who] = len(volunteers)
                volunteers.append(who)
            voters.append(_voter(record, position, index[who], models, index, volunteers))
        first = records[0].submission
        frames[where] = ((int(first["frame_width"]), int(first["frame_height"])), voters, list(models.values()))
    base = ClickTable(
        keypoints=table.keypoints,
        frames=[table.frames[f] for f in kept_frames.tolist()],
        size=table.size[kept_frames],
        volunteers=volunteers,
        record_ids=[r for r, kept in zip(table.record_ids, keep.tolist(), strict=True) if kept],
        submitters=[s for s, kept in zip(table.submitters, keep.tolist(), strict=True) if kept],
        clicks=table.clicks[keep],
        visible=table.visible[keep],
        frame=renumber[table.frame[keep]],
        volunteer=table.volunteer[keep],
        display_names=table.display_names,
        accepted=None if table.accepted is None else table.accepted[keep],
        rejected=None if table.rejected is None else table.rejected[keep],
        shown=None if table.shown is None else table.shown[keep],
        _volunteer_index=index,
    )
    return base, frames


def _exchanged(voter: _Voter, crossings: Sequence[tuple[int, int, int]]) -> _Voter:
    """The voter with each keypoint it gave to the wrong one of two animals given back (a copy)."""
    points, visible = voter.points.copy(), voter.visible.copy()
    accepted = None if voter.accepted is None else voter.accepted.copy()
    rejected = None if voter.rejected is None else voter.rejected.copy()
    for i, j, k in crossings:
        points[[i, j], k] = points[[j, i], k]
        visible[[i, j], k] = visible[[j, i], k]
        for flags in (accepted, rejected):
            if flags is not None:
                flags[[i, j], k] = flags[[j, i], k]
    return _Voter(voter.record_id, voter.submitter, voter.volunteer, points, visible, voter.tracks, accepted, rejected, voter.shown)


def _with_animals(base: ClickTable, several: _Frames, pairs: IntArray, sigma: FloatArray) -> ClickTable:
    """`base` with one frame per matched animal of each frame of several animals appended; instances no animal takes are left out."""
    k = len(base.keypoints)
    frames, sizes = list(base.frames), base.size.tolist()
    clicks, visible = [base.clicks], [base.visible]
    frame, volunteer = [base.frame], [base.volunteer]
    record_ids, submitters = list(base.record_ids), list(base.submitters)
    n_base = len(base.record_ids)
    accepted = [np.zeros((n_base, k), dtype=bool) if base.accepted is None else base.accepted]
    rejected = [np.zeros((n_base, k), dtype=bool) if base.rejected is None else base.rejected]
    shown = [np.zeros(n_base, dtype=bool) if base.shown is None else base.shown]
    animal_of: dict[int, tuple[int, str | None]] = {}
    animal_counts: dict[FrameKey, tuple[int, tuple[int, ...]]] = {}

    def add_row(voter: _Voter, i: int, f_new: int) -> None:
        taken = np.zeros(k, dtype=bool) if voter.accepted is None else voter.accepted[i]
        # An accepted suggestion is matched with its instance but votes in its model's row, not here.
        clicks.append(np.where(taken[:, None], np.nan, voter.points[i])[None])
        visible.append((voter.visible[i] & ~taken)[None])
        frame.append(np.array([f_new], dtype=np.int64))
        volunteer.append(np.array([voter.volunteer], dtype=np.int64))
        record_ids.append(voter.record_id)
        submitters.append(voter.submitter)
        accepted.append(taken[None])
        rejected.append((np.zeros(k, dtype=bool) if voter.rejected is None else voter.rejected[i])[None])
        shown.append(np.array([voter.shown]))

    for where, (size, voters, models) in several.items():
        key = FrameKey(*where)
        matching = match_instances([v.points for v in voters], sigma, float(np.hypot(*size)), pairs)
        animal_counts[key] = (matching.animals, matching.counts)
        voters = [_exchanged(voter, crossings) if crossings else voter for voter, crossings in zip(voters, matching.crossings, strict=True)]
        # The model suggested one animal: the one its acceptors' instances were matched to most.
        suggested_to = [slot for voter, slots in zip(voters, matching.animal, strict=True) if voter.accepted is not None
                        for i, slot in enumerate(slots) if slot >= 0 and voter.accepted[i].any()]
        model_animal = max(sorted(set(suggested_to)), key=suggested_to.count) if suggested_to else -1
        for a in range(matching.animals):
            f_new = len(frames)
            frames.append(key)
            sizes.append(list(size))
            tracks: list[str] = []
            for voter, slots in zip(voters, matching.animal, strict=True):
                for i, slot in enumerate(slots):
                    if slot != a:
                        continue
                    add_row(voter, i, f_new)
                    track = voter.tracks[i]
                    if track is not None:
                        tracks.append(track)
            if a == model_animal:
                for model in models:
                    add_row(model, 0, f_new)
            # The animal's track is the one most of its instances name (ties: the first by name).
            animal_of[f_new] = (a, max(sorted(set(tracks)), key=tracks.count) if tracks else None)
    all_shown = np.concatenate(shown)
    all_accepted, all_rejected = np.concatenate(accepted), np.concatenate(rejected)
    return ClickTable(
        keypoints=base.keypoints,
        frames=frames,
        size=np.array(sizes, dtype=np.float64).reshape(-1, 2),
        volunteers=base.volunteers,
        record_ids=record_ids,
        submitters=submitters,
        clicks=np.concatenate(clicks).reshape(-1, k, 2),
        visible=np.concatenate(visible).reshape(-1, k),
        frame=np.concatenate(frame).astype(np.int64),
        volunteer=np.concatenate(volunteer).astype(np.int64),
        display_names=base.display_names,
        animal_of=animal_of,
        animal_counts=animal_counts,
        accepted=all_accepted if all_accepted.any() else None,
        rejected=all_rejected if all_rejected.any() else None,
        shown=all_shown if all_shown.any() else None,
        _volunteer_index=base._volunteer_index,
        _animals=(base, several, pairs),
    )


__all__ += ["records_table"]
