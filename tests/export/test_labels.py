"""Records into one sleap-io Labels: videos never opened, unplaced keypoints missing, submitters kept aside."""

from __future__ import annotations

import math
import random

from receiver.consensus import consensus
from receiver.contract.schemas import load_skeleton
from receiver.export.labels import consensus_labels, submission_labels, video_infos
from tests.export.records import HEIGHT, KEYPOINTS, TRUTH, VIDEO, WIDTH, crowd, record


class TestSubmissionLabels:
    def test_one_instance_per_record_and_one_frame_per_video_frame(self) -> None:
        """Three records on two frames give two labeled frames holding three instances."""
        records = [record(TRUTH, submitter="a"), record(TRUTH, submitter="b"), record(TRUTH, frame_index=11)]
        labels = submission_labels(records, load_skeleton())
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
        """provenance['instances'] names each instance's submitter and record."""
        first, second = record(TRUTH, submitter="ada"), record(TRUTH, submitter="bo")
        labels = submission_labels([first, second], load_skeleton())
        assert labels.provenance["instances"] == [[0, 10, 0, "ada", first.id], [0, 10, 1, "bo", second.id]]

    def test_slot_tracks_name_each_instance_of_a_frame(self) -> None:
        """With tracks='slot' the n-th label of every frame is on track label_n."""
        records = [record(TRUTH, submitter=name) for name in ("a", "b")]
        labels = submission_labels(records, load_skeleton(), tracks="slot")
        assert [i.track.name for i in labels.labeled_frames[0].instances] == ["label_1", "label_2"]


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
