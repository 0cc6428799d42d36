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
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from receiver.consensus.model import Model
from receiver.consensus.repository import (
    ConsensusRule,
    FrameConsensus,
    pair_indices,
    read_answers,
)
from receiver.consensus.votes import FrameKey, Vote, table_of, vote_of
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
        self.pairs = pair_indices(self.keypoints, symmetry)
        self.rule = rule or ConsensusRule()
        self.votes: list[Vote] = []
        self._seen: set[str] = set()

    def add(self, record: Record) -> FrameState:
        """Add one admitted record of this frame (a re-sent record counts once) and answer the new state."""
        s = record.submission
        if (s["video_url"], int(s["frame_index"])) != (self.key.video_url, self.key.frame_index):
            raise ValueError(f"record {record.id} labels another frame than {self.key}")
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
            self._include(vote_of(record, self.keypoints))
        return self.state()

    def _include(self, vote: Vote) -> None:
        if vote.record_id not in self._seen:
            self._seen.add(vote.record_id)
            self.votes.append(vote)

    def state(self) -> FrameState:
        """The consensus of the votes so far."""
        table = table_of(((self.key, self.size, v) for v in self.votes), self.keypoints)
        (frame,), _ = read_answers(table, self.model, self.pairs, self.rule)
        return FrameState(frame)
