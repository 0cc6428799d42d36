"""One frame's consensus, updated one submission at a time: what the receiver's intake calls.

    tally = FrameTally(key, width, height, keypoints, model=model, symmetry=pairs)
    state = tally.add(record)          # after each admitted record
    if state.settled(3): retire(key)   # or state.agreeing_labels

`add` re-solves only this frame (a handful of submissions) with the model
fixed: the per-keypoint noise and the volunteers' reliability learned by the
last repository run (`repository.learn`), or the prior when there is none. It
uses the same per-frame step as the repository run, so adding the records one
by one answers exactly what recomputing the frame with that model answers.
Learning itself (noise, reliability) is a repository-wide step and stays out
of the intake path.

Once a record of several animals (`instances`) is in, the frame is matched
into animals as the repository run does, and a record agrees when each of
its animals is an agreeing label of the animal it matched and it sent as
many animals as were decided; the answer's points are the first animal's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from receiver.consensus.model import Model
from receiver.consensus.repository import (
    ConsensusRule,
    FrameConsensus,
    SubmissionScore,
    pair_indices,
    read_answers,
)
from receiver.consensus.votes import FrameKey, Vote, animals_of, records_table, table_of, volunteer_of, vote_of
from receiver.contract.records import Record

__all__ = ["FrameState", "FrameTally"]


@dataclass(frozen=True)
class FrameState:
    """A frame's consensus after the latest submission."""

    consensus: FrameConsensus

    @property
    def labels(self) -> int:
        return self.consensus.labels

    @property
    def agreeing_labels(self) -> int:
        """How many submissions agree with the consensus (strays and careless labels do not count)."""
        return self.consensus.agreeing_labels

    def settled(self, k: int) -> bool:
        """Whether at least `k` submissions agree (the retirement rule), or an expert's gold decides the frame."""
        return self.consensus.gold or self.agreeing_labels >= k


class FrameTally:
    """The growing set of one frame's submissions and its consensus."""

    def __init__(
        self,
        key: FrameKey,
        width: int,
        height: int,
        keypoints: Sequence[str],
        *,
        model: Model | None = None,
        symmetry: Iterable[tuple[str, str]] = (),
        rule: ConsensusRule | None = None,
    ) -> None:
        self.key = key
        self.size = (width, height)
        self.keypoints = tuple(keypoints)
        self.model = model or Model.prior(self.keypoints)
        self.symmetry = tuple(symmetry)
        self.pairs = pair_indices(self.keypoints, self.symmetry)
        self.rule = rule or ConsensusRule()
        self.votes: list[Vote] = []
        self._seen: set[str] = set()
        #: The records added whole (not as votes), kept once one of them labels several animals.
        self._records: list[Record] = []
        self._several = False

    def add(self, record: Record) -> FrameState:
        """Add one admitted record of this frame (a re-sent record counts once) and answer the new state."""
        s = record.submission
        if (s["video_url"], int(s["frame_index"])) != (self.key.video_url, self.key.frame_index):
            raise ValueError(f"record {record.id} labels another frame than {self.key}")
        self._keep(record)
        return self.add_vote(vote_of(record, self.keypoints))

    def add_vote(self, vote: Vote) -> FrameState:
        """Add one vote (already in skeleton order) and answer the new state."""
        self._include(vote)
        return self.state()

    def extend(self, records: Iterable[Record]) -> FrameState:
        """Add several records of this frame and solve once: linear in the records, where adding them one by one is quadratic."""
        for record in records:
            s = record.submission
            if (s["video_url"], int(s["frame_index"])) != (self.key.video_url, self.key.frame_index):
                raise ValueError(f"record {record.id} labels another frame than {self.key}")
            self._keep(record)
            self._include(vote_of(record, self.keypoints))
        return self.state()

    def _keep(self, record: Record) -> None:
        if record.id not in self._seen:
            self._records.append(record)
            self._several = self._several or "labels" not in record.submission

    def _include(self, vote: Vote) -> None:
        if vote.record_id not in self._seen:
            self._seen.add(vote.record_id)
            self.votes.append(vote)

    def state(self) -> FrameState:
        """The consensus of the votes so far."""
        if self._several:
            return self._state_of_animals()
        table = table_of(((self.key, self.size, v) for v in self.votes), self.keypoints)
        (frame,), _ = read_answers(table, self.model, self.pairs, self.rule)
        return FrameState(frame)

    def _state_of_animals(self) -> FrameState:
        """The frame's animals matched and solved; one answer whose submissions are the records, agreeing when every animal of theirs does."""
        table = records_table(self._records, self.keypoints, symmetry=self.symmetry, sigma=self.model.sigma)
        animals, _ = read_answers(table, self.model, self.pairs, self.rule)
        decided, _ = table.animal_counts.get(self.key, (0, ()))
        agreeing: dict[str, int] = {}
        scores: dict[str, SubmissionScore] = {}
        for animal in animals:
            for score in animal.submissions:
                scores.setdefault(score.record_id, score)
                agreeing[score.record_id] = agreeing.get(score.record_id, 0) + (not score.outlier)
        count = {r.id: len(animals_of(r.submission)) for r in self._records}
        submissions = tuple(
            replace(scores[r.id], outlier=not (agreeing.get(r.id, 0) == decided == count.get(r.id)))
            if r.id in scores
            else SubmissionScore(r.id, r.submitter, volunteer_of(r), 0.0, None, True, ())
            for r in self._records
        )
        first = animals[0] if animals else None
        if first is None:
            nothing = tuple(None for _ in self.keypoints)
            empty = FrameConsensus(self.key, *self.size, self.keypoints, nothing, nothing, tuple(0 for _ in self.keypoints), nothing, submissions, False)
            return FrameState(empty)
        settled = all(animal.settled for animal in animals)
        return FrameState(replace(first, submissions=submissions, settled=settled))
