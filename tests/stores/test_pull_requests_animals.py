"""PR text for a record of several animals: one keypoint table per animal, its track named, all of it inert."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from receiver.contract.records import Record
from receiver.contract.schemas import load_skeleton
from receiver.contract.validation import fill_names
from receiver.stores.pull_requests import batch_body, pull_body, pull_title
from tests.stores.test_pull_requests import ours
from tests.support.animals import several_animals
from tests.support.hostile import HOSTILE, constructs

WHEN = datetime(2026, 11, 25, tzinfo=timezone.utc)


def pair(*tracks: str | None) -> Record:
    return Record.create(fill_names(several_animals(*tracks), load_skeleton()), submitter="anonymous", received_at=WHEN, receiver_version="0.1.0")


def test_the_body_holds_one_keypoint_table_per_animal() -> None:
    body = pull_body(pair("mother", "pup"))
    assert body.count("| Keypoint | Placed | x | y |") == 2
    assert "**Animal 1** (track mother)" in body and "**Animal 2** (track pup)" in body
    # The second animal was placed 100 px left of the first: its own table shows it.
    second = body.split("**Animal 2**")[1]
    assert "| Left Front Paw (`left_front_paw`) | yes | 1,098 | 480 |" in second


def test_an_animal_without_a_track_is_numbered_only() -> None:
    body = pull_body(pair(None, None))
    assert "**Animal 2**\n" in body and "track" not in body.split("**Animal 1**")[1].split("|")[0]


def test_the_title_counts_animals_and_every_keypoint() -> None:
    assert pull_title(pair(None, None)).endswith("(2 animals, 12/12 keypoints)")


def test_a_batch_row_counts_every_animal_keypoint() -> None:
    assert "| 12/12 |" in batch_body([pair(None, None)])


@pytest.mark.parametrize("text", HOSTILE[:20])
def test_a_hostile_track_forms_nothing(text: str) -> None:
    """A track is volunteer text (the validator refuses most of it, but the text is made inert regardless)."""
    body = several_animals(None)
    body["instances"][0]["track"] = text
    record = Record.create(fill_names(body, load_skeleton()), submitter="anonymous", received_at=WHEN, receiver_version="0.1.0")
    assert constructs(pull_body(record), markdown=True, ours=ours(record)) == []
