"""The frame tally shared by receivers on one PostgreSQL: labels of one frame admitted at once on two machines both count.

Each receiver counts a label inside its own admitting transaction and queues
the frame, and a judgement after it reads every counted label of that frame.
Two transactions running side by side cannot see each other's label, so
without a lock a judgement could run between them and miss the second. The
test drives that interleaving: a third session holds the frame's row, so both
receivers' admissions wait on it at once, and both must be counted once it is
let go.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from receiver.journal.postgres import lock_key, lock_secret
from receiver.volunteers.postgres import SYNC_LOCK
from tests.support.pgcluster import Cluster
from tests.volunteers.frames.conftest import OTHER, VIDEO, Apps, Volunteer, honest_label

FRAME = 7


def _waiting_on_locks(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
    return int(row[0]) if row else 0


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.02)


def _post_in_thread(volunteer: Volunteer, body: dict[str, object], codes: list[int]) -> threading.Thread:
    thread = threading.Thread(target=lambda: codes.append(volunteer.post(body).status_code))
    thread.start()
    return thread


def test_labels_of_one_frame_admitted_at_once_on_two_receivers_are_both_counted(tmp_path: Path, postgres_cluster: Cluster) -> None:
    url = postgres_cluster.database()
    apps = Apps(tmp_path, tmp_path / "unused.sqlite3", url)
    try:
        first = apps.start(local_repo=tmp_path / "a" / "annotations.git")
        second = apps.start(local_repo=tmp_path / "b" / "annotations.git")
        codes: list[int] = []
        alice, bob = apps.volunteer(first, "alice-0001"), apps.volunteer(second, "bob-00000002")
        with psycopg.connect(url) as blocker:
            blocker.execute("SELECT f.labels FROM frames AS f JOIN videos AS v ON v.id = f.video WHERE v.url = %s AND f.frame = %s FOR UPDATE OF f", (VIDEO.url, FRAME))
            one = _post_in_thread(alice, honest_label(VIDEO, FRAME, "alice-0001"), codes)
            _until(lambda: _waiting_on_locks(url) == 1, "the first admission waits on the frame's row")
            two = _post_in_thread(bob, honest_label(VIDEO, FRAME, "bob-00000002"), codes)
            _until(lambda: _waiting_on_locks(url) == 2, "the second admission waits too")
            blocker.rollback()
        one.join(10)
        two.join(10)
        assert codes == [202, 202]
        assert second.get("/api/progress").status_code == 200  # a read judges what is queued
        with psycopg.connect(url) as connection:
            frame = connection.execute("SELECT labels, agreeing FROM frames WHERE frame = %s", (FRAME,)).fetchone()
            touched = connection.execute("SELECT touched FROM videos WHERE url = %s", (VIDEO.url,)).fetchone()
        assert frame == (2, 2) and touched == (1,)
        progress = second.get("/api/progress").json()["videos"][0]
        assert (progress["in_progress"], progress["untouched"]) == (1, VIDEO.frames - 1)
    finally:
        for client in list(apps.running):
            apps.stop(client)


def test_a_label_admitted_while_another_receiver_adds_its_video_is_counted(tmp_path: Path, postgres_cluster: Cluster) -> None:
    """A receiver syncing a newly configured video holds the sync lock while it writes the video's rows and
    counts the labels already kept. A label admitted meanwhile elsewhere waits for that, then counts itself:
    admitted unseen beside the sync, neither would count it."""
    url = postgres_cluster.database()
    apps = Apps(tmp_path, tmp_path / "unused.sqlite3", url)
    try:
        first = apps.start()
        alice = apps.volunteer(first, "alice-0001")
        codes: list[int] = []
        with psycopg.connect(url) as syncing:
            # What a sync writes for a video added to another receiver's RECEIVER_VIDEOS, under its lock.
            syncing.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(lock_secret(syncing), SYNC_LOCK),))
            (ident,) = syncing.execute(
                "INSERT INTO videos (url, fps, frames, width, height) VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (OTHER.url, OTHER.fps, OTHER.frames, OTHER.width, OTHER.height),
            ).fetchone()
            syncing.execute("INSERT INTO frames (video, frame) SELECT %s, i FROM generate_series(0, %s - 1) AS i", (ident, OTHER.frames))
            posting = _post_in_thread(alice, honest_label(OTHER, FRAME, "alice-0001"), codes)
            _until(lambda: _waiting_on_locks(url) == 1 or not posting.is_alive(), "the admission waits for the sync, or is done")
        posting.join(10)
        assert codes == [202]
        assert first.get("/api/progress").status_code == 200  # a read judges what is queued
        with psycopg.connect(url) as connection:
            frame = connection.execute("SELECT labels FROM frames WHERE video = %s AND frame = %s", (ident, FRAME)).fetchone()
        assert frame == (1,)
    finally:
        for client in list(apps.running):
            apps.stop(client)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/next-frame", {"volunteer": "alice-0001"}),
        ("/api/next-frame", {"volunteer": "alice-0001", "video": VIDEO.url}),
        ("/api/progress", {}),
        ("/api/progress", {"video": VIDEO.url}),
    ],
)
def test_frame_answers_are_503_while_postgresql_is_gone_and_recover(tmp_path: Path, postgres_cluster: Cluster, path: str, params: dict[str, str]) -> None:
    """The tally's database stopped: a sentence and Retry-After, not a 500; started again: answers again."""
    url = postgres_cluster.database()
    apps = Apps(tmp_path, tmp_path / "unused.sqlite3", url)
    try:
        client = apps.start()
        assert client.get(path, params=params).status_code == 200
        postgres_cluster.stop()
        try:
            gone = client.get(path, params=params)
            assert gone.status_code == 503 and gone.headers["Retry-After"] == "60"
            assert gone.json()["error"].startswith("The receiver cannot read its frame tally right now")
        finally:
            postgres_cluster.start()
        _until(lambda: client.get(path, params=params).status_code == 200, "the tally answers again")
    finally:
        for client in list(apps.running):
            apps.stop(client)


def test_labels_taken_in_by_a_receiver_given_no_videos_count_in_the_shared_tally(tmp_path: Path, postgres_cluster: Cluster) -> None:
    """A receiver without RECEIVER_VIDEOS hands out no frames, but the labels it keeps count for those that do."""
    apps = Apps(tmp_path, tmp_path / "unused.sqlite3", postgres_cluster.database())
    try:
        bare = apps.start(videos=(), retire_after=1, local_repo=tmp_path / "a" / "annotations.git")
        labelling = apps.start(retire_after=1, local_repo=tmp_path / "b" / "annotations.git")
        assert apps.volunteer(bare, "alice-0001").post(honest_label(VIDEO, FRAME, "alice-0001")).status_code == 202
        assert labelling.get("/api/progress").json()["frames_left"] == VIDEO.frames - 1
    finally:
        for client in list(apps.running):
            apps.stop(client)
