"""Records of several animals as sleap-io labels: one instance per animal, tracks when named, DeepLabCut individuals otherwise by place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from receiver.contract.records import Record
from receiver.contract.schemas import load_skeleton
from receiver.export.formats import _individuals
from receiver.export.labels import submission_labels
from tests.export.records import KEYPOINTS, TRUTH, submission

EPOCH = datetime(2026, 12, 1, tzinfo=UTC)


def _pair(volunteer: str, *, shift: float, tracks: tuple[str | None, str | None] = (None, None), seconds: int = 0) -> Record:
    body = submission({}, metadata={"volunteer": volunteer})
    del body["labels"]
    instances: list[dict[str, Any]] = []
    for dx, track in zip((0.0, shift), tracks, strict=True):
        labels = submission({k: (x + dx, y) for k, (x, y) in TRUTH.items()})["labels"]
        instances.append({"labels": labels} | ({"track": track} if track else {}))
    body["instances"] = instances
    return Record.create(body, submitter="anonymous", received_at=EPOCH + timedelta(seconds=seconds), receiver_version="0.1.0")


def test_the_medoid_of_a_frame_of_two_keeps_both_animals() -> None:
    """Three labels of a frame, one with its second animal far off: the exported label is one of the two that agree."""
    records = [_pair("a", shift=300), _pair("b", shift=300, seconds=1), _pair("c", shift=400, seconds=2)]
    labels = submission_labels(records, load_skeleton())
    (frame,) = labels.labeled_frames
    xs = sorted(float(instance.numpy()[0, 0]) for instance in frame.instances)
    assert xs == [TRUTH[KEYPOINTS[0]][0], TRUTH[KEYPOINTS[0]][0] + 300]
    assert labels.provenance["instances"][1][4] in {records[0].id, records[1].id}


def test_named_tracks_become_sleap_tracks() -> None:
    labels = submission_labels([_pair("a", shift=300, tracks=("mother", "pup"))], load_skeleton())
    assert [i.track.name for i in labels.labeled_frames[0].instances] == ["mother", "pup"]
    assert sorted(t.name for t in labels.tracks) == ["mother", "pup"]


def test_untracked_animals_are_deeplabcut_individuals_by_place_never_volunteers() -> None:
    labels = submission_labels([_pair("a", shift=300)], load_skeleton())
    assert _individuals(labels) == ["animal1", "animal2"]
    assert [i.track.name for i in labels.labeled_frames[0].instances] == ["animal1", "animal2"]


def test_a_single_animal_export_has_no_individuals_and_no_tracks() -> None:
    record = Record.create(submission(dict(TRUTH)), submitter="anonymous", received_at=EPOCH, receiver_version="0.1.0")
    labels = submission_labels([record], load_skeleton())
    assert _individuals(labels) == [] and labels.tracks == []
    np.testing.assert_allclose(labels.labeled_frames[0].instances[0].numpy(), np.array([TRUTH[k] for k in KEYPOINTS]))
