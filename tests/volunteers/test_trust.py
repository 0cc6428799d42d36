"""A voice's standing: who is barred, and how often a session is shown gold."""

from __future__ import annotations

from receiver.volunteers.trust import Standing


def test_a_new_voice_counts_and_is_tested_often() -> None:
    standing = Standing()
    assert (standing.barred, standing.weight, standing.gold_rate()) == (False, 1.0, 0.4)


def test_two_gold_misses_out_of_two_bar_a_voice() -> None:
    assert Standing(gold_seen=2, gold_good=0).barred and Standing(gold_seen=2, gold_good=0).weight == 0.0


def test_one_gold_miss_alone_does_not_bar() -> None:
    """A careful volunteer's slip is not the end of them."""
    assert not Standing(gold_seen=1, gold_good=0).barred
    assert not Standing(gold_seen=3, gold_good=1).barred


def test_a_voice_that_matches_gold_keeps_counting_however_long_it_labels() -> None:
    assert not Standing(gold_seen=40, gold_good=30, settled_seen=200, settled_agree=170).barred


def test_disagreeing_with_most_settled_frames_bars_a_voice_without_gold() -> None:
    assert Standing(settled_seen=10, settled_agree=1).barred
    assert not Standing(settled_seen=5, settled_agree=0).barred  # too few to judge


def test_the_gold_rate_falls_toward_a_tenth_as_a_voice_matches_gold() -> None:
    rates = [Standing(gold_seen=n, gold_good=n).gold_rate() for n in range(0, 30, 3)]
    assert rates == sorted(rates, reverse=True) and rates[0] == 0.4 and 0.1 <= rates[-1] < 0.11


def test_missing_gold_keeps_the_rate_high() -> None:
    assert Standing(gold_seen=5, gold_good=0).gold_rate() == 0.4
