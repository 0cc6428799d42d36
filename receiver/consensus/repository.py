"""The consensus of a whole repository: learn the model, then one answer per frame and per volunteer.

`consensus(records, skeleton)` lays the records out (`votes`), learns the
model in `rule.rounds` rounds (each: `model.solve` every frame with the model
fixed, then `reliability.Tally` re-estimates noise and volunteers from the
answers), solves once more, and reads the answers off:

- per frame (`FrameConsensus`): per keypoint the centre, its standard error
  in pixels (`spread`, the radius of one standard deviation of the centre),
  the number of agreeing clicks and whether it is visible (weighted majority
  of the agreeing clicks' flags); per submission an OKS agreement with the
  learned sigmas, the keypoints that look like strays and the left/right
  pairs it swapped; settled once `settle` submissions agree (a submission
  agrees when its placed keypoints are honest attempts on average), at least
  one of them a volunteer's own rather than a model's accepted suggestions
  (`votes`), and every point where the crowd contradicts the model backed by
  `settle` volunteers' own clicks. A frame
  that is not settled has no centre at all: too few agreeing volunteers is
  reported as such, never filled in. Frames to look at by hand are marked
  `review` with the reason.
- per volunteer (`VolunteerScore`): labels, mean agreement, honest share,
  precision, offset, reliability and swaps, and the error against gold; for
  a model (``model:<version>``) also its reliability and its error per
  keypoint against gold and settled points placed by volunteers not shown its suggestions.

Frames of several animals (records with `instances`) are matched into
animals first (`instances`, with the learned noise once there is some: the
table is matched with the prior's, a model learned, then matched again);
each animal is then a `FrameConsensus` of its own, with the frame's key and
its `animal` number and `track`, and the same centre, spread and agreement a
single animal gets. Volunteers are learned from their matched instances.

Gold frames (expert points) keep the expert's point whatever the crowd says,
and score the volunteers who labeled them against the truth. Frames are
processed in blocks of similar size so memory stays bounded.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from receiver.consensus.model import Model, Solution, solve, squared_distance
from receiver.consensus.noise import KAPPA, oks
from receiver.consensus.reliability import Tally
from receiver.consensus.votes import ClickTable, FrameKey, Point, records_table, rematched
from receiver.contract.records import Record

__all__ = [
    "Answers",
    "Consensus",
    "ConsensusRule",
    "FrameConsensus",
    "SubmissionScore",
    "VolunteerScore",
    "consensus",
    "consensus_of_table",
    "gold_curve",
    "answer_arrays",
    "learn",
    "pair_indices",
    "read_answers",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Gold = Mapping[FrameKey, Sequence[Point | None]]
_Named = TypeVar("_Named")


@dataclass(frozen=True)
class ConsensusRule:
    """The numbers of the consensus (see the module docstring)."""

    settle: int = 3
    rounds: int = 8
    agree: float = 0.5
    review_radius: float = 0.003
    # Slots (frames x their most submissions) solved at once: 250,000 keeps a
    # block's arrays near 12 MB each, and a block stops iterating as soon as
    # its own frames have settled rather than when the slowest frame has.
    block_cells: int = 250_000
    # Learning rounds before the last stop once no centre moves by more than
    # `round_tolerance` pixels (or after `round_iterations` steps): the model
    # changes between rounds anyway and each round starts from the last one's
    # centres. The last round and the answers are solved to `tolerance`.
    round_tolerance: float = 0.05
    round_iterations: int = 10
    tolerance: float = 1e-4

    def __post_init__(self) -> None:
        if self.settle < 1:
            raise ValueError(f"settle must be 1 or more, not {self.settle}")
        if self.rounds < 0:
            raise ValueError("rounds must not be negative")
        if not (0 < self.agree < 1 and self.review_radius > 0):
            raise ValueError("agree must lie between 0 and 1 and review_radius be positive")


@dataclass(frozen=True)
class SubmissionScore:
    """How one submission compares with its frame's consensus."""

    record_id: str
    submitter: str
    volunteer: str
    agreement: float
    error: float | None
    outlier: bool
    outlying_keypoints: tuple[str, ...]
    swapped: tuple[tuple[str, str], ...] = ()
    #: Every point it placed was a model's suggestion accepted: its vote is the model's, so it neither agrees nor is an outlier.
    suggested_only: bool = False


@dataclass(frozen=True)
class FrameConsensus:
    """The consensus of one frame; `centre` is None everywhere when the frame is not settled."""

    key: FrameKey
    width: int
    height: int
    keypoints: tuple[str, ...]
    centre: tuple[Point | None, ...]
    spread: tuple[float | None, ...]
    agreeing: tuple[int, ...]
    visible: tuple[bool | None, ...]
    submissions: tuple[SubmissionScore, ...]
    settled: bool
    score: float = 0.0
    gold: bool = False
    review: tuple[str, ...] = ()
    #: In a frame of several animals, which one this is (0 first) and its track; None for a single animal's frame.
    animal: int | None = None
    track: str | None = None

    @property
    def labels(self) -> int:
        return len(self.submissions)

    @property
    def inliers(self) -> tuple[SubmissionScore, ...]:
        return tuple(s for s in self.submissions if not s.outlier and not s.suggested_only)

    @property
    def outliers(self) -> tuple[SubmissionScore, ...]:
        return tuple(s for s in self.submissions if s.outlier)

    @property
    def agreeing_labels(self) -> int:
        return len(self.inliers)

    @property
    def swaps(self) -> int:
        return sum(len(s.swapped) for s in self.submissions)


@dataclass(frozen=True)
class VolunteerScore:
    """One volunteer over the repository."""

    volunteer: str
    labels: int
    agreement: float
    inlier: float
    tau: float
    offset_px: tuple[float, float]
    reliability: float
    swaps: int
    gold_labels: int = 0
    gold_error_px: float | None = None
    #: The name the volunteer's page showed, when they labelled with a session (the key is the session's pseudonym).
    name: str | None = None
    #: A model only (``model:<version>``): its reliability per keypoint, its mean distance in pixels to gold and to settled
    #: consensus points backed by volunteers not shown its suggestions (None where none), and how many points judged it.
    keypoint_reliability: tuple[float, ...] | None = None
    keypoint_error_px: tuple[float | None, ...] | None = None
    keypoint_checked: tuple[int, ...] | None = None


@dataclass
class Consensus:
    """Everything `consensus` found: frames, volunteers, the model, the pairs it checked.

    The frames are held as arrays (`answers`); `frames` builds every
    `FrameConsensus` once and keeps them, `iter_frames` builds them as they are
    read and keeps none, for a caller that streams them.
    """

    answers: Answers
    volunteers: list[VolunteerScore]
    model: Model
    pairs: tuple[tuple[str, str], ...]
    rule: ConsensusRule
    gold_curve: list[tuple[int, float, int]] = field(default_factory=list)

    @cached_property
    def frames(self) -> list[FrameConsensus]:
        return list(self.answers)

    def iter_frames(self) -> Iterator[FrameConsensus]:
        """The frames in `FrameKey` order, built as they are read (see `Answers`)."""
        return iter(self.frames) if "frames" in self.__dict__ else self.answers.frames()

    def __iter__(self) -> Iterator[FrameConsensus]:
        return self.iter_frames()

    def __len__(self) -> int:
        return len(self.answers)

    @property
    def review(self) -> list[FrameConsensus]:
        return [f for f in self.iter_frames() if f.review]


def pair_indices(keypoints: Sequence[str], pairs: Iterable[tuple[str, str]]) -> IntArray:
    """Symmetric pairs as keypoint indices (names not in `keypoints` are left out)."""
    where = {k: i for i, k in enumerate(keypoints)}
    found = [(where[a], where[b]) for a, b in pairs if a in where and b in where]
    return np.array(found, dtype=np.int64).reshape(-1, 2)


@dataclass
class _Block:
    frames: IntArray  # (F,) indices into table.frames
    slots: IntArray  # (F, M) rows of the table, -1 where none
    present: BoolArray


def _blocks(table: ClickTable, cells: int) -> list[_Block]:
    """Frames sorted by their number of submissions, cut so no block pads past `cells` slots."""
    n_frames = len(table.frames)
    if n_frames == 0:
        return []
    order = np.argsort(table.frame, kind="stable")
    counts = np.bincount(table.frame, minlength=n_frames)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    by_size = np.argsort(counts, kind="stable")
    blocks: list[_Block] = []
    i = 0
    while i < n_frames:
        j = i + 1
        while j < n_frames and (j + 1 - i) * counts[by_size[j]] <= cells:
            j += 1
        frames = by_size[i:j]
        width = int(counts[frames].max())
        position = starts[frames][:, None] + np.arange(width)[None, :]
        present = np.arange(width)[None, :] < counts[frames][:, None]
        slots = np.where(present, order[np.minimum(position, len(order) - 1)], -1)
        blocks.append(_Block(frames, slots, present))
        i = j
    return blocks


def _gather(table: ClickTable, block: _Block, rows: IntArray) -> tuple[FloatArray, BoolArray, IntArray, FloatArray]:
    safe = np.maximum(block.slots, 0)
    clicks = np.where(block.present[:, :, None, None], table.clicks[safe], np.nan)
    if table.rejected is not None:
        # A model's point a volunteer shown it replaced does not vote (it stays in the table, to measure the model).
        clicks = np.where(table.rejected[safe][..., None], np.nan, clicks)
    visible = table.visible[safe] & block.present[:, :, None]
    volunteer = np.where(block.present, rows[table.volunteer[safe]], 0)
    return clicks, visible, volunteer, table.size[block.frames]


def _gold_array(table: ClickTable, gold: Gold | None) -> FloatArray | None:
    if not gold:
        return None
    array = np.full((len(table.frames), len(table.keypoints), 2), np.nan)
    for f, key in enumerate(table.frames):
        if f in table.animal_of:
            continue  # an expert's points are of one animal: they judge single-animal frames only
        points = gold.get(key)
        if points is not None:
            for k, point in enumerate(points):
                if point is not None:
                    array[f, k] = point
    return array


def _solve_block(
    table: ClickTable,
    block: _Block,
    model: Model,
    rows: IntArray,
    pairs: IntArray,
    gold: FloatArray | None,
    *,
    start: FloatArray | None = None,
    tolerance: float = 1e-4,
    max_iterations: int = 100,
) -> tuple[Solution, IntArray, FloatArray]:
    clicks, visible, volunteer, size = _gather(table, block, rows)
    solution = solve(
        clicks,
        visible,
        block.present,
        volunteer,
        size,
        model,
        pairs,
        gold=None if gold is None else gold[block.frames],
        start=None if start is None else start[block.frames],
        tolerance=tolerance,
        max_iterations=max_iterations,
    )
    return solution, volunteer, size


def learn(table: ClickTable, pairs: IntArray, rule: ConsensusRule, gold: Gold | None = None) -> Model:
    """The model learned from every frame of the table, in `rule.rounds` rounds."""
    return _learn(table, pairs, rule, gold)[0]


def _learn(table: ClickTable, pairs: IntArray, rule: ConsensusRule, gold: Gold | None) -> tuple[Model, FloatArray | None]:
    """The learned model and the last round's centres (F, K, 2), from which the answers can start."""
    model = Model.prior(table.keypoints)
    n = len(table.volunteers)
    model = Model(model.keypoints, model.sigma, list(table.volunteers), np.full(n, model.inlier[0]), np.ones(n), np.zeros((n, 2)))
    rows = np.arange(n, dtype=np.int64)
    gold_points = _gold_array(table, gold)
    blocks = _blocks(table, rule.block_cells)
    centres: FloatArray | None = None
    for round_ in range(rule.rounds):
        last = round_ == rule.rounds - 1
        tally = Tally(model, witnesses=max(rule.settle - 1, 1))
        found = np.full((len(table.frames), len(table.keypoints), 2), np.nan)
        for block in blocks:
            solution, volunteer, size = _solve_block(
                table,
                block,
                model,
                rows,
                pairs,
                gold_points,
                start=centres,
                tolerance=rule.tolerance if last else rule.round_tolerance,
                max_iterations=100 if last else rule.round_iterations,
            )
            block_gold = None if gold_points is None else np.isfinite(gold_points[block.frames][..., 0])
            unshown = _unshown(table, block)
            tally.add(solution, volunteer, size, block.present, block_gold, unshown)
            if table.rejected is not None:
                tally.add_rejected(_rejected_points(table, block), solution, volunteer, size, block.present, block_gold, unshown)
            found[block.frames] = solution.centre
        centres = found
        model = tally.updated()
    return model, centres


def _unshown(table: ClickTable, block: _Block) -> BoolArray | None:
    """(F, M) the block's submissions of volunteers who were not shown a model's suggestions; None when no one was."""
    if table.shown is None:
        return None
    result: BoolArray = ~table.shown[np.maximum(block.slots, 0)] & block.present
    return result


def _rejected_points(table: ClickTable, block: _Block) -> FloatArray:
    """(F, M, K, 2) the model's points volunteers replaced, NaN elsewhere: what `Tally.add_rejected` judges the model on."""
    safe = np.maximum(block.slots, 0)
    assert table.rejected is not None
    mask = table.rejected[safe] & block.present[:, :, None]
    result: FloatArray = np.where(mask[..., None], table.clicks[safe], np.nan)
    return result


@dataclass
class Answers:
    """Every frame's and submission's answer as arrays; `FrameConsensus` objects are built only when read.

    Per table row (submission): `agrees`, `agreement`, `error` (NaN when
    nothing placed), `outlying` (n, K) and `swapped` (n, P). Per frame:
    `centre` (F, K, 2), `spread`, `agreeing`, `placed_share`, `visible_share`,
    `point_score`, `has_gold` (F, K). Iterating yields the frames in
    `FrameKey` order, built a few thousand at a time, so a caller that streams
    them (counting, writing a CSV) never holds them all.
    """

    table: ClickTable
    rule: ConsensusRule
    pair_names: tuple[tuple[str, str], ...]
    agrees: BoolArray
    agreement: FloatArray
    error: FloatArray
    outlying: BoolArray
    swapped: BoolArray
    centre: FloatArray
    spread: FloatArray
    agreeing: IntArray
    placed_share: FloatArray
    visible_share: FloatArray
    point_score: FloatArray
    has_gold: BoolArray
    #: (F,) whether each frame settled: gold, or `settle` agreeing submissions of which at least one a volunteer placed themselves.
    settled: BoolArray | None = None
    #: (F,) agreeing submissions that are volunteers' own, not a model's accepted suggestions.
    independent: IntArray | None = None

    def __len__(self) -> int:
        return len(self.table.frames)

    def __iter__(self) -> Iterator[FrameConsensus]:
        return self.frames()

    def frames(self, chunk: int = 4096) -> Iterator[FrameConsensus]:
        """The frames in `FrameKey` order, built `chunk` frames at a time."""
        table = self.table
        n_frames = len(table.frames)
        by_frame = np.argsort(table.frame, kind="stable")
        counts = np.bincount(table.frame, minlength=n_frames)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        order = sorted(range(n_frames), key=table.frames.__getitem__)
        outlying_bits = _bits(self.outlying)
        swapped_bits = _bits(self.swapped)
        outlying_names = _names_by_mask(table.keypoints)
        swapped_names = _names_by_mask(self.pair_names)
        # Submissions that only accepted suggestions: nothing of their own placed, something accepted.
        accepted_only = np.zeros(len(table), dtype=bool)
        if table.accepted is not None:
            accepted_only = table.accepted.any(axis=1) & ~np.isfinite(table.clicks[..., 0]).any(axis=1)
        for first in range(0, n_frames, chunk):
            frames = np.array(order[first : first + chunk], dtype=np.int64)
            lengths = counts[frames]
            ends = np.cumsum(lengths)
            rows = by_frame[np.repeat(starts[frames] - (ends - lengths), lengths) + np.arange(int(ends[-1]) if len(ends) else 0)]
            submissions = [
                SubmissionScore(
                    record_id=table.record_ids[row],
                    submitter=table.submitters[row],
                    volunteer=table.volunteers[volunteer],
                    agreement=agreement,
                    error=None if error != error else error,
                    outlier=not agrees and not only,
                    outlying_keypoints=outlying_names(out),
                    swapped=swapped_names(swap),
                    suggested_only=only,
                )
                for row, volunteer, agreement, error, agrees, out, swap, only in zip(
                    rows.tolist(),
                    table.volunteer[rows].tolist(),
                    self.agreement[rows].tolist(),
                    self.error[rows].tolist(),
                    self.agrees[rows].tolist(),
                    outlying_bits[rows].tolist(),
                    swapped_bits[rows].tolist(),
                    accepted_only[rows].tolist(),
                )
            ]
            agreeing_labels = np.add.reduceat(self.agrees[rows].astype(np.int64), ends - lengths) if len(rows) else np.zeros(0, np.int64)
            yield from self._frames(frames, lengths.tolist(), ends.tolist(), agreeing_labels.tolist(), submissions)

    def _frames(
        self, frames: IntArray, lengths: list[int], ends: list[int], agreeing_labels: list[int], submissions: list[SubmissionScore]
    ) -> Iterator[FrameConsensus]:
        table, rule, keypoints = self.table, self.rule, self.table.keypoints
        diagonals = np.hypot(table.size[frames, 0], table.size[frames, 1]).tolist()
        settled_of = self.settled.tolist() if self.settled is not None else [None] * len(table.frames)
        independent_of = self.independent.tolist() if self.independent is not None else [None] * len(table.frames)
        for f, length, end, agreeing, centre, spread, visible_share, placed_share, point_score, has_gold, clicks, diagonal in zip(
            frames.tolist(),
            lengths,
            ends,
            agreeing_labels,
            self.centre[frames].tolist(),
            self.spread[frames].tolist(),
            self.visible_share[frames].tolist(),
            self.placed_share[frames].tolist(),
            self.point_score[frames].tolist(),
            self.has_gold[frames].tolist(),
            self.agreeing[frames].tolist(),
            diagonals,
        ):
            gold = any(has_gold)
            independent = independent_of[f]
            settled = settled_of[f] if settled_of[f] is not None else gold or agreeing >= rule.settle
            centres: list[Point | None] = []
            spreads: list[float | None] = []
            visible: list[bool | None] = []
            review: list[str] = []
            scores: list[float] = []
            for k, name in enumerate(keypoints):
                x, y = centre[k]
                if not (settled and (has_gold[k] or placed_share[k] > 0.5)) or not math.isfinite(x):
                    centres.append(None)
                    spreads.append(None)
                    visible.append(None)
                    continue
                centres.append((x, y))
                radius = spread[k]
                spreads.append(radius)
                share = visible_share[k]
                visible.append(share >= 0.5)
                scores.append(point_score[k])
                if not gold and 0.3 < share < 0.7:
                    review.append(f"{name}: volunteers split on whether it is visible")
                if not gold and radius > rule.review_radius * diagonal:
                    review.append(f"{name}: uncertain, standard error {radius:.1f} px")
            if not settled and independent == 0 and agreeing > 0 and length >= rule.settle:
                review.append("only accepted suggestions agree: no volunteer placed a point of their own that agrees")
            elif not settled and length >= rule.settle:
                review.append(f"{length} labels but only {agreeing} agree")
            animal, track = table.animal_of.get(f, (None, None))
            if animal is not None:
                decided, sent = table.animal_counts[table.frames[f]]
                if any(count != decided for count in sent):
                    review.append(f"volunteers disagree on the number of animals: they sent {', '.join(map(str, sorted(sent)))}; {decided} kept")
            yield FrameConsensus(
                key=table.frames[f],
                width=int(table.size[f, 0]),
                height=int(table.size[f, 1]),
                keypoints=keypoints,
                centre=tuple(centres),
                spread=tuple(spreads),
                agreeing=tuple(clicks),
                visible=tuple(visible),
                submissions=tuple(submissions[end - length : end]),
                settled=settled,
                score=sum(scores) / len(scores) if scores else 0.0,
                gold=gold,
                review=tuple(review),
                animal=animal,
                track=track,
            )


def _bits(flags: BoolArray) -> IntArray:
    """Each row's flags as one integer (bit j for column j), so rows with the same flags share one tuple of names."""
    weights = np.left_shift(1, np.arange(flags.shape[1], dtype=np.int64))
    bits: IntArray = flags.astype(np.int64) @ weights if flags.shape[1] else np.zeros(len(flags), dtype=np.int64)
    return bits


def _names_by_mask(names: Sequence[_Named]) -> Callable[[int], tuple[_Named, ...]]:
    cache: dict[int, tuple[_Named, ...]] = {}

    def named(mask: int) -> tuple[_Named, ...]:
        found = cache.get(mask)
        if found is None:
            found = cache[mask] = tuple(name for j, name in enumerate(names) if mask >> j & 1)
        return found

    return named


def read_answers(
    table: ClickTable,
    model: Model,
    pairs: IntArray,
    rule: ConsensusRule,
    gold: Gold | None = None,
    *,
    start: FloatArray | None = None,
) -> tuple[list[FrameConsensus], list[VolunteerScore]]:
    """Solve every frame with `model` fixed and read off the frames' and the volunteers' answers.

    `start` (F, K, 2), centres to start from (the learning's last round), only
    saves steps: each frame is still solved to `rule.tolerance`.
    """
    answers, volunteers = answer_arrays(table, model, pairs, rule, gold, start=start)
    return list(answers), volunteers


def answer_arrays(
    table: ClickTable,
    model: Model,
    pairs: IntArray,
    rule: ConsensusRule,
    gold: Gold | None = None,
    *,
    start: FloatArray | None = None,
) -> tuple[Answers, list[VolunteerScore]]:
    """`read_answers` with the frames kept as arrays (`Answers`), to be built or streamed later."""
    rows = model.index(table.volunteers)
    gold_points = _gold_array(table, gold)
    pair_names = tuple((table.keypoints[a], table.keypoints[b]) for a, b in pairs)
    reliability = model.keypoint_reliability()
    whole_reliability = model.reliability()
    machine = table.model_rows
    n, n_frames, k = len(table), len(table.frames), len(table.keypoints)
    answers = Answers(
        table=table,
        rule=rule,
        pair_names=pair_names,
        agrees=np.zeros(n, dtype=bool),
        agreement=np.zeros(n),
        error=np.full(n, np.nan),
        outlying=np.zeros((n, k), dtype=bool),
        swapped=np.zeros((n, len(pairs)), dtype=bool),
        centre=np.full((n_frames, k, 2), np.nan),
        spread=np.full((n_frames, k), np.inf),
        agreeing=np.zeros((n_frames, k), dtype=np.int64),
        placed_share=np.zeros((n_frames, k)),
        visible_share=np.zeros((n_frames, k)),
        point_score=np.zeros((n_frames, k)),
        has_gold=np.zeros((n_frames, k), dtype=bool),
        settled=np.zeros(n_frames, dtype=bool),
        independent=np.zeros(n_frames, dtype=np.int64),
    )
    v = len(table.volunteers)
    # Per volunteer and keypoint: the model rows' distance to settled centres that volunteers' own clicks back.
    model_error, model_checked = np.zeros((v, k)), np.zeros((v, k))
    agreement_sum, labels, swaps = np.zeros(v), np.zeros(v), np.zeros(v)
    gold_error, gold_labels = np.zeros(v), np.zeros(v)
    for block in _blocks(table, rule.block_cells):
        solution, volunteer, size = _solve_block(
            table, block, model, rows, pairs, gold_points, start=start, tolerance=rule.tolerance
        )
        safe_slots = np.maximum(block.slots, 0)
        accepted = None if table.accepted is None else table.accepted[safe_slots] & block.present[:, :, None]
        rejected = None if table.rejected is None else table.rejected[safe_slots] & block.present[:, :, None]
        found = _frame_answers(
            solution,
            block,
            volunteer,
            size,
            model,
            reliability,
            rule,
            gold_points,
            machine=machine[safe_slots] & block.present,
            accepted=accepted,
            rejected=rejected,
            unshown=_unshown(table, block),
        )
        present = block.present
        slots = block.slots[present]
        answers.agrees[slots] = found["agrees"][present]
        answers.agreement[slots] = found["agreement"][present]
        answers.error[slots] = found["error"][present]
        answers.outlying[slots] = found["outlying"][present]
        answers.swapped[slots] = found["swaps"][present]
        f = block.frames
        answers.centre[f] = found["centre"]
        answers.spread[f] = found["spread"]
        answers.agreeing[f] = found["agreeing_clicks"]
        answers.placed_share[f] = found["placed_share"]
        answers.visible_share[f] = found["visible_share"]
        answers.point_score[f] = found["point_score"]
        answers.has_gold[f] = found["has_gold"]
        answers.settled[f] = found["settled"]
        answers.independent[f] = found["independent"]
        own = np.where(present, table.volunteer[np.maximum(block.slots, 0)], 0)
        is_machine = machine[safe_slots] & present
        if is_machine.any():
            # The model is judged where the crowd settled the point without it: gold, or a settled frame with an agreeing click of a volunteer not shown it.
            backed = found["backed"] & found["settled"][:, None]  # (F, K)
            # The model's own points, the ones volunteers replaced included.
            distance = np.sqrt(squared_distance(table.clicks[safe_slots], solution.centre[:, None]))  # (F, M, K)
            judged = is_machine[:, :, None] & backed[:, None, :] & np.isfinite(distance)
            cells = (own[:, :, None] * k + np.arange(k)[None, None, :])
            model_error += np.bincount(cells[judged], weights=distance[judged], minlength=v * k).reshape(v, k)
            model_checked += np.bincount(cells[judged], minlength=v * k).reshape(v, k)
        agreement_sum += np.bincount(own[present], weights=found["agreement"][present], minlength=v)
        labels += np.bincount(own[present], minlength=v)
        swaps += np.bincount(own[present], weights=solution.swaps.sum(axis=2)[present], minlength=v)
        if gold_points is not None:
            target = gold_points[block.frames][:, None]
            distance = np.sqrt(((solution.clicks - target) ** 2).sum(axis=-1))
            scored = np.isfinite(distance) & present[:, :, None]
            per_label = np.where(scored, distance, 0).sum(axis=2) / np.maximum(scored.sum(axis=2), 1)
            has = scored.any(axis=2)
            gold_error += np.bincount(own[has], weights=per_label[has], minlength=v)
            gold_labels += np.bincount(own[has], minlength=v)
    diagonal = float(np.median(np.hypot(table.size[:, 0], table.size[:, 1]))) if len(table.size) else 0.0
    machine_volunteer = model.is_model()[rows] if len(rows) else np.zeros(0, dtype=bool)
    volunteers = [
        VolunteerScore(
            volunteer=name or "(anonymous, no volunteer id)",
            labels=int(labels[i]),
            agreement=float(agreement_sum[i] / max(labels[i], 1)),
            inlier=float(model.inlier[rows[i]]),
            tau=float(model.tau[rows[i]]),
            offset_px=(float(model.bias[rows[i], 0] * diagonal), float(model.bias[rows[i], 1] * diagonal)),
            reliability=float(whole_reliability[rows[i]]),
            swaps=int(swaps[i]),
            gold_labels=int(gold_labels[i]),
            gold_error_px=float(gold_error[i] / gold_labels[i]) if gold_labels[i] else None,
            name=table.display_names.get(name),
            keypoint_reliability=tuple(float(x) for x in reliability[rows[i]]) if machine_volunteer[i] else None,
            keypoint_error_px=tuple(float(model_error[i, j] / model_checked[i, j]) if model_checked[i, j] else None for j in range(k))
            if machine_volunteer[i]
            else None,
            keypoint_checked=tuple(int(x) for x in model_checked[i]) if machine_volunteer[i] else None,
        )
        for i, name in enumerate(table.volunteers)
        if labels[i] > 0
    ]
    return answers, volunteers


def _frame_answers(
    solution: Solution,
    block: _Block,
    volunteer: IntArray,
    size: FloatArray,
    model: Model,
    reliability: FloatArray,
    rule: ConsensusRule,
    gold: FloatArray | None,
    *,
    machine: BoolArray | None = None,
    accepted: BoolArray | None = None,
    rejected: BoolArray | None = None,
    unshown: BoolArray | None = None,
) -> dict[str, FloatArray]:
    """Per frame and submission what the answers read off (`reliability` (V, K); `machine` (F, M) the model rows; `accepted` (F, M, K))."""
    diagonal = np.hypot(size[:, 0], size[:, 1])
    placed = np.isfinite(solution.clicks[..., 0]) & block.present[:, :, None]
    r = solution.responsibility
    counts = placed.sum(axis=2)
    mean_r = np.where(counts > 0, r.sum(axis=2) / np.maximum(counts, 1), 0.0)
    agrees = (mean_r >= rule.agree) & block.present & (counts > 0)
    squared = squared_distance(solution.clicks, solution.centre[:, None]) / diagonal[:, None, None] ** 2
    agreement = oks(squared, model.sigma, placed)
    error = np.where(counts > 0, np.nansum(np.sqrt(squared), axis=2) / np.maximum(counts, 1), np.nan)
    trust = reliability[volunteer] * agrees[:, :, None]  # (F, M, K)
    # A keypoint accepted as suggested was placed by the volunteer, though its click votes in the model's row.
    asserted = placed if accepted is None else placed | accepted
    placed_share = (trust * asserted).sum(axis=1) / np.maximum(trust.sum(axis=1), 1e-12)
    honest = r * reliability[volunteer]
    visible_share = (honest * solution.visible).sum(axis=1) / np.maximum(honest.sum(axis=1), 1e-12)
    deviation = model.sigma[None, None, :] * diagonal[:, None, None] * model.tau_of(volunteer)
    precision = (r / deviation**2).sum(axis=1)
    spread = np.where(precision > 0, 1 / np.sqrt(np.maximum(precision, 1e-300)), np.inf)
    has_gold = np.zeros(spread.shape, dtype=bool) if gold is None else np.isfinite(gold[block.frames][..., 0])
    spread = np.where(has_gold, 0.0, spread)
    tolerance = (KAPPA * model.sigma[None, :] * diagonal[:, None]) ** 2
    point_score = tolerance / (tolerance + spread**2)
    people = agrees if machine is None else agrees & ~machine
    independent = people.sum(axis=1)
    own_clicks = (people[:, :, None] & placed & (r >= rule.agree)).sum(axis=1)  # (F, K)
    # Settled: gold, or enough agreeing submissions, at least one a volunteer's own (a model's accepted suggestions alone settle nothing).
    settled = (agrees.sum(axis=1) >= rule.settle) & (independent >= 1)
    if machine is not None and machine.any():
        # Where the crowd contradicts the model, the model's vote is gone: that point needs `settle` volunteers' own agreeing clicks.
        contradicted = (machine[:, :, None] & placed & (r < rule.agree)).any(axis=1)
        if rejected is not None:
            contradicted |= rejected.any(axis=1)
        contradicted &= own_clicks > 0
        settled &= ~(contradicted & (own_clicks < rule.settle)).any(axis=1)
    settled |= has_gold.any(axis=1)
    # Where the model can be judged: gold, or an agreeing click of a volunteer who was not shown its suggestions.
    fair = people if unshown is None else people & unshown
    backed = has_gold | (fair[:, :, None] & placed & (r >= rule.agree)).any(axis=1)
    return {
        "settled": settled,
        "independent": independent,
        "backed": backed,
        "agrees": agrees,
        "agreement": agreement,
        "error": error,
        "outlying": placed & (r < rule.agree),
        "agreeing_clicks": (placed & (r >= rule.agree)).sum(axis=1),
        "placed_share": placed_share,
        "visible_share": visible_share,
        "spread": spread,
        "point_score": point_score,
        "has_gold": has_gold,
        "diagonal": diagonal,
        "centre": solution.centre,
        "swaps": solution.swaps,
    }


def consensus(
    records: Iterable[Record],
    keypoints: Sequence[str],
    rule: ConsensusRule | None = None,
    *,
    symmetry: Iterable[tuple[str, str]] = (),
    gold: Gold | None = None,
) -> Consensus:
    """Learn from every record, then the consensus of each frame and the score of each volunteer."""
    rule = rule or ConsensusRule()
    symmetry = tuple(symmetry)
    table = records_table(records, keypoints, symmetry=symmetry)
    return consensus_of_table(table, rule, symmetry=symmetry, gold=gold)


def consensus_of_table(
    table: ClickTable,
    rule: ConsensusRule,
    *,
    symmetry: Iterable[tuple[str, str]] = (),
    gold: Gold | None = None,
    model: Model | None = None,
) -> Consensus:
    """`consensus` over a laid-out table; with `model`, nothing is learned and that model is used."""
    pairs = pair_indices(table.keypoints, symmetry)
    start = None
    if model is None and table.animal_counts:
        # Instances were matched with the prior's noise; match them again with the learned one, then learn on that.
        table = rematched(table, _learn(table, pairs, rule, gold)[0].sigma)
    elif model is not None and table.animal_counts:
        table = rematched(table, model.sigma)
    if model is None:
        model, start = _learn(table, pairs, rule, gold)
    answers, volunteers = answer_arrays(table, model, pairs, rule, gold, start=start)
    curve = gold_curve(table, model, pairs, rule, gold) if gold else []
    return Consensus(answers, volunteers, model, answers.pair_names, rule, curve)


def gold_curve(
    table: ClickTable, model: Model, pairs: IntArray, rule: ConsensusRule, gold: Gold | None
) -> list[tuple[int, float, int]]:
    """(volunteers, mean error in pixels, frames): the consensus of each gold frame's first n labels against the expert's."""
    gold_points = _gold_array(table, gold)
    if gold_points is None:
        return []
    rows = model.index(table.volunteers)
    curve: list[tuple[int, float, int]] = []
    for block in _blocks(table, rule.block_cells):
        keep = np.isfinite(gold_points[block.frames][..., 0]).any(axis=1)
        if not keep.any():
            continue
        sub = _Block(block.frames[keep], block.slots[keep], block.present[keep])
        clicks, visible, volunteer, size = _gather(table, sub, rows)
        truth = gold_points[sub.frames]
        for n in range(1, sub.slots.shape[1] + 1):
            present = sub.present & (np.arange(sub.slots.shape[1])[None, :] < n)
            enough = present.sum(axis=1) >= n
            if not enough.any():
                continue
            solution = solve(clicks, visible, present, volunteer, size, model, pairs)
            error = np.sqrt(((solution.centre - truth) ** 2).sum(axis=-1))[enough]
            curve.append((n, float(np.nanmean(error)), int(enough.sum())))
    merged: dict[int, tuple[float, int]] = {}
    for n, error, frames in curve:
        total, count = merged.get(n, (0.0, 0))
        merged[n] = (total + error * frames, count + frames)
    return [(n, total / count, count) for n, (total, count) in sorted(merged.items())]
