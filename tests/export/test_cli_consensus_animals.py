"""`receiver consensus --out FILE.json` on a folder of two-animal records: one frame object with an `instances` list."""

from __future__ import annotations

import json
from pathlib import Path

from tests.acceptance.conftest import RunCLI
from tests.consensus.test_instances import _record
from tests.export.records import KEYPOINTS


def test_a_frame_of_two_animals_carries_instances_with_keypoints_and_tracks(run_cli: RunCLI, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    for n in range(4):
        record = _record([(-300, "mother"), (300, "pup")][:: 1 if n % 2 else -1], f"v{n}", jitter=1.5, seed=n)
        path = folder / record.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(record.to_bytes())
    result = run_cli("consensus", str(folder), "--out", str(tmp_path / "c.json"))
    assert result.code == 0, result.err
    (frame,) = json.loads((tmp_path / "c.json").read_text())["frames"]
    assert frame["frame_index"] == 10 and frame["labels"] == 4 and frame["animals"] == 2
    assert [sorted(i) for i in frame["instances"]][0] == sorted(["track", "labels", "inliers", "settled", "score", "keypoints", "submissions"])
    assert sorted(i["track"] for i in frame["instances"]) == ["mother", "pup"]
    assert all(set(i["keypoints"]) == set(KEYPOINTS) and i["settled"] for i in frame["instances"])
