"""Records into one sleap-io Labels: videos never opened, unplaced keypoints missing, submitters kept aside."""

from __future__ import annotations

import math
import random

from receiver.consensus import consensus
from receiver.contract.schemas import load_skeleton
from receiver.export.labels import consensus_labels, submission_labels, video_infos
from tests.export.records import HEIGHT, KEYPOINTS, TRUTH, VIDEO, WIDTH, crowd, record


class TestSubmissionLabels:
    def test_one_instance_per_frame_by_default(self) -> None:
        """Three records on two frames give two labeled frames of one instance each: volunteers are not animals."""
        records = [record(TRUTH, submitter="a"), record(TRUTH, submitter="b"), record(TRUTH, frame_index=11)]
        labels = submission_labels(records, load_skeleton())
        assert [(lf.frame_idx, len(lf.instances)) for lf in labels.labeled_frames] == [(10, 1), (11, 1)]

    def test_all_labels_keeps_one_instance_per_record(self) -> None:
        """keep='all' is the several-labels view: every record of a frame is an instance."""
        records = [record(TRUTH, submitter="a"), record(TRUTH, submitter="b"), record(TRUTH, frame_index=11)]
        labels = submission_labels(records, load_skeleton(), keep="all")
        assert [(lf.frame_idx, len(lf.instances)) for lf in labels.labeled_frames] == [(10, 2), (11, 1)]

    def test_video_is_named_by_url_never_opened_and_sized_from_the_records(self) -> None:
        """The Video carries the URL and (frames, height, width, 3) without a backend."""
        labels = submission_labels([record(TRUTH, total_frames=900)], load_skeleton())
        (video,) = labels.videos
        assert video.filename == VIDEO
        assert video.backend is None
        assert video.shape == (900, HEIGHT, WIDTH, 3)

    def test_skeleton_has_the_keypoints_and_edges(self) -> None:
        """Nodes are the keypoint ids in skeleton order, with the skeleton's edges."""
        skeleton = load_skeleton()
        labels = submission_labels([record(TRUTH)], skeleton)
        (sio_skeleton,) = labels.skeletons
        assert tuple(sio_skeleton.node_names) == KEYPOINTS
        assert {tuple(e) for e in sio_skeleton.edge_names} == set(skeleton.edges)

    def test_an_unplaced_keypoint_is_missing(self) -> None:
        """A keypoint not placed is NaN and not visible."""
        labels = submission_labels([record({**TRUTH, "nose": None})], load_skeleton())
        instance = labels.labeled_frames[0].instances[0]
        nose = KEYPOINTS.index("nose")
        assert all(math.isnan(v) for v in instance.numpy()[nose])
        assert not instance.points["visible"][nose]

    def test_submitters_are_kept_in_the_provenance_side_table(self) -> None:
        """provenance['instances'] names each instance's submitter, record, volunteer and the frame's label count."""
        first, second = record(TRUTH, submitter="ada"), record(TRUTH, submitter="bo")
        labels = submission_labels([first, second], load_skeleton(), keep="all")
        assert labels.provenance["instances"] == [[0, 10, 0, "ada", first.id, "ada", 2], [0, 10, 1, "bo", second.id, "bo", 2]]


class TestRepresentative:
    def test_the_label_closest_to_the_others_stands_for_the_frame(self) -> None:
        """Of three labels, the one between the other two is exported, not the first or the last."""
        shifted = [{k: (x + dx, y) for k, (x, y) in TRUTH.items()} for dx in (0.0, 40.0, 6.0)]
        records = [record(points, submitter=f"v{i}", seconds=i) for i, points in enumerate(shifted)]
        labels = submission_labels(records, load_skeleton())
        assert labels.provenance["instances"] == [[0, 10, 0, "v2", records[2].id, "v2", 3]]

    def test_between_two_labels_the_fuller_then_the_newer_wins(self) -> None:
        """Two labels are equally close to each other: more keypoints placed wins, then the most recent."""
        partial = record({**TRUTH, "nose": None}, submitter="partial", seconds=9)
        full = record(TRUTH, submitter="full", seconds=1)
        newer = record(TRUTH, submitter="newer", seconds=5)
        assert submission_labels([full, partial], load_skeleton()).provenance["instances"][0][3] == "full"
        assert submission_labels([full, newer], load_skeleton()).provenance["instances"][0][3] == "newer"


class TestConsensusLabels:
    def test_one_instance_per_frame_at_the_centre(self) -> None:
        """The consensus Labels hold one instance per frame, at the consensus centre."""
        records = crowd(random.Random(1), volunteers=5, noise=3.0, outliers=(0,))
        results = consensus(records, KEYPOINTS).frames
        labels = consensus_labels(results, video_infos(records), load_skeleton())
        (frame,) = labels.labeled_frames
        (instance,) = frame.instances
        assert [tuple(p) for p in instance.numpy()] == [c for c in results[0].centre]
        assert labels.provenance["consensus"][0][2:5] == [5, 5, True]
