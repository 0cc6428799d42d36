"""The frame tally: which frames of the configured videos still need labels, and which one a volunteer gets next.

State lives in the journal's SQLite file (tables in `receiver.journal.schema`),
so it survives restarts and every worker process of one receiver shares it:

- `videos`: one row per configured video, numbered, with how many of its
  frames were touched (labelled at least once) and retired;
- `frames`: one row per frame of those videos (labels, agreeing labels, retired);
- `volunteer_frames`: which frames each volunteer id has labelled.

`FrameLedger.admitted` is the journal's admit hook: it runs inside the
transaction that keeps new records and re-judges only the frames they label
(through `receiver.retirement`, the one place agreement is decided), so the
tally commits with the records or not at all. `FrameLedger.open` brings the
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

import logging
import math
import random
import re
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from receiver.records import Record
from receiver.retirement import judge_frame
from receiver.videos import Video

__all__ = ["FrameLedger", "Pick", "Progress", "VideoProgress", "VOLUNTEER", "volunteer_of"]

log = logging.getLogger("receiver.frames")

#: What a volunteer id looks like: an opaque random id the labeling page keeps.
VOLUNTEER = re.compile(r"[A-Za-z0-9_-]{8,64}")

_STATUS_KEY = "frames.retire_after"


@dataclass(frozen=True)
class Pick:
    """A frame handed out, with its agreeing labels so far."""

    video: Video
    frame_index: int
    labels: int


@dataclass(frozen=True)
class VideoProgress:
    url: str
    frames: int
    retired: int
    in_progress: int
    untouched: int


@dataclass(frozen=True)
class Progress:
    videos: tuple[VideoProgress, ...]
    frames_left: int
    volunteer_done: int | None


def volunteer_of(record: Record) -> str | None:
    """The volunteer id a record carries in `metadata.volunteer`, if it has a valid one."""
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


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA busy_timeout=30000")
    return connection


class FrameLedger:
    """The tally over one journal file; `open()` syncs it with the configured videos."""

    def __init__(
        self, path: Path, videos: Sequence[Video], *, retire_after: int, keypoints: Sequence[str], symmetry: Sequence[tuple[str, str]] = ()
    ) -> None:
        if retire_after < 1:
            raise ValueError("retire_after must be 1 or more")
        self.path = path
        self.videos = tuple(videos)
        self.retire_after = retire_after
        self.keypoints = tuple(keypoints)
        self.symmetry = tuple(symmetry)
        self._by_url = {video.url: video for video in self.videos}
        self._ids: dict[str, int] = {}
        self._by_id: dict[int, Video] = {}
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    # -- lifecycle ------------------------------------------------------------

    def open(self) -> FrameLedger:
        """Connect and sync the tables with the configured videos (the journal has created them)."""
        self._connection = _connect(self.path)
        self._sync(self._connection)
        rows = self._connection.execute("SELECT id, url FROM videos").fetchall()
        self._ids = {url: ident for ident, url in rows if url in self._by_url}
        self._by_id = {ident: self._by_url[url] for url, ident in self._ids.items()}
        return self

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def video(self, url: str) -> Video | None:
        return self._by_url.get(url)

    def _sync(self, connection: sqlite3.Connection) -> None:
        stored = {row[1]: row for row in connection.execute("SELECT id, url, fps, frames, width, height FROM videos")}
        for url, row in stored.items():
            if url not in self._by_url:
                with _transaction(connection):
                    self._drop(connection, int(row[0]))
                log.info("frame tally: dropped a video no longer configured")
        for video in self.videos:
            if _same(stored.get(video.url), video):
                continue
            with _transaction(connection):
                # Another process of this receiver may have done it meanwhile.
                row = connection.execute("SELECT id, url, fps, frames, width, height FROM videos WHERE url = ?", (video.url,)).fetchone()
                if _same(row, video):
                    continue
                if row is not None:
                    self._drop(connection, int(row[0]))
                self._add(connection, video)
        if _stored_retire_after(connection) == self.retire_after:
            return  # the usual start: nothing to write, so worker processes starting together do not queue on the lock
        with _transaction(connection):
            if _stored_retire_after(connection) != self.retire_after:
                self._reretire(connection)

    def _drop(self, connection: sqlite3.Connection, ident: int) -> None:
        connection.execute("DELETE FROM frames WHERE video = ?", (ident,))
        connection.execute("DELETE FROM volunteer_frames WHERE video = ?", (ident,))
        connection.execute("DELETE FROM videos WHERE id = ?", (ident,))

    def _add(self, connection: sqlite3.Connection, video: Video) -> None:
        cursor = connection.execute(
            "INSERT INTO videos (url, fps, frames, width, height) VALUES (?, ?, ?, ?, ?)",
            (video.url, video.fps, video.frames, video.width, video.height),
        )
        ident = cursor.lastrowid
        assert ident is not None
        connection.execute(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :frames)"
            " INSERT INTO frames (video, frame) SELECT :video, i FROM n",
            {"frames": video.frames, "video": ident},
        )
        # Rebuild from the records already kept: the video may have been labelled before it was configured.
        row = (ident, video.frames, video.fps, video.width, video.height)
        indices = [i for (i,) in connection.execute("SELECT DISTINCT frame_index FROM records WHERE video_url = ?", (video.url,))]
        for index in indices:
            if isinstance(index, int) and 0 <= index < video.frames:
                self._retally(connection, video.url, row, index)

    def _reretire(self, connection: sqlite3.Connection) -> None:
        """Apply a changed RECEIVER_RETIRE_AFTER to every frame (both directions walk the need index)."""
        connection.execute("UPDATE frames SET retired = 1 WHERE retired = 0 AND agreeing >= ?", (self.retire_after,))
        connection.execute("UPDATE frames SET retired = 0 WHERE retired = 1 AND agreeing < ?", (self.retire_after,))
        connection.execute("UPDATE videos SET retired = (SELECT count(*) FROM frames WHERE frames.video = videos.id AND frames.retired = 1)")
        connection.execute(
            "INSERT INTO status (name, value, written_at) VALUES (?, ?, 0)"
            " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (_STATUS_KEY, str(self.retire_after)),
        )

    # -- the journal's admit hook -----------------------------------------------

    def admitted(self, connection: sqlite3.Connection, records: Sequence[Record]) -> None:
        """Re-judge the frames these newly kept records label (inside the journal's transaction)."""
        # One lookup per video, not per record: a group commit holds many labels of few videos.
        videos: dict[str, Sequence[Any] | None] = {}
        for record in records:
            submission = record.submission
            url = submission["video_url"]
            if url not in videos:
                videos[url] = connection.execute("SELECT id, frames, fps, width, height FROM videos WHERE url = ?", (url,)).fetchone()
            row = videos[url]
            if row is None or not _describes(submission, row):
                continue
            self._retally(connection, url, row, submission["frame_index"])

    def _retally(self, connection: sqlite3.Connection, url: str, row: Sequence[Any], index: int) -> None:
        ident = int(row[0])
        documents = connection.execute("SELECT document FROM records WHERE video_url = ? AND frame_index = ?", (url, index)).fetchall()
        records = [Record.from_stored(bytes(document)) for (document,) in documents]
        counted = [record for record in records if _describes(record.submission, row)]
        agreement = judge_frame(counted, self.keypoints, self.symmetry)
        before = connection.execute("SELECT labels, retired FROM frames WHERE video = ? AND frame = ?", (ident, index)).fetchone()
        if before is None:
            return
        was_touched, was_retired = before[0] > 0, bool(before[1])
        # Retirement sticks: a later label that moves the consensus does not bring a frame back.
        retired = was_retired or agreement.retired(self.retire_after)
        for volunteer in filter(None, (volunteer_of(record) for record in counted)):
            connection.execute("INSERT OR IGNORE INTO volunteer_frames (volunteer, video, frame) VALUES (?, ?, ?)", (volunteer, ident, index))
        connection.execute(
            "UPDATE frames SET labels = ?, agreeing = ?, retired = ? WHERE video = ? AND frame = ?",
            (agreement.labels, agreement.agreeing, int(retired), ident, index),
        )
        touched = int(agreement.labels > 0 and not was_touched)
        newly_retired = int(retired and not was_retired)
        if touched or newly_retired:
            connection.execute("UPDATE videos SET touched = touched + ?, retired = retired + ? WHERE id = ?", (touched, newly_retired, ident))

    # -- reading ----------------------------------------------------------------

    def _read(self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        if self._connection is None:
            raise RuntimeError("the frame tally is closed")
        with self._lock:
            return self._connection.execute(sql, parameters).fetchall()

    def next_frames(self, volunteer: str, *, count: int, rng: random.Random, video: Video | None = None) -> list[Pick]:
        """Up to `count` frames for this volunteer: not retired, not labelled by them, fewest agreeing labels first."""
        if video is not None:
            candidates = [self._ids[video.url]] if video.url in self._ids else []
        else:
            candidates = list(self._by_id)
        picks: list[tuple[int, int, int]] = []
        # A frame not retired has fewer than retire_after agreeing labels: few levels, each one or two index seeks.
        for level in range(self.retire_after):
            while len(picks) < count:
                found = self._pick_at(level, volunteer, candidates, rng, {(v, f) for v, f, _ in picks})
                if found is None:
                    break
                picks.append(found)
        return [Pick(self._by_id[v], f, agreeing) for v, f, agreeing in picks]

    def _pick_at(
        self, level: int, volunteer: str, candidates: list[int], rng: random.Random, taken: set[tuple[int, int]]
    ) -> tuple[int, int, int] | None:
        """A frame at this level the volunteer has not labelled: the first after a random point, wrapping round."""
        if not candidates:
            return None
        start_video = rng.choice(candidates)
        start = (start_video, rng.randrange(self._by_id[start_video].frames))
        if len(candidates) == 1:
            bounds = ("video = :video AND frame >= :frame", "video = :video AND frame < :frame")
        else:
            bounds = ("(video, frame) >= (:video, :frame)", "(video, frame) < (:video, :frame)")
        fresh = (
            " AND NOT EXISTS (SELECT 1 FROM volunteer_frames AS mine"
            " WHERE mine.volunteer = :volunteer AND mine.video = f.video AND mine.frame = f.frame)"
        )
        for bound in bounds:
            rows = self._read(
                f"SELECT video, frame FROM frames AS f WHERE retired = 0 AND agreeing = :level AND {bound}{fresh}"
                " ORDER BY video, frame LIMIT :limit",
                {"level": level, "video": start[0], "frame": start[1], "volunteer": volunteer, "limit": len(taken) + 1},
            )
            for video, frame in rows:
                if (video, frame) not in taken:
                    return int(video), int(frame), level
        return None

    def remaining(self) -> int:
        """Frames not retired, over every configured video."""
        rows = self._read("SELECT coalesce(sum(frames - retired), 0) FROM videos")
        return int(rows[0][0])

    def coverage(self, video: Video, *, cells: int = 100) -> list[tuple[int, int, int]]:
        """The video cut into `cells` runs of frames: (frames, labelled, retired) in each, for a picture of coverage."""
        width = _cells(video.frames, cells)
        rows = self._read(
            "SELECT f.frame * ? / v.frames AS cell, count(*), sum(f.labels > 0), sum(f.retired)"
            " FROM frames f JOIN videos v ON v.id = f.video WHERE v.url = ? GROUP BY cell ORDER BY cell",
            (width, video.url),
        )
        found = {int(cell): (int(n), int(labelled), int(retired)) for cell, n, labelled, retired in rows}
        return [found.get(cell, (0, 0, 0)) for cell in range(width)]

    def progress(self, volunteer: str | None = None, *, video: Video | None = None) -> Progress:
        rows = {url: (frames, touched, retired) for url, frames, touched, retired in self._read("SELECT url, frames, touched, retired FROM videos")}
        shown = []
        for configured in self.videos if video is None else (video,):
            frames, touched, retired = rows.get(configured.url, (configured.frames, 0, 0))
            shown.append(VideoProgress(configured.url, frames, retired, touched - retired, frames - touched))
        done = None
        if volunteer is not None:
            done = int(self._read("SELECT count(*) FROM volunteer_frames WHERE volunteer = ?", (volunteer,))[0][0])
        return Progress(tuple(shown), sum(v.frames - v.retired for v in shown), done)


def _cells(frames: int, cells: int) -> int:
    return max(1, min(cells, frames))


def _stored_retire_after(connection: sqlite3.Connection) -> int | None:
    row = connection.execute("SELECT value FROM status WHERE name = ?", (_STATUS_KEY,)).fetchone()
    return None if row is None else int(row[0])


def _same(row: Sequence[Any] | None, video: Video) -> bool:
    """Whether a stored videos row (id, url, fps, frames, width, height) has this video's geometry."""
    return row is not None and tuple(row[2:]) == (video.fps, video.frames, video.width, video.height)


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error (and the error re-raised)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> sqlite3.Connection:
        self.connection.execute("BEGIN IMMEDIATE")
        return self.connection

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is None:
            self.connection.execute("COMMIT")
        elif self.connection.in_transaction:
            self.connection.execute("ROLLBACK")
