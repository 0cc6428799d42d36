"""Closing the loop through the CLI: the model's error per keypoint in `receiver consensus`, and `receiver export --where model-wrong`."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

from receiver.contract.records import Record
from receiver.volunteers.videos import Video
from tests.acceptance.conftest import Run, RunCLI
from tests.consensus.suggested import MODEL, ModelCrowd, make_model_crowd
from tests.export.records import EPOCH, KEYPOINTS, TRUTH, VIDEO, submission, write_folder


@pytest.fixture(scope="module")
def nose_wrong() -> ModelCrowd:
    """A model wrong on half the noses and right on every other keypoint."""
    return make_model_crowd(5, frames=120, per_frame=6, wrong_share=np.array([0.0, 0.0, 0.0, 0.0, 0.5, 0.0]), gold_share=0.0, hard_share=None)


def _ranked(result: Run) -> list[tuple[int, float]]:
    """(frame, distance) of the lines `--where model-wrong` prints, in their order."""
    ranked = []
    for line in result.out.splitlines():
        if line.startswith("  ") and " frame " in line and " px (" in line:
            frame, rest = line.split(" frame ")[1].split(": ")
            ranked.append((int(frame), float(rest.split(" px")[0])))
    return ranked


def _frame_labels(frame_index: int, nose_off: float, *, rng: random.Random) -> list[Record]:
    """Three volunteers placing every point near the truth, and one accepting every suggestion of a model whose nose is `nose_off` px off."""
    predicted = {**TRUTH, "nose": (TRUTH["nose"][0] + nose_off, TRUTH["nose"][1])}
    records = []
    for i in range(4):
        accepts = i == 3
        points = predicted if accepts else {k: (x + rng.gauss(0, 1.0), y + rng.gauss(0, 1.0)) for k, (x, y) in TRUTH.items()}
        body = submission(points, frame_index=frame_index, metadata={"volunteer": f"v{i}", "model": MODEL})
        for label in body["labels"]:
            label["origin"] = "suggested" if accepts else "placed"
        records.append(Record.create(body, submitter="anonymous", received_at=EPOCH, receiver_version="0.1.0"))
    return records


class TestConsensusReportsTheModel:
    def test_consensus_prints_and_writes_the_models_error_per_keypoint(self, run_cli: RunCLI, nose_wrong: ModelCrowd, tmp_path: Path) -> None:
        """`receiver consensus` prints a row per keypoint of the model's error, and --out FILE.json and --report carry it.

        A third of the frames were also labelled from scratch, as a lab does before it has a model: there every
        keypoint of the model is checked, not only the ones volunteers corrected."""
        scratch = [r for f in range(40) for r in nose_wrong.plain[f][:3]]
        folder = write_folder(tmp_path / "data", nose_wrong.records(6) + scratch)
        result = run_cli("consensus", str(folder), "--out", str(tmp_path / "c.json"), "--report", str(tmp_path / "report"))
        assert result.code == 0, result.err
        assert "The model's error per keypoint" in result.out
        table = result.out.split("The model's error per keypoint")[1]
        rows = [line.split() for line in table.splitlines() if line.startswith(f"model:{MODEL} ")]
        assert [row[1] for row in rows] == list(KEYPOINTS)
        (model,) = json.loads((tmp_path / "c.json").read_text())["models"]
        assert model["model"] == f"model:{MODEL}" and set(model["keypoints"]) == set(KEYPOINTS)
        assert model["keypoints"]["nose"]["error_px"] > 10 > model["keypoints"]["tail_base"]["error_px"]
        page = (tmp_path / "report" / "index.html").read_text()
        assert 'data-testid="model-error"' in page and f"model:{MODEL}" in page


    def test_a_frame_agreed_only_by_accepted_suggestions_is_written_unsettled_and_for_review(self, run_cli: RunCLI, tmp_path: Path) -> None:
        """Four volunteers accepting every suggestion: the JSON table says settled false and lists the frame for review, with the reason."""
        records = []
        for i in range(4):
            body = submission(TRUTH, frame_index=10, metadata={"volunteer": f"v{i}", "model": MODEL})
            for label in body["labels"]:
                label["origin"] = "suggested"
            records.append(Record.create(body, submitter="anonymous", received_at=EPOCH, receiver_version="0.1.0"))
        folder = write_folder(tmp_path / "data", records)
        result = run_cli("consensus", str(folder), "--out", str(tmp_path / "c.json"))
        assert result.code == 0, result.err
        document = json.loads((tmp_path / "c.json").read_text())
        (frame,) = document["frames"]
        assert frame["settled"] is False and all(s.get("suggested_only") for s in frame["submissions"] if s["volunteer"].startswith("anonymous/"))
        (review,) = document["review"]
        assert any("only accepted suggestions agree" in why for why in review["why"])


class TestWhereModelWrong:
    def test_frames_are_ranked_by_the_models_largest_distance_and_close_ones_left_out(self, run_cli: RunCLI, tmp_path: Path) -> None:
        """Noses 15, 30 and 5 px off: the 30 px frame first, then the 15 px one; the 5 px one is within the threshold and left out."""
        rng = random.Random(7)
        records = _frame_labels(10, 15.0, rng=rng) + _frame_labels(11, 30.0, rng=rng) + _frame_labels(12, 5.0, rng=rng)
        folder = write_folder(tmp_path / "data", records)
        result = run_cli("export", str(folder), "--where", "model-wrong", "--format", "csv", "--out", str(tmp_path / "wrong.csv"))
        assert result.code == 0, result.err
        ranked = _ranked(result)
        assert [f for f, _ in ranked] == [11, 10] and ranked[0][1] == pytest.approx(30, abs=2) and ranked[1][1] == pytest.approx(15, abs=2)
        with (tmp_path / "wrong.csv").open() as handle:
            assert len(list(csv.reader(handle))) > 2

    def test_nothing_where_the_model_agrees_is_refused_with_a_sentence(self, run_cli: RunCLI, tmp_path: Path) -> None:
        """A model within the threshold everywhere exports nothing, exits 1 and says why."""
        folder = write_folder(tmp_path / "data", _frame_labels(10, 5.0, rng=random.Random(8)))
        result = run_cli("export", str(folder), "--where", "model-wrong", "--format", "csv", "--out", str(tmp_path / "wrong.csv"))
        assert result.code == 1 and "no settled frame where the model is more than 10 px from the consensus" in result.err

    def test_the_predictions_the_receiver_imported_are_compared_when_no_one_accepted_them(self, run_cli: RunCLI, tmp_path: Path) -> None:
        """Volunteers who were shown nothing, and a prediction file imported with `receiver predictions import`: its 25 px nose is found."""
        rng = random.Random(9)
        records = [
            Record.create(
                submission({k: (x + rng.gauss(0, 1.0), y + rng.gauss(0, 1.0)) for k, (x, y) in TRUTH.items()}, metadata={"volunteer": f"v{i}"}),
                submitter="anonymous",
                received_at=EPOCH,
                receiver_version="0.1.0",
            )
            for i in range(3)
        ]
        folder = write_folder(tmp_path / "data", records)
        video = Video(url=VIDEO, fps=30.0, frames=300, width=1280, height=720)
        (tmp_path / "videos.json").write_text(json.dumps([video.public()]), encoding="utf-8")
        environ = {"RECEIVER_VIDEOS": str(tmp_path / "videos.json"), "RECEIVER_JOURNAL": str(tmp_path / "journal.sqlite3")}
        skeleton = sio.Skeleton(list(KEYPOINTS))
        xy = np.array([TRUTH[k] for k in KEYPOINTS]) + np.array([[25.0, 0.0] if k == "nose" else [0.0, 0.0] for k in KEYPOINTS])
        instance = sio.PredictedInstance.from_numpy(xy, skeleton=skeleton, point_scores=np.full(6, 0.9), score=0.9)
        frame = sio.LabeledFrame(video=sio.Video(filename="/lab/mouse-1.mp4", open_backend=False), frame_idx=10, instances=[instance])
        sio.Labels([frame]).save(str(tmp_path / "model.slp"))
        imported = run_cli("predictions", "import", str(tmp_path / "model.slp"), "--model", "v2", environ=environ)
        assert imported.code == 0, imported.err
        result = run_cli("export", str(folder), "--where", "model-wrong", "--format", "csv", "--out", str(tmp_path / "w.csv"), environ=environ)
        assert result.code == 0, result.err
        assert [f for f, _ in _ranked(result)] == [10] and _ranked(result)[0][1] == pytest.approx(25, abs=2)


def test_model_wrong_returns_nine_in_ten_of_the_frames_the_model_got_wrong_first(run_cli: RunCLI, tmp_path: Path) -> None:
    """The benchmark's simulation (30% of points more than 10 px off, 40% of volunteers accepting every suggestion), eight labels a frame:
    among the first N frames `--where model-wrong` returns, N the number of frames the model got wrong, are at least 90% of those frames."""
    crowd = make_model_crowd(2, frames=200, per_frame=8, gold_share=0.0)
    folder = write_folder(tmp_path / "data", crowd.records(8))
    result = run_cli("export", str(folder), "--where", "model-wrong", "--format", "csv", "--out", str(tmp_path / "wrong.csv"))
    assert result.code == 0, result.err
    wrong = crowd.wrong_frames
    first = {f for f, _ in _ranked(result)[: len(wrong)]}
    assert len(first & wrong) >= 0.9 * len(wrong)
