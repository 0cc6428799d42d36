"""Consensus: one trustworthy label per frame from several volunteers' clicks, and who to trust.

The modules, one concept each: `votes` (records laid out as arrays, who the
volunteer is), `instances` (several animals in a frame matched across
volunteers), `noise` (per-keypoint noise and the OKS built on it), `swaps`
(left/right pairs exchanged back), `model` (what is learned, and the
per-frame step that uses it), `reliability` (learning volunteers and noise
from the answers), `repository` (a whole repository: learn, then answer per
frame and per volunteer), `incremental` (one frame, one submission at a time,
for the receiver's intake), `gold` (expert labels' points), `disagreement`
(where the settled crowd and a model disagree), `report` (an HTML page
with plots). Pure and vectorised with numpy; it reads no files, and writes
none except in `report`.

May import: `contract`.
"""

from __future__ import annotations

from receiver.consensus.gold import gold_agreement, gold_points
from receiver.consensus.incremental import FrameState, FrameTally
from receiver.consensus.model import Model
from receiver.consensus.repository import (
    Consensus,
    ConsensusRule,
    FrameConsensus,
    SubmissionScore,
    VolunteerScore,
    consensus,
    consensus_of_table,
)
from receiver.consensus.votes import (
    FrameKey,
    Point,
    Vote,
    group_by_frame,
    animals_of,
    records_table,
    volunteer_of,
    vote_of,
    votes_of,
)

__all__ = [
    "Consensus",
    "ConsensusRule",
    "FrameConsensus",
    "FrameKey",
    "FrameState",
    "FrameTally",
    "Model",
    "Point",
    "SubmissionScore",
    "Vote",
    "VolunteerScore",
    "consensus",
    "consensus_of_table",
    "gold_agreement",
    "gold_points",
    "group_by_frame",
    "records_table",
    "volunteer_of",
    "vote_of",
    "votes_of",
    "animals_of",
]
