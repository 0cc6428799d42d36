"""`receiver export` and `receiver consensus` end to end, in-process, as a user would type them."""

from __future__ import annotations

import csv
import io
import json
import random
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
import sleap_io as sio

from receiver.contract.records import Record
from receiver.stores.local import LocalGitStore
from tests.acceptance.conftest import RunCLI
from tests.export.records import TRUTH, crowd, record, write_folder


def _records() -> list[Record]:
    return [*crowd(random.Random(21), volunteers=4, noise=3.0, outliers=(2,)), record(TRUTH, submitter="solo", frame_index=40)]


class TestExport:
    def test_exports_a_folder_and_prints_the_summary(self, tmp_path: Path, run_cli: RunCLI) -> None:
        """Exit 0, the file written, and a summary of labels, labelers, frames and videos."""
        folder = write_folder(tmp_path, _records())
        result = run_cli("export", "--format", "slp", "--out", str(tmp_path / "out.slp"), str(folder))
        assert result.code == 0
        assert "5 labels by 5 volunteer(s) on 2 frame(s) of 1 video(s); 2 instance(s) exported" in result.out
        assert "skipped 0 files" in result.out
        assert len(sio.load_slp(str(tmp_path / "out.slp"), open_videos=False).labeled_frames) == 2

    def test_exports_a_bare_git_repository(self, tmp_path: Path, run_cli: RunCLI) -> None:
        """The receiver's own store is read from its default branch and exported."""
        LocalGitStore(tmp_path / "annotations.git").deliver(_records())
        result = run_cli("export", "--format", "coco", "--all-labels", "--no-frames", "--out", str(tmp_path / "out"), str(tmp_path / "annotations.git"))
        assert result.code == 0, result.err
        annotations = json.loads((tmp_path / "out" / "annotations.json").read_text())["annotations"]
        assert sorted(a["labeler"] for a in annotations) == ["solo", "volunteer-0", "volunteer-1", "volunteer-2", "volunteer-3"]
        assert "5 instance(s) exported" in result.out

    def test_defaults_to_the_receivers_store(self, tmp_path: Path, run_cli: RunCLI) -> None:
        """With no SOURCE, RECEIVER_LOCAL_REPO names the repository read."""
        LocalGitStore(tmp_path / "store.git").deliver(_records())
        environ = {"RECEIVER_LOCAL_REPO": str(tmp_path / "store.git")}
        result = run_cli("export", "--format", "dlc", "--no-frames", "--out", str(tmp_path / "out"), environ=environ)
        assert result.code == 0, result.err
        assert (tmp_path / "out" / "labeled-data" / "mouse-1" / "CollectedData_pose-receiver.h5").is_file()

    def test_a_broken_file_is_skipped_with_its_reason(self, tmp_path: Path, run_cli: RunCLI) -> None:
        """A file that fails validation is listed with why, and the rest is still exported."""
        folder = write_folder(tmp_path, _records())
        (folder / "bad.json").write_text('{"receipt": {}, "submission": {}}', encoding="utf-8")
        result = run_cli("export", "--format", "csv", "--out", str(tmp_path / "out.csv"), str(folder))
        assert result.code == 0
        assert "skipped 1 file(s) that failed validation:" in result.out
        assert "bad.json: /receipt/id: is missing" in result.out

    def test_a_missing_source_exits_2_with_a_sentence(self, tmp_path: Path, run_cli: RunCLI) -> None:
        """A source that is not there is a usage error that says what to pass."""
        result = run_cli("export", "--format", "slp", "--out", str(tmp_path / "o.slp"), str(tmp_path / "nope"))
        assert result.code == 2
        assert "no such folder or git repository; pass an annotations/ folder" in result.err

    def test_a_source_without_valid_records_exits_1(self, tmp_path: Path, run_cli: RunCLI) -> None:
        """Nothing valid to export is a failure, with the skipped files listed."""
        (tmp_path / "annotations").mkdir()
        (tmp_path / "annotations" / "x.json").write_text("[]", encoding="utf-8")
        result = run_cli("export", "--format", "slp", "--out", str(tmp_path / "o.slp"), str(tmp_path / "annotations"))
        assert result.code == 1
        assert "no valid records" in result.err and "x.json" in result.err

    def test_consensus_exports_one_instance_per_settled_frame(self, tmp_path: Path, run_cli: RunCLI) -> None:
        """--consensus writes one instance per settled frame; the frame labeled once has no consensus to write."""
        folder = write_folder(tmp_path, _records())
        result = run_cli("export", "--consensus", "--format", "slp", "--out", str(tmp_path / "c.slp"), str(folder))
        assert result.code == 0
        assert "consensus: 1 of 2 frame(s) settled" in result.out
        assert "; 1 instance(s) exported" in result.out
        labels = sio.load_slp(str(tmp_path / "c.slp"), open_videos=False)
        assert [(lf.frame_idx, len(lf.instances)) for lf in labels.labeled_frames] == [(10, 1)]
        assert labels.provenance["consensus_scores"][0] > 0.5

    def test_consensus_coco_carries_each_frames_score(self, tmp_path: Path, run_cli: RunCLI) -> None:
        """COCO annotations of a consensus export carry the frame's certainty as `score`."""
        folder = write_folder(tmp_path, _records())
        out = tmp_path / "c"
        assert run_cli("export", "--consensus", "--no-frames", "--format", "coco", "--out", str(out), str(folder)).code == 0
        (annotation,) = json.loads((out / "annotations.json").read_text())["annotations"]
        assert 0.5 < annotation["score"] <= 1

    def test_settled_only_leaves_out_unsettled_frames(self, tmp_path: Path, run_cli: RunCLI) -> None:
        """With --settled-only the frame labeled once is not exported."""
        folder = write_folder(tmp_path, _records())
        out = tmp_path / "c"
        result = run_cli("export", "--consensus", "--settled-only", "--no-frames", "--format", "coco", "--out", str(out), str(folder))
        assert result.code == 0
        assert len(json.loads((out / "annotations.json").read_text())["annotations"]) == 1


    def test_volunteers_are_counted_as_the_consensus_keys_them(self, tmp_path: Path, run_cli: RunCLI) -> None:
        """One token, one session, two declared page ids and an anonymous label: 5 labels by 4 volunteers, the anonymous one said apart."""
        from datetime import UTC, datetime

        from tests.export.records import submission

        when = datetime(2026, 12, 1, tzinfo=UTC)
        session = Record.create(submission(TRUTH, frame_index=1), submitter="anonymous", received_at=when, receiver_version="0.1.0", volunteer="v-aaaaaaaaaa", assigned=True)
        declared = [
            Record.create(submission(TRUTH, frame_index=2 + n, metadata={"volunteer": name}), submitter="anonymous", received_at=when, receiver_version="0.1.0")
            for n, name in enumerate(("page-x", "page-y"))
        ]
        nobody = Record.create(submission(TRUTH, frame_index=5), submitter="anonymous", received_at=when, receiver_version="0.1.0")
        folder = write_folder(tmp_path, [record(TRUTH, submitter="lab-token"), session, *declared, nobody])
        result = run_cli("export", "--format", "csv", "--out", str(tmp_path / "out.csv"), str(folder))
        assert result.code == 0, result.err
        assert "5 labels by 4 volunteer(s) on 5 frame(s) of 1 video(s); 5 instance(s) exported" in result.out
        assert "1 of the labels came from anonymous pages that named no volunteer" in result.out

    def test_a_folder_format_refuses_a_file_name(self, tmp_path: Path, run_cli: RunCLI) -> None:
        """--format dlc --out CollectedData.h5 names a file; DeepLabCut's export is a project folder: exit 2, nothing written."""
        folder = write_folder(tmp_path, _records())
        result = run_cli("export", "--format", "dlc", "--out", str(tmp_path / "CollectedData.h5"), str(folder))
        assert result.code == 2
        assert "writes a folder" in result.err and "--out " + str(tmp_path / "CollectedData") in result.err
        assert not (tmp_path / "CollectedData.h5").exists()

    @pytest.mark.parametrize(
        ("options", "says"),
        [
            (["--format", "dlc", "--all-labels"], "would read as several animals"),
            (["--format", "coco", "--embed"], "--embed is for --format slp"),
            (["--format", "slp", "--all-labels", "--consensus"], "pick one"),
        ],
        ids=["all-labels-dlc", "embed-coco", "all-labels-consensus"],
    )
    def test_options_that_cannot_go_together_are_a_usage_error(self, tmp_path: Path, run_cli: RunCLI, options: list[str], says: str) -> None:
        """Each refused combination exits 2 with a sentence saying what to do instead."""
        folder = write_folder(tmp_path, _records())
        result = run_cli("export", *options, "--out", str(tmp_path / "out"), str(folder))
        assert result.code == 2 and says in result.err


class TestConsensusCommand:
    def test_prints_a_table_and_writes_json(self, tmp_path: Path, run_cli: RunCLI) -> None:
        """A row per frame on stdout; the JSON holds the rule and each submission's score."""
        folder = write_folder(tmp_path, _records())
        result = run_cli("consensus", str(folder), "--out", str(tmp_path / "c.json"))
        assert result.code == 0
        document = json.loads((tmp_path / "c.json").read_text())
        assert document["rule"]["settle"] == 3
        outlying = {s["submitter"]: s["outlying_keypoints"] for f in document["frames"] for s in f["submissions"] if s["outlying_keypoints"]}
        assert outlying == {"volunteer-2": ["nose"]}
        assert {v["volunteer"] for v in document["volunteers"]} >= {"volunteer-2", "solo"}

    def test_writes_the_volunteer_table_beside_the_csv(self, tmp_path: Path, run_cli: RunCLI) -> None:
        """--out FILE.csv also writes FILE-volunteers.csv with one row per volunteer."""
        folder = write_folder(tmp_path, _records())
        assert run_cli("consensus", str(folder), "--out", str(tmp_path / "c.csv")).code == 0
        rows = list(csv.DictReader((tmp_path / "c-volunteers.csv").read_text().splitlines()))
        assert sorted(r["volunteer"] for r in rows) == ["solo", "volunteer-0", "volunteer-1", "volunteer-2", "volunteer-3"]
        assert {"reliability", "agreement", "swaps", "labels"} <= set(rows[0])

    def test_writes_csv_with_a_row_per_frame(self, tmp_path: Path, run_cli: RunCLI) -> None:
        """The CSV has one row per frame with the settled flag and keypoint columns."""
        folder = write_folder(tmp_path, _records())
        assert run_cli("consensus", str(folder), "--settle", "5", "--out", str(tmp_path / "c.csv")).code == 0
        rows = list(csv.DictReader((tmp_path / "c.csv").read_text().splitlines()))
        assert [(r["frame_index"], r["settled"]) for r in rows] == [("10", "False"), ("40", "False")]
        assert "nose_x" in rows[0]

    def test_refuses_an_output_that_is_neither_json_nor_csv(self, tmp_path: Path, run_cli: RunCLI) -> None:
        """--out must name a .json or .csv file."""
        result = run_cli("consensus", str(tmp_path), "--out", str(tmp_path / "c.txt"))
        assert result.code == 2 and ".json or .csv" in result.err


class TestConsensusReading:
    def test_gold_from_takes_the_experts_labels_out_of_the_crowd(self, tmp_path: Path, run_cli: RunCLI) -> None:
        """--gold-from NAME: NAME's labels are the gold, neither counted as labels nor scored as a volunteer."""
        folder = write_folder(tmp_path, [*_records(), record(TRUTH, submitter="expert")])
        result = run_cli("consensus", str(folder), "--gold-from", "expert", "--out", str(tmp_path / "c.json"))
        assert result.code == 0, result.err
        assert "5 labels by 5 volunteer(s) on 2 frame(s)" in result.out
        volunteers = {v["volunteer"] for v in json.loads((tmp_path / "c.json").read_text())["volunteers"]}
        assert "expert" not in volunteers and "volunteer-0" in volunteers

    def test_gold_from_alone_is_still_something_to_read(self, tmp_path: Path, run_cli: RunCLI) -> None:
        """A source holding only the expert's labels is not "no valid records": the run ends with an empty crowd."""
        folder = write_folder(tmp_path, [record(TRUTH, submitter="expert")])
        result = run_cli("consensus", str(folder), "--gold-from", "expert")
        assert result.code == 0, result.err
        assert "0 labels by 0 volunteer(s)" in result.out

    def test_an_unreadable_gold_file_is_a_usage_error(self, tmp_path: Path, run_cli: RunCLI) -> None:
        """--gold naming a file that is not JSON: exit 2 and the file named."""
        folder = write_folder(tmp_path, _records())
        (tmp_path / "gold.json").write_text("{not json")
        result = run_cli("consensus", str(folder), "--gold", str(tmp_path / "gold.json"))
        assert result.code == 2
        assert "--gold: cannot read gold.json" in result.err

    def test_a_source_with_no_valid_file_says_which_failed(self, tmp_path: Path, run_cli: RunCLI) -> None:
        """Only broken files: exit 1, the count, and each file with its reason."""
        folder = tmp_path / "annotations"
        folder.mkdir()
        (folder / "broken.json").write_text('{"receipt": 1}')
        result = run_cli("consensus", str(folder))
        assert result.code == 1
        assert "no valid records in the folder" in result.err and "1 file(s) failed validation" in result.err
        assert "broken.json" in result.err

    def test_skipped_files_are_listed_beside_the_consensus(self, tmp_path: Path, run_cli: RunCLI) -> None:
        """A broken file among good ones is reported in the summary; the good ones are counted."""
        folder = write_folder(tmp_path, _records())
        (folder / "broken.json").write_text("[]")
        result = run_cli("consensus", str(folder))
        assert result.code == 0
        assert "5 labels by 5 volunteer(s)" in result.out
        assert "skipped 1 file(s) that failed validation:" in result.out and "broken.json" in result.out

    @pytest.mark.parametrize(
        "command",
        [["consensus"], ["export", "--consensus", "--format", "csv", "--out", "out.csv"], ["export", "--format", "slp", "--out", "out.slp"]],
        ids=["consensus", "export-consensus", "export-submissions"],
    )
    def test_records_are_streamed_not_held(
        self, tmp_path: Path, run_cli: RunCLI, monkeypatch: pytest.MonkeyPatch, command: list[str]
    ) -> None:
        """However many files the source holds, only a few records are alive at once while the table is built."""
        from receiver.stores import sources

        rng = random.Random(5)
        many = [record({k: (x + rng.uniform(-2, 2), y) for k, (x, y) in TRUTH.items()}, submitter=f"v{n % 7}", frame_index=n % 40) for n in range(300)]
        folder = write_folder(tmp_path, many)
        alive = {"now": 0, "most": 0}

        def gone() -> None:
            alive["now"] -= 1

        original = sources.stream

        def watched(*args: object, **kwargs: object) -> Iterator[object]:
            for item in original(*args, **kwargs):  # type: ignore[arg-type]
                if isinstance(item, Record):
                    weakref.finalize(item, gone)
                    alive["now"] += 1
                    alive["most"] = max(alive["most"], alive["now"])
                yield item

        monkeypatch.setattr(sources, "stream", watched)
        result = run_cli(*[str(tmp_path / part) if part.startswith("out.") else part for part in command], str(folder))
        assert result.code == 0, result.err
        assert "300 labels by 7 volunteer(s) on 40 frame(s)" in result.out
        assert alive["most"] <= 3


@pytest.mark.parametrize("command", [["consensus"], ["export", "--format", "csv", "--out", "out.csv"]], ids=["consensus", "export"])
def test_a_repository_missing_an_object_is_a_clear_error(tmp_path: Path, run_cli: RunCLI, command: list[str]) -> None:
    """A stored file whose object is gone (a damaged copy) stops the read with a sentence naming the file: exit 2, nothing written."""
    from receiver.stores.adoption import blob_id

    gone = record(TRUTH, submitter="gone")
    LocalGitStore(tmp_path / "data.git").deliver([gone])  # one record: git keeps its objects loose
    oid = blob_id(gone.to_bytes())
    (tmp_path / "data.git" / "objects" / oid[:2] / oid[2:]).unlink()
    argv = [part if part != "out.csv" else str(tmp_path / "out.csv") for part in command]
    result = run_cli(*argv, str(tmp_path / "data.git"))
    assert result.code == 2, result.err
    assert gone.path in result.err and "missing" in result.err and "git fsck" in result.err
    assert not (tmp_path / "out.csv").exists()


def test_consensus_keys_session_volunteers_by_pseudonym_with_the_shown_name_beside(tmp_path: Path) -> None:
    """Records of one session: one volunteer row named by the pseudonym, with the name its page showed."""
    from datetime import datetime, timezone

    from receiver.cli import main as receiver_cli
    from tests.volunteers.frames.conftest import VIDEO, honest_label

    folder = tmp_path / "annotations"
    for frame in range(4):
        for n, (pseudonym, shown) in enumerate((("v-aaaaaaaaaa", "ada"), ("v-bbbbbbbbbb", "bob"), ("v-cccccccccc", "cy"))):
            body = honest_label(VIDEO, frame, f"shown-{n:04d}")
            body["metadata"] = {"volunteer": shown}
            record = Record.create(body, submitter="anonymous", received_at=datetime(2026, 12, 7, tzinfo=timezone.utc), receiver_version="0.1.0", volunteer=pseudonym, assigned=True)
            path = folder / record.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(record.to_bytes())
    table = tmp_path / "table.json"
    assert receiver_cli(["consensus", str(folder), "--out", str(table)], environ={}, out=io.StringIO(), err=io.StringIO()) == 0
    rows = {v["volunteer"]: v["name"] for v in json.loads(table.read_text())["volunteers"]}
    assert rows == {"v-aaaaaaaaaa": "ada", "v-bbbbbbbbbb": "bob", "v-cccccccccc": "cy"}
