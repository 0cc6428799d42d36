"""The frame tally: which frames of the configured videos still need labels, and which one a volunteer gets next.

State lives in the journal's database (tables in `receiver.journal.schema`,
for both engines), so it survives restarts
and every process of one receiver, or every receiver on one PostgreSQL, shares it:

- `videos`: one row per configured video, numbered, with how many of its
  frames were touched (labelled at least once) and retired;
- `frames`: one row per frame of those videos (labels, agreeing labels, retired);
- `volunteer_frames`: which frames each volunteer id has labelled;
- `settled_frames`, `settled_keypoints`: how each settled frame was settled
  (from suggestions or from scratch) and whether the model's prediction of it
  agreed, per keypoint, with their running sums per video in
  `settled_counts` and `model_agreement` (what the dashboard reads).

Receivers sharing one journal hand out frames from this one tally: each start
brings it in line with the videos that receiver was given (the last start
decides, as in a rolling update), and every read takes the videos from the
tables, never from a list kept since its own start.

`FrameLedger.admitted` is the journal's admit hook: it runs inside the
transaction that keeps new records, on either engine, counts each label under
its voice and queues the frames whose counted labels changed
(`pending_judgements`), so the queue commits with the records or not at all.
Judging a frame (through `receiver.volunteers.retirement`, the one place
agreement is decided) happens after, in `FrameLedger.judge_pending`: a thread
of each receiver runs it when the journal admits (`receiver.volunteers.judging`),
and every read of the tally runs it first, so an answer never misses a label
already answered 202. A judgement costs one solve over at most `label_cap`
labels, so piling labels on one frame slows nobody's intake.

Gold frames (expert points, when configured) are never judged by the crowd:
they count as retired, are handed to sessions at the rate their standing asks
(`receiver.volunteers.trust`), and each label of one scores its voice. A voice
far off gold or off the settled frames weighs nothing, and the frames it
labelled are judged again without it. `FrameLedger.open` brings the
tables in line with the configured videos: a video seen for the first time
(or whose geometry changed) gets its frame rows and is rebuilt from the
records already kept; a video no longer configured is dropped.

A record counts only when it describes a configured video as configured:
same URL, fps, width and height, and a frame index inside the video. Other
records are kept and delivered as ever, and count for nothing here.

Picking does not scan: per level of agreement (fewest first) it seeks the
`frames_by_need` index at a random point and walks forward to the first frame
the volunteer has not labelled. Handed-out frames are not reserved.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import random
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from receiver.consensus import ConsensusRule, FrameKey, Point, gold_agreement, vote_of
from receiver.contract.records import ANONYMOUS, Record
from receiver.journal.connector import JournalUnavailable
from receiver.journal.sqlite import connect
from receiver.volunteers.model_check import ModelFigures, keypoint_checks
from receiver.volunteers.predictions import Prediction
from receiver.volunteers.retirement import FrameAgreement, judge_frame
from receiver.volunteers.trust import GOLD_KIND, SETTLED_KIND, Standing
from receiver.volunteers.videos import Video

__all__ = ["CAP_TIMES_K", "FrameLedger", "Lease", "voice_of", "Pick", "Progress", "VideoProgress", "VOLUNTEER", "volunteer_of"]

log = logging.getLogger("receiver.frames")

#: What a volunteer id looks like: an opaque random id the labeling page keeps.
VOLUNTEER = re.compile(r"[A-Za-z0-9_-]{8,64}")

_STATUS_KEY = "frames.retire_after"

#: Written once the tally counts labels in `frame_votes`; a tally without it was built by an earlier receiver and is rebuilt.
_VOTES_KEY = "frames.votes"

#: By default a frame's labels are judged up to this many times K; the rest are kept and not judged.
CAP_TIMES_K = 3

#: How next-frame chooses among frames that need labels (RECEIVER_FRAME_CHOICE).
CHOICES = ("uniform", "uncertain")

#: Predictions whose doubt differs by less than this are in doubt alike: `uncertain` picks among them at random.
_ALIKE = 0.05


@dataclass(frozen=True)
class Pick:
    """A frame handed out, with its agreeing labels so far."""

    video: Video
    frame_index: int
    labels: int


@dataclass(frozen=True)
class Lease:
    """Who asks for frames to lease, from which client address group, and the lease's span (seconds since the epoch)."""

    session: str
    address: str
    now: float
    until: float


@dataclass(frozen=True)
class VideoProgress:
    url: str
    frames: int
    retired: int
    in_progress: int
    untouched: int
    #: Frames once retired that later counted labels brought back into the pool (also counted in `in_progress`).
    reopened: int = 0


@dataclass(frozen=True)
class Progress:
    videos: tuple[VideoProgress, ...]
    frames_left: int
    volunteer_done: int | None


def voice_of(record: Record) -> str | None:
    """Under which voice a label counts on its frame, or None when it counts for nothing here.

    A token holder, and a volunteer session labelling a frame leased to it, each
    have one voice per frame: a later label under the same voice replaces the
    earlier one. A label without either (no session, or a frame not leased to
    its session) is kept and delivered, and is *unassigned*: it never counts
    toward retirement.
    """
    if record.submitter != ANONYMOUS:
        return f"token/{record.submitter}"
    if record.volunteer is not None and record.assigned:
        return f"session/{record.volunteer}"
    return None


def volunteer_of(record: Record) -> str | None:
    """Who labelled it, for "never hand a volunteer a frame twice": the session's pseudonym, else a valid `metadata.volunteer`."""
    if record.volunteer is not None:
        return record.volunteer
    metadata = record.submission.get("metadata") or {}
    value = metadata.get("volunteer")
    return value if isinstance(value, str) and VOLUNTEER.fullmatch(value) else None


def _describes(submission: dict[str, Any], row: Sequence[Any]) -> bool:
    """Whether a submission labels a frame of the video in `row` (id, frames, fps, width, height) as configured."""
    _, frames, fps, width, height = row
    index = submission["frame_index"]
    return (
        isinstance(index, int)
        and 0 <= index < frames
        and submission["frame_width"] == width
        and submission["frame_height"] == height
        and math.isclose(float(submission["fps"]), fps, rel_tol=1e-9)
    )


#: A frame may be handed out while no other session of this client's address group was ever given it, and while
#: its agreeing labels and the other sessions' open leases leave room below K.
_LEASABLE = (
    " AND NOT EXISTS (SELECT 1 FROM assignments AS a WHERE a.video = f.video AND a.frame = f.frame AND a.address = :address AND a.session <> :session)"
    " AND (SELECT count(*) FROM assignments AS a WHERE a.video = f.video AND a.frame = f.frame AND a.done = 0 AND a.expires_at > :now"
    " AND a.session <> :session) < :room"
)

#: The tally's SQL by name, with `:name` parameters; an engine runs them in its own parameter style.
STATEMENTS: dict[str, str] = {
    "videos": "SELECT id, url, fps, frames, width, height FROM videos ORDER BY id",
    "video": "SELECT id, url, fps, frames, width, height FROM videos WHERE url = :url",
    # Run first by each admitting transaction where receivers may sync the videos while others admit (PostgreSQL
    # fills it in); none here: SQLite's write lock already puts a sync and an admission one after the other.
    "admitting": "",
    "geometry": "SELECT id, frames, fps, width, height FROM videos WHERE url = :url",
    "drop_frames": "DELETE FROM frames WHERE video = :video",
    "drop_volunteer_frames": "DELETE FROM volunteer_frames WHERE video = :video",
    "drop_video": "DELETE FROM videos WHERE id = :video",
    "add_video": "INSERT INTO videos (url, fps, frames, width, height) VALUES (:url, :fps, :frames, :width, :height) RETURNING id",
    "add_frames": (
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :frames)"
        " INSERT INTO frames (video, frame) SELECT :video, i FROM n"
    ),
    "labelled_frames": "SELECT DISTINCT frame_index FROM records WHERE video_url = :url",
    # The retirement rule of `receiver.volunteers.retirement` (K agreeing, two to one), in SQL.
    "retire_reached": "UPDATE frames SET retired = 1 WHERE retired = 0 AND agreeing >= :retire_after AND 3 * agreeing >= 2 * labels",
    "unretire": "UPDATE frames SET retired = 0 WHERE retired = 1 AND (agreeing < :retire_after OR 3 * agreeing < 2 * labels)",
    "recount_retired": "UPDATE videos SET retired = (SELECT count(*) FROM frames WHERE frames.video = videos.id AND frames.retired = 1)",
    "stored_retire_after": "SELECT value FROM status WHERE name = :name",
    "store_retire_after": (
        "INSERT INTO status (name, value, written_at) VALUES (:name, :value, 0) ON CONFLICT (name) DO UPDATE SET value = excluded.value"
    ),
    # Read before the frame's labels: an engine where machines admit side by side locks the row here (see `FrameLedger.admitted`).
    "frame": "SELECT labels, retired FROM frames WHERE video = :video AND frame = :frame",
    "frame_documents": "SELECT document FROM records WHERE video_url = :url AND frame_index = :frame ORDER BY seq",
    "votes": "SELECT count(*) FROM frame_votes WHERE video = :video AND frame = :frame",
    "vote": "SELECT record FROM frame_votes WHERE video = :video AND frame = :frame AND voice = :voice",
    "add_vote": "INSERT INTO frame_votes (video, frame, voice, record) VALUES (:video, :frame, :voice, :record)",
    "replace_vote": "UPDATE frame_votes SET record = :record WHERE video = :video AND frame = :frame AND voice = :voice",
    "vote_documents": (
        "SELECT v.voice, r.document FROM frame_votes AS v JOIN records AS r ON r.id = v.record"
        " WHERE v.video = :video AND v.frame = :frame ORDER BY r.seq"
    ),
    "drop_votes": "DELETE FROM frame_votes WHERE video = :video",
    # The judgement queue: a frame queued again while being judged is judged again (its count moved on).
    "queue_judgement": (
        "INSERT INTO pending_judgements (video, frame) VALUES (:video, :frame)"
        " ON CONFLICT (video, frame) DO UPDATE SET queued = pending_judgements.queued + 1"
    ),
    "pending": "SELECT video, frame FROM pending_judgements ORDER BY video, frame LIMIT :limit",
    "take_judgement": "DELETE FROM pending_judgements WHERE video = :video AND frame = :frame RETURNING queued",
    "drop_pending": "DELETE FROM pending_judgements WHERE video = :video",
    "video_row": "SELECT id, frames, fps, width, height, url FROM videos WHERE id = :video",
    "queue_voice": "INSERT INTO pending_voices (voice) VALUES (:voice) ON CONFLICT (voice) DO UPDATE SET queued = pending_voices.queued + 1",
    "pending_voices": "SELECT voice, queued FROM pending_voices ORDER BY voice LIMIT :limit",
    "take_voice": "DELETE FROM pending_voices WHERE voice = :voice AND queued = :queued",
    "voice_frames": "SELECT video, frame FROM frame_votes WHERE voice = :voice ORDER BY video, frame",
    "standing": "SELECT kind, count(*), coalesce(sum(good), 0) FROM voice_scores WHERE voice = :voice GROUP BY kind",
    "score": (
        "INSERT INTO voice_scores (voice, video, frame, kind, good) VALUES (:voice, :video, :frame, :kind, :good)"
        " ON CONFLICT (voice, video, frame) DO UPDATE SET kind = excluded.kind, good = excluded.good"
    ),
    "unscore_frame": "DELETE FROM voice_scores WHERE video = :video AND frame = :frame AND kind = :kind",
    "drop_scores": "DELETE FROM voice_scores WHERE video = :video",
    "mark_gold": "UPDATE frames SET retired = 1 WHERE video = :video AND frame = :frame",
    "recount_touched": (
        "UPDATE videos SET touched = (SELECT count(*) FROM frames WHERE frames.video = videos.id AND (frames.labels > 0 OR frames.retired = 1))"
    ),
    "labelled_by": "SELECT 1 FROM volunteer_frames WHERE volunteer = :volunteer AND video = :video AND frame = :frame",
    "drop_prediction": "DELETE FROM predictions WHERE url = :url AND frame = :frame",
    "add_prediction": "INSERT INTO predictions (url, frame, model, points, doubt) VALUES (:url, :frame, :model, :points, :doubt)",
    "prediction": "SELECT model, points FROM predictions WHERE url = :url AND frame = :frame",
    "prediction_counts": "SELECT url, model, count(*), avg(doubt) FROM predictions GROUP BY url, model ORDER BY url, model",
    # The frames not retired that have a prediction, by doubt: what `uncertain` picking walks, most doubtful first.
    "doubt_video": (
        "INSERT INTO doubtful_frames (video, frame, doubt) SELECT f.video, f.frame, p.doubt FROM predictions AS p"
        " JOIN videos AS v ON v.url = p.url JOIN frames AS f ON f.video = v.id AND f.frame = p.frame"
        " WHERE v.id = :video AND f.retired = 0 ON CONFLICT (video, frame) DO UPDATE SET doubt = excluded.doubt"
    ),
    "doubt_frame": (
        "INSERT INTO doubtful_frames (video, frame, doubt) SELECT v.id, p.frame, p.doubt FROM predictions AS p JOIN videos AS v ON v.url = p.url"
        " WHERE v.id = :video AND p.frame = :frame ON CONFLICT (video, frame) DO UPDATE SET doubt = excluded.doubt"
    ),
    "settle_doubt": "DELETE FROM doubtful_frames WHERE video = :video AND frame = :frame",
    "drop_doubt": "DELETE FROM doubtful_frames WHERE video = :video",
    "pick_doubtful": (
        "SELECT f.video, f.frame, d.doubt FROM doubtful_frames AS d JOIN frames AS f ON f.video = d.video AND f.frame = d.frame"
        " WHERE f.retired = 0 AND f.labels < :cap"
        " AND NOT EXISTS (SELECT 1 FROM volunteer_frames AS mine WHERE mine.volunteer = :volunteer AND mine.video = f.video AND mine.frame = f.frame)"
        + _LEASABLE
        + " ORDER BY d.doubt DESC LIMIT :limit"
    ),
    "add_volunteer_frame": "INSERT INTO volunteer_frames (volunteer, video, frame) VALUES (:volunteer, :video, :frame) ON CONFLICT DO NOTHING",
    "set_frame": "UPDATE frames SET labels = :labels, agreeing = :agreeing, retired = :retired WHERE video = :video AND frame = :frame",
    "count_video": "UPDATE videos SET touched = touched + :touched, retired = retired + :retired WHERE id = :video",
    "pick_in_video": (
        "SELECT video, frame FROM frames AS f WHERE retired = 0 AND agreeing = :level AND video = :video AND frame {bound} :frame AND labels < :cap"
        " AND NOT EXISTS (SELECT 1 FROM volunteer_frames AS mine WHERE mine.volunteer = :volunteer AND mine.video = f.video AND mine.frame = f.frame)"
        + _LEASABLE
        + " ORDER BY video, frame LIMIT :limit"
    ),
    "pick_in_videos": (
        "SELECT video, frame FROM frames AS f WHERE retired = 0 AND agreeing = :level AND (video, frame) {bound} (:video, :frame) AND labels < :cap"
        " AND NOT EXISTS (SELECT 1 FROM volunteer_frames AS mine WHERE mine.volunteer = :volunteer AND mine.video = f.video AND mine.frame = f.frame)"
        + _LEASABLE
        + " ORDER BY video, frame LIMIT :limit"
    ),
    "renew_lease": "UPDATE assignments SET expires_at = :until WHERE video = :video AND frame = :frame AND session = :session AND done = 0",
    "add_lease": (
        "INSERT INTO assignments (video, frame, session, address, expires_at) VALUES (:video, :frame, :session, :address, :until) ON CONFLICT DO NOTHING"
    ),
    "lease_done": "UPDATE assignments SET done = 1 WHERE video = :video AND frame = :frame AND session = :session",
    "drop_assignments": "DELETE FROM assignments WHERE video = :video",
    "key": "SELECT value FROM volunteer_keys WHERE name = :name",
    "add_key": "INSERT INTO volunteer_keys (name, value) VALUES (:name, :value) ON CONFLICT DO NOTHING",
    "remaining": "SELECT coalesce(sum(frames - retired), 0) FROM videos",
    "coverage": (
        "SELECT f.frame * :cells / v.frames AS cell, count(*), sum(CASE WHEN f.labels > 0 THEN 1 ELSE 0 END), sum(f.retired)"
        " FROM frames f JOIN videos v ON v.id = f.video WHERE v.url = :url GROUP BY cell ORDER BY cell"
    ),
    "progress": (
        "SELECT url, frames, touched, retired, (SELECT count(*) FROM reopened_frames AS r WHERE r.video = videos.id) FROM videos ORDER BY id"
    ),
    "reopen": "INSERT INTO reopened_frames (video, frame) VALUES (:video, :frame) ON CONFLICT DO NOTHING",
    "settled_again": "DELETE FROM reopened_frames WHERE video = :video AND frame = :frame",
    "drop_reopened": "DELETE FROM reopened_frames WHERE video = :video",
    "pick_reopened": (
        "SELECT f.video, f.frame FROM reopened_frames AS f JOIN frames AS x ON x.video = f.video AND x.frame = f.frame"
        " WHERE x.retired = 0 AND x.labels < :cap"
        " AND NOT EXISTS (SELECT 1 FROM volunteer_frames AS mine WHERE mine.volunteer = :volunteer AND mine.video = f.video AND mine.frame = f.frame)"
        + _LEASABLE
        + " ORDER BY f.video, f.frame LIMIT :limit"
    ),
    "volunteer_done": "SELECT count(*) FROM volunteer_frames WHERE volunteer = :volunteer",
    # Each settled frame's comparison with the model, and their sums per video (see `FrameLedger._settle`).
    "settled_frame": "SELECT suggested FROM settled_frames WHERE video = :video AND frame = :frame",
    "settled_checks": "SELECT keypoint, model, agree FROM settled_keypoints WHERE video = :video AND frame = :frame",
    "unsettle_frame": "DELETE FROM settled_frames WHERE video = :video AND frame = :frame",
    "unsettle_keypoints": "DELETE FROM settled_keypoints WHERE video = :video AND frame = :frame",
    "settle_frame": "INSERT INTO settled_frames (video, frame, suggested) VALUES (:video, :frame, :suggested)",
    "settle_keypoint": (
        "INSERT INTO settled_keypoints (video, frame, keypoint, model, agree) VALUES (:video, :frame, :keypoint, :model, :agree)"
    ),
    "count_settled": (
        "INSERT INTO settled_counts (video, suggested, frames) VALUES (:video, :suggested, :frames)"
        " ON CONFLICT (video, suggested) DO UPDATE SET frames = settled_counts.frames + excluded.frames"
    ),
    "count_model": (
        "INSERT INTO model_agreement (video, model, keypoint, agree, total) VALUES (:video, :model, :keypoint, :agree, :total)"
        " ON CONFLICT (video, model, keypoint) DO UPDATE SET agree = model_agreement.agree + excluded.agree, total = model_agreement.total + excluded.total"
    ),
    "settled_sums": "SELECT suggested, coalesce(sum(frames), 0) FROM settled_counts GROUP BY suggested",
    "model_sums": "SELECT model, keypoint, sum(agree), sum(total) FROM model_agreement GROUP BY model, keypoint ORDER BY model, keypoint",
    "any_prediction": "SELECT 1 FROM predictions LIMIT 1",
    "drop_settled_frames": "DELETE FROM settled_frames WHERE video = :video",
    "drop_settled_keypoints": "DELETE FROM settled_keypoints WHERE video = :video",
    "drop_settled_counts": "DELETE FROM settled_counts WHERE video = :video",
    "drop_model_agreement": "DELETE FROM model_agreement WHERE video = :video",
    # After a changed RECEIVER_RETIRE_AFTER: frames no longer retired lose their comparison, and the sums are taken again.
    "unsettle_unretired_frames": (
        "DELETE FROM settled_frames WHERE NOT EXISTS"
        " (SELECT 1 FROM frames WHERE frames.video = settled_frames.video AND frames.frame = settled_frames.frame AND frames.retired = 1)"
    ),
    "unsettle_unretired_keypoints": (
        "DELETE FROM settled_keypoints WHERE NOT EXISTS"
        " (SELECT 1 FROM frames WHERE frames.video = settled_keypoints.video AND frames.frame = settled_keypoints.frame AND frames.retired = 1)"
    ),
    "clear_settled_counts": "DELETE FROM settled_counts",
    "clear_model_agreement": "DELETE FROM model_agreement",
    "recount_settled": (
        "INSERT INTO settled_counts (video, suggested, frames) SELECT video, suggested, count(*) FROM settled_frames GROUP BY video, suggested"
    ),
    "recount_model": (
        "INSERT INTO model_agreement (video, model, keypoint, agree, total)"
        " SELECT video, model, keypoint, sum(agree), count(*) FROM settled_keypoints GROUP BY video, model, keypoint"
    ),
}
# The two bounds of a pick, from a random point to the end, then from the start back round to it.
for _name in ("pick_in_video", "pick_in_videos"):
    STATEMENTS[_name + "_after"] = STATEMENTS[_name].replace("{bound}", ">=")
    STATEMENTS[_name + "_before"] = STATEMENTS[_name].replace("{bound}", "<")
    del STATEMENTS[_name]


class Cursor(Protocol):
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """What the tally needs of a connection: sqlite3's and psycopg's both fit."""

    def execute(self, sql: Any, parameters: Any = ..., /) -> Any: ...


class TallyDatabase(Protocol):
    """Where the tally lives: the journal's SQLite file, or its PostgreSQL database."""

    def judging(self) -> contextlib.AbstractContextManager[Connection]:
        """A write transaction that runs beside admissions (they take their rows in the same order), not one after another."""
        ...

    def open(self) -> None:
        """Connect; raises `JournalUnavailable` when the engine cannot be reached."""
        ...

    def statement(self, name: str) -> str:
        """The named statement in this engine's SQL and parameter style."""
        ...

    def read(self, name: str, parameters: Mapping[str, Any]) -> list[Any]:
        """Rows of a named read; raises `JournalUnavailable` when the engine cannot answer."""
        ...

    def transaction(self) -> contextlib.AbstractContextManager[Connection]:
        """A write transaction that receivers starting together take one at a time."""
        ...

    def close(self) -> None: ...


class SqliteTally:
    """The tally in the journal's SQLite file: a connection of its own, reads behind a lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def open(self) -> None:
        try:
            connection = connect(self.path)
        except sqlite3.Error as exc:
            raise JournalUnavailable(f"the frame tally in {self.path} cannot be opened ({exc.__class__.__name__})") from exc
        self._connection = connection

    def statement(self, name: str) -> str:
        return STATEMENTS[name]

    def _opened(self) -> sqlite3.Connection:
        if self._connection is None:
            raise RuntimeError("the frame tally is closed")
        return self._connection

    def read(self, name: str, parameters: Mapping[str, Any]) -> list[Any]:
        connection = self._opened()
        try:
            with self._lock:
                return connection.execute(STATEMENTS[name], dict(parameters)).fetchall()
        except sqlite3.Error as exc:
            raise JournalUnavailable(f"the frame tally cannot be read right now ({exc.__class__.__name__})") from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        connection = self._opened()
        with self._lock:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def judging(self) -> contextlib.AbstractContextManager[Connection]:
        # SQLite writes one transaction at a time anyway.
        return self.transaction()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class FrameLedger:
    """The tally over one journal's database; `open()` syncs it with the configured videos."""

    def __init__(
        self,
        database: TallyDatabase,
        videos: Sequence[Video],
        *,
        retire_after: int,
        keypoints: Sequence[str],
        symmetry: Sequence[tuple[str, str]] = (),
        cap: int = 0,
        gold: Mapping[FrameKey, Sequence[Point | None]] | None = None,
        screening: bool = True,
        choice: str = "uniform",
    ) -> None:
        if retire_after < 1:
            raise ValueError("retire_after must be 1 or more")
        self.cap = cap
        #: Expert points by (video URL, frame index); screening hands them to sessions.
        self.gold = {(key.video_url, key.frame_index): tuple(points) for key, points in (gold or {}).items()}
        self.screening = screening and bool(self.gold)
        if choice not in CHOICES:
            raise ValueError(f"choice must be one of {', '.join(CHOICES)}, not {choice!r}")
        #: `uncertain` hands out the frames whose predictions are most in doubt first; `uniform` ignores predictions.
        self.choice = choice
        self._agree = ConsensusRule().agree
        self.database = database
        self.videos = tuple(videos)
        self.retire_after = retire_after
        self.keypoints = tuple(keypoints)
        self.symmetry = tuple(symmetry)
        self._by_url = {video.url: video for video in self.videos}

    # -- lifecycle ------------------------------------------------------------

    def open(self) -> FrameLedger:
        """Connect and sync the tables with the configured videos (the journal has created them)."""
        self.database.open()
        self._sync()
        self._mark_gold()
        return self

    def close(self) -> None:
        self.database.close()

    def held(self) -> dict[int, Video]:
        """The videos the tally holds now, by their id in it; another receiver's start may have changed them.

        A video held as this receiver configured it comes back as configured, with
        what its entry adds to the five columns kept (frame times, decoding).
        """
        held = {}
        for ident, url, fps, frames, width, height in self.database.read("videos", {}):
            video = Video(url=url, fps=float(fps), frames=int(frames), width=int(width), height=int(height))
            configured = self._by_url.get(url)
            same = configured is not None and (configured.fps, configured.frames, configured.width, configured.height) == (video.fps, video.frames, video.width, video.height)
            held[int(ident)] = configured if same and configured is not None else video
        return held

    def video(self, url: str) -> Video | None:
        """The video with this URL as the tally holds it now, if it does."""
        return next((video for video in self.held().values() if video.url == url), None)

    def _sync(self) -> None:
        stored = {row[1]: row for row in self.database.read("videos", {})}
        for url, row in stored.items():
            if url not in self._by_url:
                with self.database.transaction() as connection:
                    self._drop(connection, int(row[0]))
                # Normal when the operator took it out; a mistake when receivers sharing
                # one database were given different videos: each start undoes the other's.
                log.warning(
                    "frame tally: dropped %s, which RECEIVER_VIDEOS no longer names (receivers sharing a journal must all be given the same videos)",
                    url,
                )
        for video in self.videos:
            if _same(stored.get(video.url), video):
                continue
            with self.database.transaction() as connection:
                # Another process or receiver may have done it meanwhile.
                row = connection.execute(self._sql("video"), {"url": video.url}).fetchone()
                if _same(row, video):
                    continue
                if row is not None:
                    self._drop(connection, int(row[0]))
                self._add(connection, video)
            if video.url in stored:
                log.warning(
                    "frame tally: %s now has %d frames of %dx%d at %g fps, as RECEIVER_VIDEOS gives it, and is counted again from the records"
                    " (receivers sharing a journal must all be given the same videos)",
                    video.url,
                    video.frames,
                    video.width,
                    video.height,
                    video.fps,
                )
        if not self.database.read("stored_retire_after", {"name": _VOTES_KEY}):
            self._count_votes()
        if self._stored_retire_after() == self.retire_after:
            return  # the usual start: nothing to write, so processes starting together do not queue on the lock
        with self.database.transaction() as connection:
            row = connection.execute(self._sql("stored_retire_after"), {"name": _STATUS_KEY}).fetchone()
            if row is not None and int(row[0]) == self.retire_after:
                return
            self._reretire(connection)
        if row is not None:
            log.warning(
                "frame tally: frames now retire at %d agreeing labels, as RECEIVER_RETIRE_AFTER gives it, instead of %d"
                " (receivers sharing a journal must all be given the same RECEIVER_RETIRE_AFTER)",
                self.retire_after,
                int(row[0]),
            )

    def _sql(self, name: str) -> str:
        return self.database.statement(name)

    def _mark_gold(self) -> None:
        """Count the configured gold frames as retired: the expert settled them, the crowd is only tested on them."""
        ids = {url: ident for ident, url, *_ in self.database.read("videos", {})}
        keys = sorted((ids[url], index) for url, index in self.gold if url in ids)
        if not keys:
            return
        with self.database.transaction() as connection:
            for ident, index in keys:
                connection.execute(self._sql("mark_gold"), {"video": ident, "frame": index})
            connection.execute(self._sql("recount_retired"), {})
            connection.execute(self._sql("recount_touched"), {})

    def _count_votes(self) -> None:
        """Rebuild a tally an earlier receiver kept without counted labels, from the records, once."""
        with self.database.transaction() as connection:
            if connection.execute(self._sql("stored_retire_after"), {"name": _VOTES_KEY}).fetchone() is not None:
                return  # another process did it meanwhile
            for ident, url, fps, frames, width, height in connection.execute(self._sql("videos"), {}).fetchall():
                self._drop(connection, int(ident))
                self._add(connection, Video(url=url, fps=float(fps), frames=int(frames), width=int(width), height=int(height)))
            connection.execute(self._sql("store_retire_after"), {"name": _VOTES_KEY, "value": "1"})

    def _stored_retire_after(self) -> int | None:
        rows = self.database.read("stored_retire_after", {"name": _STATUS_KEY})
        return int(rows[0][0]) if rows else None

    def volunteer_key(self, name: str, make: Callable[[], str]) -> str:
        """The secret kept under `name` in the tally's database, made once by `make` and shared by every receiver on it."""
        rows = self.database.read("key", {"name": name})
        if rows:
            return str(rows[0][0])
        with self.database.transaction() as connection:
            connection.execute(self._sql("add_key"), {"name": name, "value": make()})
            return str(connection.execute(self._sql("key"), {"name": name}).fetchone()[0])

    def retire_after_now(self) -> int:
        """How many agreeing labels retire a frame: what the last receiver started on this tally was given."""
        return self._stored_retire_after() or self.retire_after

    def _drop(self, connection: Connection, ident: int) -> None:
        for name in (
            "drop_frames", "drop_volunteer_frames", "drop_votes", "drop_assignments", "drop_reopened", "drop_pending", "drop_scores", "drop_doubt",
            "drop_settled_frames", "drop_settled_keypoints", "drop_settled_counts", "drop_model_agreement", "drop_video",
        ):
            connection.execute(self._sql(name), {"video": ident})

    def _add(self, connection: Connection, video: Video) -> None:
        geometry = {"url": video.url, "fps": video.fps, "frames": video.frames, "width": video.width, "height": video.height}
        ident = int(connection.execute(self._sql("add_video"), geometry).fetchone()[0])
        connection.execute(self._sql("add_frames"), {"frames": video.frames, "video": ident})
        # Rebuild from the records already kept: the video may have been labelled before it was configured.
        row = (ident, video.frames, video.fps, video.width, video.height)
        indices = [i for (i,) in connection.execute(self._sql("labelled_frames"), {"url": video.url}).fetchall()]
        moved: set[str] = set()
        sums = _SettledSums()
        for index in sorted(i for i in indices if isinstance(i, int) and 0 <= i < video.frames):
            documents = connection.execute(self._sql("frame_documents"), {"url": video.url, "frame": index}).fetchall()
            records = [Record.from_stored(bytes(document)) for (document,) in documents]
            if self._count(connection, video.url, row, index, [r for r in records if _describes(r.submission, row)], self.retire_after, moved):
                touched, retired = self._judge(connection, video.url, row, index, self.retire_after, moved, sums)
                if touched or retired:
                    connection.execute(self._sql("count_video"), {"touched": touched, "retired": retired, "video": ident})
        sums.write(connection, self._sql)
        for voice in sorted(moved):
            connection.execute(self._sql("queue_voice"), {"voice": voice})
        connection.execute(self._sql("doubt_video"), {"video": ident})

    def _reretire(self, connection: Connection) -> None:
        """Apply a changed RECEIVER_RETIRE_AFTER to every frame (both directions walk the need index)."""
        connection.execute(self._sql("retire_reached"), {"retire_after": self.retire_after})
        connection.execute(self._sql("unretire"), {"retire_after": self.retire_after})
        connection.execute(self._sql("recount_retired"), {})
        for name in ("unsettle_unretired_frames", "unsettle_unretired_keypoints", "clear_settled_counts", "clear_model_agreement", "recount_settled", "recount_model"):
            connection.execute(self._sql(name), {})
        connection.execute(self._sql("store_retire_after"), {"name": _STATUS_KEY, "value": str(self.retire_after)})

    # -- the journal's admit hook -----------------------------------------------

    def label_cap(self, retire_after: int) -> int:
        """How many labels of one frame are judged: the rest are kept and delivered, and count for nothing here."""
        return self.cap or CAP_TIMES_K * retire_after

    def admitted(self, connection: Connection, records: Sequence[Record]) -> None:
        """Count these newly kept records and queue the frames whose counted labels changed (inside the journal's transaction).

        The work per label is a few index lookups, never a judgement: that runs
        after the transaction (`judge_pending`). Frames are taken in one order
        and the voices whose standing moved are queued last, so receivers
        admitting and judging side by side on PostgreSQL lock rows in the same
        order and never wait on each other in a circle.
        """
        if turn := self._sql("admitting"):
            connection.execute(turn, {})
        stored = connection.execute(self._sql("stored_retire_after"), {"name": _STATUS_KEY}).fetchone()
        retire_after = int(stored[0]) if stored else self.retire_after
        # One lookup per video, not per record: a group commit holds many labels of few videos.
        videos: dict[str, Sequence[Any] | None] = {}
        labels: dict[tuple[str, int], list[Record]] = {}
        for record in records:
            submission = record.submission
            url = submission["video_url"]
            if url not in videos:
                videos[url] = connection.execute(self._sql("geometry"), {"url": url}).fetchone()
            row = videos[url]
            if row is not None and _describes(submission, row):
                labels.setdefault((url, submission["frame_index"]), []).append(record)
        moved: set[str] = set()
        for url, index in sorted(labels):
            row = videos[url]
            assert row is not None
            ident = int(row[0])
            # First the frame's row: on PostgreSQL this locks it, so a receiver admitting or judging
            # the same frame waits for this transaction and then works with this label in view.
            if connection.execute(self._sql("frame"), {"video": ident, "frame": index}).fetchone() is None:
                continue
            if self._count(connection, url, row, index, labels[url, index], retire_after, moved):
                connection.execute(self._sql("queue_judgement"), {"video": ident, "frame": index})
        for voice in sorted(moved):
            connection.execute(self._sql("queue_voice"), {"voice": voice})

    def _count(
        self, connection: Connection, url: str, row: Sequence[Any], index: int, records: Sequence[Record], retire_after: int, moved: set[str]
    ) -> bool:
        """Count one frame's new labels: a vote each on a crowd frame, a score each on a gold frame; whether the frame needs judging.

        A voice whose gold score moves it across the line of being barred goes into `moved`.
        """
        ident = int(row[0])
        gold = self.gold.get((url, index))
        changed = False
        for record in records:
            volunteer = volunteer_of(record)
            if volunteer is not None:
                connection.execute(self._sql("add_volunteer_frame"), {"volunteer": volunteer, "video": ident, "frame": index})
            voice = voice_of(record)
            if voice is None:
                continue
            if record.volunteer is not None:
                connection.execute(self._sql("lease_done"), {"video": ident, "frame": index, "session": record.volunteer})
            if gold is None:
                changed = self._vote(connection, ident, index, voice, record, self.label_cap(retire_after)) or changed
                continue
            matched = gold_agreement(vote_of(record, self.keypoints), gold, int(row[3]), int(row[4])) >= self._agree
            before = self._standing(connection, voice)
            connection.execute(self._sql("score"), {"voice": voice, "video": ident, "frame": index, "kind": GOLD_KIND, "good": int(matched)})
            if self._standing(connection, voice).barred != before.barred:
                moved.add(voice)
        return changed

    def _standing(self, connection: Connection, voice: str) -> Standing:
        rows = {kind: (int(seen), int(good)) for kind, seen, good in connection.execute(self._sql("standing"), {"voice": voice}).fetchall()}
        gold, settled = rows.get(GOLD_KIND, (0, 0)), rows.get(SETTLED_KIND, (0, 0))
        return Standing(gold_seen=gold[0], gold_good=gold[1], settled_seen=settled[0], settled_agree=settled[1])

    def standing(self, voice: str) -> Standing:
        """A voice's scores on gold and settled frames as the tally holds them now (a voice is `session/<pseudonym>` or `token/<name>`)."""
        rows = {kind: (int(seen), int(good)) for kind, seen, good in self.database.read("standing", {"voice": voice})}
        gold, settled = rows.get(GOLD_KIND, (0, 0)), rows.get(SETTLED_KIND, (0, 0))
        return Standing(gold_seen=gold[0], gold_good=gold[1], settled_seen=settled[0], settled_agree=settled[1])

    def _vote(self, connection: Connection, ident: int, index: int, voice: str, record: Record, cap: int) -> bool:
        """Count one label of a frame under its voice, replacing that voice's earlier label; whether the counted labels changed."""
        key = {"video": ident, "frame": index, "voice": voice}
        if connection.execute(self._sql("vote"), key).fetchone() is not None:
            connection.execute(self._sql("replace_vote"), {**key, "record": record.id})
            return True
        if int(connection.execute(self._sql("votes"), {"video": ident, "frame": index}).fetchone()[0]) >= cap:
            return False
        connection.execute(self._sql("add_vote"), {**key, "record": record.id})
        return True

    def _judge(
        self, connection: Connection, url: str, row: Sequence[Any], index: int, retire_after: int, moved: set[str], sums: _SettledSums
    ) -> tuple[int, int]:
        """Re-judge one frame from the counted labels of voices not barred; how many frames it newly touched and newly retired (0 or 1 each).

        When the frame retires, each voice on it scores whether it agreed; when
        it comes back out of retirement, those scores go. A voice those scores
        move across the line of being barred goes into `moved`; how the settled
        answer compares with the model's prediction goes into `sums`.
        """
        ident = int(row[0])
        before = connection.execute(self._sql("frame"), {"video": ident, "frame": index}).fetchone()
        if before is None or (url, index) in self.gold:
            return 0, 0
        documents = connection.execute(self._sql("vote_documents"), {"video": ident, "frame": index}).fetchall()
        standings = {str(voice): self._standing(connection, str(voice)) for voice, _ in documents}
        voices = {str(voice): Record.from_stored(bytes(document)) for voice, document in documents if not standings[str(voice)].barred}
        agreement = judge_frame(list(voices.values()), self.keypoints, self.symmetry)
        was_touched, was_retired = before[0] > 0, bool(before[1])
        retired = agreement.retired(retire_after)
        if was_retired and not retired:
            # Later counted labels disagree with the answer it retired on: back into the pool.
            connection.execute(self._sql("reopen"), {"video": ident, "frame": index})
            connection.execute(self._sql("unscore_frame"), {"video": ident, "frame": index, "kind": SETTLED_KIND})
            connection.execute(self._sql("doubt_frame"), {"video": ident, "frame": index})
        elif retired and not was_retired:
            connection.execute(self._sql("settled_again"), {"video": ident, "frame": index})
            connection.execute(self._sql("settle_doubt"), {"video": ident, "frame": index})
        if retired:
            for voice, record in voices.items():
                good = int(record.id in agreement.agreeing_records)
                connection.execute(self._sql("score"), {"voice": voice, "video": ident, "frame": index, "kind": SETTLED_KIND, "good": good})
        if retired or was_retired:
            moved.update(voice for voice, standing in standings.items() if self._standing(connection, voice).barred != standing.barred)
        self._settle(connection, url, row, index, agreement if retired else None, sums)
        labels = agreement.labels
        if agreement.suggested and not retired and len(documents) >= self.label_cap(retire_after):
            # Echoes of the model count as one label, yet fill the cap: a frame whose further labels cannot count is not handed out again.
            labels = max(labels, self.label_cap(retire_after))
        connection.execute(
            self._sql("set_frame"),
            {"labels": labels, "agreeing": agreement.agreeing, "retired": int(retired), "video": ident, "frame": index},
        )
        return int(agreement.labels > 0 and not was_touched), int(retired) - int(was_retired)

    def _settle(self, connection: Connection, url: str, row: Sequence[Any], index: int, settled: FrameAgreement | None, sums: _SettledSums) -> None:
        """Keep how a frame was settled (`settled`, None when it is not) and how its prediction compares, replacing what was kept before.

        A few rows per frame, read and written by key: the sums move by the
        difference, so a frame judged again, or brought back from retirement, is
        counted once or not at all.
        """
        ident = int(row[0])
        key = {"video": ident, "frame": index}
        kept = connection.execute(self._sql("settled_frame"), key).fetchone()
        before: tuple[int | None, dict[str, tuple[str, int]]] = (None, {})
        if kept is not None:
            checks = connection.execute(self._sql("settled_checks"), key).fetchall()
            before = (int(kept[0]), {str(k): (str(m), int(a)) for k, m, a in checks})
        after: tuple[int | None, dict[str, tuple[str, int]]] = (None, {})
        if settled is not None:
            compared: dict[str, tuple[str, int]] = {}
            predicted = connection.execute(self._sql("prediction"), {"url": url, "frame": index}).fetchone()
            if predicted is not None:
                points = [None if p is None else (float(p[0]), float(p[1])) for p in json.loads(predicted[1])]
                for keypoint, check in zip(self.keypoints, keypoint_checks(settled.centre, points, int(row[3]), int(row[4]))):
                    if check is not None:
                        compared[keypoint] = (str(predicted[0]), int(check))
            after = (int(settled.suggested), compared)
        if before == after:
            return
        if before[0] is not None:
            connection.execute(self._sql("unsettle_frame"), key)
            connection.execute(self._sql("unsettle_keypoints"), key)
            sums.add(ident, before[0], before[1], -1)
        if after[0] is not None:
            connection.execute(self._sql("settle_frame"), {**key, "suggested": after[0]})
            for keypoint, (model, agree) in after[1].items():
                connection.execute(self._sql("settle_keypoint"), {**key, "keypoint": keypoint, "model": model, "agree": agree})
            sums.add(ident, after[0], after[1], 1)

    def model_figures(self) -> ModelFigures | None:
        """The model beside the crowd on the frames settled so far (kept sums, a few rows); None while no predictions are loaded."""
        self.judge_pending()
        if not self.database.read("any_prediction", {}):
            return None
        agreement: dict[str, dict[str, tuple[int, int]]] = {}
        for model, keypoint, agree, total in self.database.read("model_sums", {}):
            if int(total):
                agreement.setdefault(str(model), {})[str(keypoint)] = (int(agree), int(total))
        # Keypoints in skeleton order, as everywhere else the skeleton is shown.
        agreement = {model: {k: shown[k] for k in self.keypoints if k in shown} for model, shown in agreement.items()}
        sources = {int(suggested): int(frames) for suggested, frames in self.database.read("settled_sums", {})}
        return ModelFigures(agreement, from_suggestions=sources.get(1, 0), from_scratch=sources.get(0, 0))

    # -- judging ------------------------------------------------------------------

    def judge_pending(self, *, batch: int = 64) -> int:
        """Judge the frames queued since the last call (and again those of voices whose standing moved); how many were judged.

        Each batch is one transaction taking frames in order; a frame another
        process judged meanwhile is skipped. Stops when the queue is empty, so
        the work is what was queued, never a scan.
        """
        self._requeue_voices(batch)
        judged = 0
        while rows := self.database.read("pending", {"limit": batch}):
            retire_after = self.retire_after_now()
            counts: dict[int, list[int]] = {}
            moved: set[str] = set()
            sums = _SettledSums()
            with self.database.judging() as connection:
                for video, frame in rows:
                    key = {"video": int(video), "frame": int(frame)}
                    # The frame's row first, as admissions take it (on PostgreSQL it locks the row).
                    present = connection.execute(self._sql("frame"), key).fetchone() is not None
                    if connection.execute(self._sql("take_judgement"), key).fetchone() is None or not present:
                        continue
                    row = connection.execute(self._sql("video_row"), {"video": int(video)}).fetchone()
                    touched, retired = self._judge(connection, str(row[5]), row[:5], int(frame), retire_after, moved, sums)
                    tally = counts.setdefault(int(video), [0, 0])
                    tally[0] += touched
                    tally[1] += retired
                    judged += 1
                for ident, (touched, retired) in sorted(counts.items()):
                    if touched or retired:
                        connection.execute(self._sql("count_video"), {"touched": touched, "retired": retired, "video": ident})
                sums.write(connection, self._sql)
                for voice in sorted(moved):
                    connection.execute(self._sql("queue_voice"), {"voice": voice})
            if moved:
                self._requeue_voices(batch)
            if len(rows) < batch:
                break
        return judged

    # -- predictions ----------------------------------------------------------------

    def import_predictions(self, predictions: Sequence[Prediction], doubt: Sequence[float]) -> int:
        """Keep these predictions (with each one's doubt), replacing what an earlier import held for the same frames, in one transaction."""
        with self.database.transaction() as connection:
            for prediction, value in zip(predictions, doubt, strict=True):
                key = {"url": prediction.video_url, "frame": prediction.frame_index}
                connection.execute(self._sql("drop_prediction"), key)
                points = json.dumps([None if p is None else list(p) for p in prediction.points])
                connection.execute(self._sql("add_prediction"), {**key, "model": prediction.model, "points": points, "doubt": value})
            for ident, url, *_ in connection.execute(self._sql("videos"), {}).fetchall():
                if any(prediction.video_url == url for prediction in predictions):
                    connection.execute(self._sql("doubt_video"), {"video": int(ident)})
        return len(predictions)

    def prediction(self, url: str, index: int) -> dict[str, Any] | None:
        """The kept prediction of a frame, keyed by keypoint (`{"x", "y", "score"}` or null), with its model; None when there is none."""
        rows = self.database.read("prediction", {"url": url, "frame": index})
        if not rows:
            return None
        model, points = rows[0]
        values = json.loads(points)
        return {
            "model": str(model),
            "keypoints": {k: None if v is None else {"x": v[0], "y": v[1], "score": v[2]} for k, v in zip(self.keypoints, values)},
        }

    def prediction_counts(self) -> list[tuple[str, str, int, float]]:
        """Per video URL and model version: how many frames have a prediction, and their mean doubt."""
        return [(str(u), str(m), int(n), float(d)) for u, m, n, d in self.database.read("prediction_counts", {})]

    def agreement(self, url: str, index: int) -> FrameAgreement | None:
        """What one frame's counted labels of voices not barred say together: what its retirement was judged on (None: not a frame here)."""
        self.judge_pending()
        rows = self.database.read("geometry", {"url": url})
        if not rows:
            return None
        documents = self.database.read("vote_documents", {"video": int(rows[0][0]), "frame": index})
        counted = [Record.from_stored(bytes(document)) for voice, document in documents if not self.standing(str(voice)).barred]
        return judge_frame(counted, self.keypoints, self.symmetry)

    def _requeue_voices(self, batch: int) -> None:
        """Queue every frame a voice counts on, for each voice whose standing moved: they are judged again with or without it."""
        for voice, queued in self.database.read("pending_voices", {"limit": batch}):
            with self.database.judging() as connection:
                for video, frame in connection.execute(self._sql("voice_frames"), {"voice": voice}).fetchall():
                    connection.execute(self._sql("queue_judgement"), {"video": int(video), "frame": int(frame)})
                connection.execute(self._sql("take_voice"), {"voice": voice, "queued": queued})

    # -- reading ----------------------------------------------------------------

    def next_frames(
        self, volunteer: str, *, count: int, rng: random.Random, video: Video | None = None, lease: Lease | None = None, now: float = 0.0
    ) -> list[Pick]:
        """Up to `count` frames for this volunteer: not retired, not labelled by them, fewest agreeing labels first.

        With a `lease`, each frame handed out is leased to the session until
        `lease.until`, and only frames with room for it are handed out: no other
        session of its address group was given the frame, and the frame's
        agreeing labels and the other sessions' open leases leave room below K.
        Without one (a caller that is no session), leases still keep frames
        that are full from being handed out again. With gold screening, some
        of a session's frames are gold ones, as many as its standing asks.
        """
        self.judge_pending()
        held = self.held()
        candidates = [ident for ident, known in held.items() if video is None or known.url == video.url]
        picks: list[tuple[int, int, int]] = []
        scope = {"session": lease.session, "address": lease.address, "now": lease.now} if lease else {"session": "", "address": "", "now": now}
        retire_after = self.retire_after_now()
        scope["cap"] = self.label_cap(retire_after)
        if lease is not None and self.screening and candidates:
            picks.extend(self._gold_picks(volunteer, lease, count, candidates, held, rng))
        if self.choice == "uncertain" and candidates and len(picks) < count:
            picks.extend(self._doubtful_picks(volunteer, count - len(picks), candidates, rng, {(v, f) for v, f, _ in picks}, scope, retire_after))
        # Frames brought back from retirement first: few, and their answer is in doubt.
        if candidates and len(picks) < count:
            for video_id, frame in self.database.read(
                "pick_reopened", {"volunteer": volunteer, "limit": count, "room": retire_after, **scope}
            ):
                if int(video_id) in candidates and len(picks) < count:
                    picks.append((int(video_id), int(frame), retire_after))
        # Any other frame not retired has fewer than retire_after agreeing labels: few levels, each one or two index seeks.
        for level in range(retire_after):
            while len(picks) < count:
                found = self._pick_at(level, volunteer, candidates, held, rng, {(v, f) for v, f, _ in picks}, {**scope, "room": retire_after - level})
                if found is None:
                    break
                picks.append(found)
        if lease is not None:
            picks = self._lease(picks, lease)
        return [Pick(held[v], f, agreeing) for v, f, agreeing in picks]

    def _gold_picks(
        self, volunteer: str, lease: Lease, count: int, candidates: list[int], held: Mapping[int, Video], rng: random.Random
    ) -> list[tuple[int, int, int]]:
        """Gold frames for this session, each of its `count` frames gold with the chance its standing gives, none it labelled before."""
        wanted = sum(rng.random() < self.standing(f"session/{lease.session}").gold_rate() for _ in range(count))
        if not wanted:
            return []
        ids = {video.url: ident for ident, video in held.items() if ident in candidates}
        keys = [(ids[url], index) for url, index in self.gold if url in ids]
        rng.shuffle(keys)
        picks: list[tuple[int, int, int]] = []
        # A few tries, not a scan: a session that labelled most gold frames is simply given fewer.
        for video, frame in keys[: 4 * wanted]:
            if not self.database.read("labelled_by", {"volunteer": volunteer, "video": video, "frame": frame}):
                picks.append((video, frame, 0))
                if len(picks) == wanted:
                    break
        return picks

    def _doubtful_picks(
        self, volunteer: str, wanted: int, candidates: list[int], rng: random.Random, taken: set[tuple[int, int]], scope: Mapping[str, Any], room: int
    ) -> list[tuple[int, int, int]]:
        """The frames whose predictions are most in doubt; among frames in doubt alike (within 0.05), at random, so volunteers asking together spread."""
        rows = self.database.read("pick_doubtful", {"volunteer": volunteer, "limit": 4 * wanted + len(taken), "room": room, **scope})
        ranked = [(int(v), int(f), float(d)) for v, f, d in rows if int(v) in candidates and (int(v), int(f)) not in taken]
        if not ranked:
            return []
        bar = ranked[min(wanted, len(ranked)) - 1][2] - _ALIKE
        pool = [(video, frame) for video, frame, doubt in ranked if doubt >= bar]
        return [(video, frame, 0) for video, frame in rng.sample(pool, min(wanted, len(pool)))]

    def _lease(self, picks: list[tuple[int, int, int]], lease: Lease) -> list[tuple[int, int, int]]:
        """Lease the picked frames to the session; a frame another session of its address group took meanwhile is dropped."""
        kept = []
        with self.database.transaction() as connection:
            for video, frame, level in picks:
                key = {"video": video, "frame": frame, "session": lease.session, "until": lease.until}
                if connection.execute(self._sql("renew_lease"), key).rowcount == 0:
                    if connection.execute(self._sql("add_lease"), {**key, "address": lease.address}).rowcount == 0:
                        continue
                kept.append((video, frame, level))
        return kept

    def _pick_at(
        self,
        level: int,
        volunteer: str,
        candidates: list[int],
        held: Mapping[int, Video],
        rng: random.Random,
        taken: set[tuple[int, int]],
        leasing: Mapping[str, Any],
    ) -> tuple[int, int, int] | None:
        """A frame at this level the volunteer has not labelled: the first after a random point, wrapping round."""
        if not candidates:
            return None
        start_video = rng.choice(candidates)
        start = (start_video, rng.randrange(held[start_video].frames))
        scope = "pick_in_video" if len(candidates) == 1 else "pick_in_videos"
        for bound in ("after", "before"):
            rows = self.database.read(
                f"{scope}_{bound}",
                {"level": level, "video": start[0], "frame": start[1], "volunteer": volunteer, "limit": len(taken) + 1, **leasing},
            )
            for video, frame in rows:
                # A video another receiver added since `held` was read waits for the next request.
                if (video, frame) not in taken and int(video) in held:
                    return int(video), int(frame), level
        return None

    def remaining(self) -> int:
        """Frames not retired, over every configured video."""
        self.judge_pending()
        return int(self.database.read("remaining", {})[0][0])

    def coverage(self, video: Video, *, cells: int = 100) -> list[tuple[int, int, int]]:
        """The video cut into `cells` runs of frames: (frames, labelled, retired) in each, for a picture of coverage."""
        width = _cells(video.frames, cells)
        rows = self.database.read("coverage", {"cells": width, "url": video.url})
        found = {int(cell): (int(n), int(labelled), int(retired)) for cell, n, labelled, retired in rows}
        return [found.get(cell, (0, 0, 0)) for cell in range(width)]

    def progress(self, volunteer: str | None = None, *, video: Video | None = None) -> Progress:
        """Every video the tally holds (or only `video`), frame counts by state, and how many frames the volunteer did."""
        self.judge_pending()
        shown = [
            VideoProgress(url, int(frames), int(retired), int(touched) - int(retired), int(frames) - int(touched), int(reopened))
            for url, frames, touched, retired, reopened in self.database.read("progress", {})
            if video is None or url == video.url
        ]
        done = None
        if volunteer is not None:
            done = int(self.database.read("volunteer_done", {"volunteer": volunteer})[0][0])
        return Progress(tuple(shown), sum(v.frames - v.retired for v in shown), done)


class _SettledSums:
    """What a batch of judgements moves the kept sums by, written at the batch's end in key order (so judges side by side never wait in a circle)."""

    def __init__(self) -> None:
        self.settled: dict[tuple[int, int], int] = {}
        self.model: dict[tuple[int, str, str], list[int]] = {}

    def add(self, video: int, suggested: int, checks: Mapping[str, tuple[str, int]], sign: int) -> None:
        """Count (`sign` 1) or uncount (-1) one settled frame and its keypoints' comparison with the model."""
        self.settled[video, suggested] = self.settled.get((video, suggested), 0) + sign
        for keypoint, (model, agree) in checks.items():
            moved = self.model.setdefault((video, model, keypoint), [0, 0])
            moved[0] += sign * agree
            moved[1] += sign

    def write(self, connection: Connection, sql: Callable[[str], str]) -> None:
        for (video, suggested), frames in sorted(self.settled.items()):
            if frames:
                connection.execute(sql("count_settled"), {"video": video, "suggested": suggested, "frames": frames})
        for (video, model, keypoint), (agree, total) in sorted(self.model.items()):
            if agree or total:
                connection.execute(sql("count_model"), {"video": video, "model": model, "keypoint": keypoint, "agree": agree, "total": total})
        self.settled.clear()
        self.model.clear()


def _cells(frames: int, cells: int) -> int:
    return max(1, min(cells, frames))


def _same(row: Sequence[Any] | None, video: Video) -> bool:
    """Whether a stored videos row (id, url, fps, frames, width, height) has this video's geometry."""
    return row is not None and tuple(row[2:]) == (video.fps, video.frames, video.width, video.height)
