"""Who counts, and how often a session is tested: a voice's standing from its scores on gold and on settled frames.

A voice (a session's pseudonym, or a token's name) earns a score each time it
labels a gold frame (its label matched the expert's or not) and each time a
frame it labelled retires (its label was one of the agreeing ones or not).
From those counts alone, with no I/O:

- a voice *far off* is barred: its labels are kept and delivered and weigh
  nothing in retirement or in a frame's agreed points. Far off gold means a
  gold match rate, shrunk toward one half by one success and one failure
  (Beta(1, 1)), below 0.4 after at least two gold frames (two misses out of
  two, one hit out of four). Far off the crowd means the same shrunk rate of
  agreeing with settled frames below 0.25 after at least six of them, for
  labs without gold;
- a new session is shown gold frames often, and less as it proves itself:
  40% of its frames before its first gold match, falling by 30% with each
  match toward a floor of 10%, as Zooniverse screens new volunteers.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Standing", "GOLD_KIND", "SETTLED_KIND"]

#: The kinds of score a voice earns (the `kind` column of `voice_scores`).
GOLD_KIND = "gold"
SETTLED_KIND = "settled"

_FIRST_RATE, _FLOOR_RATE, _FALL = 0.4, 0.1, 0.7


@dataclass(frozen=True)
class Standing:
    """A voice's scores so far."""

    gold_seen: int = 0
    gold_good: int = 0
    settled_seen: int = 0
    settled_agree: int = 0

    @property
    def barred(self) -> bool:
        """Whether the voice is far off gold or far off the crowd, and so weighs nothing."""
        off_gold = self.gold_seen >= 2 and _shrunk(self.gold_good, self.gold_seen) < 0.4
        off_crowd = self.settled_seen >= 6 and _shrunk(self.settled_agree, self.settled_seen) < 0.25
        return off_gold or off_crowd

    @property
    def weight(self) -> float:
        """The voice's weight in retirement: 0 when barred, else 1 (every voice not far off counts once)."""
        return 0.0 if self.barred else 1.0

    def gold_rate(self) -> float:
        """The share of this voice's frames that should be gold: high while it is new, low once it matched gold a few times."""
        return _FLOOR_RATE + (_FIRST_RATE - _FLOOR_RATE) * _FALL**self.gold_good


def _shrunk(good: int, seen: int) -> float:
    return (good + 1) / (seen + 2)
