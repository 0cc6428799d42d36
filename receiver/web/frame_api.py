"""The volunteer loop's HTTP side: which frame to label next, how far the videos are, one record's review, a frame's image.

`GET /api/next-frame?volunteer=ID[&count=N][&video=URL]`, `GET /api/progress[?volunteer=ID][&video=URL]`,
`GET /api/review/{id}` and `GET /api/frames/{video}/{index}[?format=jpeg|png|webp]` (the frame decoded
by the receiver, see `receiver.web.frame_images`; next-frame starts decoding the frames it hands out). The first two need configured videos
(`RECEIVER_VIDEOS`); without them they answer 404 with a sentence saying so,
since nothing is missing that waiting would bring. The tally they read is
`receiver.volunteers.frames`; the agreement behind it is `receiver.volunteers.retirement`.
"""

from __future__ import annotations

import logging
import random
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from receiver.contract.records import Record, is_record_id
from receiver.journal import JournalUnavailable
from receiver.media.frames import IMAGE_TYPES, FrameError
from receiver.volunteers.frames import CAP_TIMES_K, VOLUNTEER, FrameLedger, Lease, Pick, voice_of
from receiver.volunteers.matched import matched_animals
from receiver.volunteers.retirement import judge_frame
from receiver.volunteers.sessions import Session
from receiver.volunteers.videos import Video
from receiver.web.frame_images import DEFAULT_FORMAT
from receiver.web.responses import JSONAnswer, error
from receiver.web.sessions import address_group, session_of
from receiver.web.state import Receiver, receiver_of

__all__ = ["frame_routes", "MOST_FRAMES"]

log = logging.getLogger("receiver.frames")

#: Most frames one next-frame request hands out (the page keeps a few ahead).
MOST_FRAMES = 10


NO_VIDEOS = "This receiver has no videos configured, so it hands out no frames; its operator sets RECEIVER_VIDEOS."
BAD_VOLUNTEER = "The volunteer id must be 8 to 64 letters, digits, '-' or '_': send the random id the labeling page keeps."
NO_VOLUNTEER = "Say who is asking: add ?volunteer=<id>, the random id (8 to 64 letters, digits, '-' or '_') the labeling page keeps."
UNKNOWN_VIDEO = "No video with this URL is being labelled here; GET /api/progress lists the ones that are."
BUSY = "The receiver cannot read its frame tally right now; try again in a minute."
UNREADABLE = "The receiver cannot read its submissions right now; try again in a minute."
NO_FRAMES = "No video with this id has frames decoded here; the frame_url of a video in GET /api/next-frame names one that has."
BAD_INDEX = "The frame index must be a whole number, 0 or more."
BAD_FORMAT = "The format must be jpeg, png or webp."


def _tally(receiver: Receiver) -> FrameLedger | JSONResponse:
    if receiver.tally is None or not receiver.tally.videos:
        return error(404, NO_VIDEOS)
    return receiver.tally


def _volunteer(request: Request, *, required: bool) -> str | None | JSONResponse:
    value = request.query_params.get("volunteer")
    if value is None or value == "":
        return error(400, NO_VOLUNTEER) if required else None
    if not VOLUNTEER.fullmatch(value):
        return error(400, BAD_VOLUNTEER)
    return value


def _busy(exc: JournalUnavailable) -> JSONResponse:
    log.error("frame tally unreadable: %s", exc)
    return error(503, BUSY, headers={"Retry-After": "60"})


async def _video(request: Request, tally: FrameLedger) -> Video | None | JSONResponse:
    """The video `?video=` names as the tally holds it now (which another receiver may have changed), if any."""
    url = request.query_params.get("video")
    if url is None:
        return None
    try:
        video = await run_in_threadpool(tally.video, url)
    except JournalUnavailable as exc:
        return _busy(exc)
    return video or error(404, UNKNOWN_VIDEO)


def _count(request: Request) -> int | JSONResponse:
    raw = request.query_params.get("count")
    if raw is None:
        return 1
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MOST_FRAMES:
        return error(400, f"The query parameter count must be a whole number from 1 to {MOST_FRAMES}.")
    return int(raw)


def _item(pick: Pick) -> dict[str, Any]:
    """One handed-out frame: its video, its index, its labels so far, and how many animals (and which tracks) the page may send.

    `animals` and `tracks` come only with a video that allows several animals or names tracks, so a
    single-animal frame reads exactly as before they existed (absent means one animal, no tracks).
    """
    item: dict[str, Any] = {"video": pick.video.public(), "frame_index": pick.frame_index, "labels": pick.labels}
    if pick.video.animals != 1 or pick.video.tracks:
        item["animals"] = pick.video.animals
    if pick.video.tracks:
        item["tracks"] = list(pick.video.tracks)
    return item


def _predictions(tally: FrameLedger, picks: list[Pick]) -> dict[tuple[str, int], dict[str, Any]]:
    """The kept model prediction of each handed-out frame that has one: the page shows it as suggestions."""
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for pick in picks:
        prediction = tally.prediction(pick.video.url, pick.frame_index)
        if prediction is not None:
            found[pick.video.url, pick.frame_index] = prediction
    return found


def _asker(request: Request, receiver: Receiver, *, required: bool) -> tuple[str | None, Session | None] | Response:
    """Who asks: the session's pseudonym when the request carries a session, else the `?volunteer=` id (not an identity)."""
    session = session_of(request.headers, receiver)
    if isinstance(session, Response):
        return session
    if session is not None:
        return session.pseudonym, session
    volunteer = _volunteer(request, required=required)
    if isinstance(volunteer, JSONResponse):
        return volunteer
    return volunteer, None


def _tally_and_asker(request: Request, receiver: Receiver, *, required: bool) -> tuple[FrameLedger, str | None, Session | None] | Response:
    """The tally a volunteer endpoint reads and who asks, or the answer refusing the request."""
    tally = _tally(receiver)
    if isinstance(tally, JSONResponse):
        return tally
    asker = _asker(request, receiver, required=required)
    if isinstance(asker, Response):
        return asker
    return tally, *asker


async def next_frame(request: Request) -> Response:
    receiver = receiver_of(request)
    found = _tally_and_asker(request, receiver, required=True)
    if isinstance(found, Response):
        return found
    tally, volunteer, session = found
    assert volunteer is not None
    count = _count(request)
    if isinstance(count, JSONResponse):
        return count
    video = await _video(request, tally)
    if isinstance(video, JSONResponse):
        return video
    # Seeded per request: twenty volunteers asking at once spread over the equally needed frames.
    rng = random.Random(receiver.entropy())

    now = receiver.now().timestamp()
    lease = None
    if session is not None:
        address = address_group(request.scope, receiver) if receiver.settings.one_voice_per_address else session.pseudonym
        lease = Lease(session.pseudonym, address, now, now + receiver.settings.lease_seconds)

    def read() -> tuple[list[Pick], dict[tuple[str, int], dict[str, Any]], int, int]:
        picks = tally.next_frames(volunteer, count=count, rng=rng, video=video, lease=lease, now=now)
        remaining = tally.remaining() if video is None else tally.progress(video=video).frames_left
        return picks, _predictions(tally, picks), remaining, tally.retire_after_now()

    def item(pick: Pick) -> dict[str, Any]:
        found = _item(pick)
        suggestion = predictions.get((pick.video.url, pick.frame_index))
        if suggestion is not None:
            found["prediction"] = suggestion
        if lease is not None and session is not None and receiver.sessions is not None:
            found["lease"] = receiver.sessions.ticket(session, pick.video.url, pick.frame_index, lease.until)
        return found

    # The tally's database may be another machine's (PostgreSQL): never wait on it in the event loop.
    try:
        picks, predictions, remaining, retire_after = await run_in_threadpool(read)
    except JournalUnavailable as exc:
        return _busy(exc)
    _prefetch(receiver, picks)
    answer: dict[str, Any] = {"retire_after": retire_after, "remaining": remaining, "frames": [item(p) for p in picks]}
    if session is not None:
        answer["volunteer"] = session.pseudonym
    if not picks:
        if remaining == 0:
            message = "Every frame is labelled: thank you! Nothing is left to label."
        else:
            message = "You have labelled every frame that still needs labels: thank you! Others will finish the rest."
        return JSONAnswer({"message": message, "video": None, "frame_index": None, "labels": None, **answer})
    first = picks[0]
    message = f"Please label frame {first.frame_index}: it has {first.labels} of {retire_after} agreeing labels so far."
    return JSONAnswer({"message": message, **item(first), **answer})


async def progress(request: Request) -> Response:
    receiver = receiver_of(request)
    found = _tally_and_asker(request, receiver, required=False)
    if isinstance(found, Response):
        return found
    tally, volunteer, _ = found
    video = await _video(request, tally)
    if isinstance(video, JSONResponse):
        return video
    try:
        state = await run_in_threadpool(tally.progress, volunteer, video=video)
    except JournalUnavailable as exc:
        return _busy(exc)
    left = state.frames_left
    message = "Every frame is labelled: thank you!" if left == 0 else f"{left} frame{'s' if left != 1 else ''} still need{'s' if left == 1 else ''} labels."
    return JSONAnswer(
        {
            "message": message,
            "videos": [
                {"url": v.url, "frames": v.frames, "retired": v.retired, "in_progress": v.in_progress, "untouched": v.untouched}
                for v in state.videos
            ],
            "frames_left": left,
            # Retired frames that later labels disagreed with, handed out again.
            "reopened": sum(v.reopened for v in state.videos),
            "volunteer": None if volunteer is None else {"id": volunteer, "done": state.volunteer_done},
        }
    )


async def review(request: Request) -> Response:
    receiver = receiver_of(request)
    assert receiver.journal is not None
    journal = receiver.journal
    identifier = request.path_params["id"]
    try:
        record = await run_in_threadpool(journal.record, identifier) if is_record_id(identifier) else None
        if record is None:
            return error(404, "No submission has this id; check the link you followed.")
        submission = record.submission
        frame = await run_in_threadpool(journal.frame_records, submission["video_url"], submission["frame_index"])
        video = await run_in_threadpool(receiver.tally.video, submission["video_url"]) if receiver.tally is not None else None
    except JournalUnavailable as exc:
        log.error("journal unreadable: %s", exc)
        return error(503, UNREADABLE, headers={"Retry-After": "60"})
    others = [r for r in frame if r.id != record.id]
    # The consensus is the tally's: labels that count (one per voice, the latest), of the same frame size.
    size = (submission["frame_width"], submission["frame_height"])
    voices = {voice_of(r): r for r in frame if (r.submission["frame_width"], r.submission["frame_height"]) == size}
    comparable = [r for voice, r in voices.items() if voice is not None]
    keypoints = [k.id for k in receiver.validator.skeleton.keypoints]
    agreed = None
    if video is not None and receiver.tally is not None:
        # What the frame's retirement was judged on: its counted labels, without voices barred for being far off gold.
        try:
            judged = await run_in_threadpool(receiver.tally.agreement, submission["video_url"], submission["frame_index"])
        except JournalUnavailable as exc:
            log.error("frame tally unreadable: %s", exc)
            return error(503, UNREADABLE, headers={"Retry-After": "60"})
        agreed = judged.points() if judged is not None and judged.labels >= 2 else None
    elif len(comparable) >= 2:
        # Judged as the tally judges: at most the frame's label cap, in the thread pool, never on the event loop.
        most = CAP_TIMES_K * receiver.settings.retire_after
        judged = await run_in_threadpool(judge_frame, comparable[:most], keypoints, receiver.validator.skeleton.symmetry)
        agreed = judged.points()
    count = len(others)
    message = f"Submission {record.id} labels frame {submission['frame_index']}; {count} other label{'s' if count != 1 else ''} of that frame."
    # A frame piled with labels is answered with the ones that count (one per voice, at most the cap), not with the pile.
    cap = receiver.tally.label_cap(receiver.settings.retire_after) if receiver.tally is not None else CAP_TIMES_K * receiver.settings.retire_after
    if count > cap:
        counted = {r.id for r in comparable}
        others = [r for r in others if r.id in counted][:cap]
        message += f" The {len(others)} that count are shown."
    answer: dict[str, Any] = {
        "message": message,
        "record": record.document(),
        "video": video.public() if video is not None else None,
        "others": [_public(r) for r in others],
        "consensus": agreed,
    }
    if "instances" in submission or any("instances" in r.submission for r in others):
        # Per other record, per animal of it, the index of this submission's animal it is (null: none of them).
        skeleton = receiver.validator.skeleton
        answer["matched"] = matched_animals(submission, [r.submission for r in others], keypoints, skeleton.symmetry)
    return JSONAnswer(answer)


def _public(record: Record) -> dict[str, Any]:
    """Another volunteer's record as the public may see it: named by its session's pseudonym, never by a name a client chose."""
    document = record.document()
    metadata = document["submission"].get("metadata")
    if isinstance(metadata, dict) and "volunteer" in metadata:
        document["submission"] = {**document["submission"], "metadata": {k: v for k, v in metadata.items() if k != "volunteer"}}
    return document


def _prefetch(receiver: Receiver, picks: list[Pick]) -> None:
    """Start decoding the handed-out frames of videos the page labels as images; the answer does not wait."""
    if receiver.frame_images is None:
        return
    by_video: dict[str, tuple[Video, list[int]]] = {}
    for pick in picks:
        if pick.video.decode:
            by_video.setdefault(pick.video.id, (pick.video, []))[1].append(pick.frame_index)
    for video, indices in by_video.values():
        receiver.frame_images.prefetch(video, indices)


def _frame_index(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None


async def frame_image(request: Request) -> Response:
    receiver = receiver_of(request)
    images = receiver.frame_images
    video = images.video(request.path_params["video"]) if images is not None else None
    if images is None or video is None:
        return error(404, NO_FRAMES)
    index = _frame_index(request.path_params["index"])
    if index is None:
        return error(400, BAD_INDEX)
    format = request.query_params.get("format", DEFAULT_FORMAT)
    if format not in IMAGE_TYPES:
        return error(400, BAD_FORMAT)
    if index >= video.frames:
        return error(404, f"This video has frames 0 to {video.frames - 1}; there is no frame {index}.")
    try:
        data = await run_in_threadpool(images.image, video, index, format)
    except FrameError as exc:
        log.warning("frame %d of video %s cannot be decoded: %s", index, video.id, exc)
        return error(404, f"Frame {index} of this video cannot be decoded; its operator can check the file with `receiver videos add`.")
    # A frame of a video never changes while its entry stands: browsers and proxies may keep it.
    return Response(data, media_type=IMAGE_TYPES[format], headers={"Cache-Control": "public, max-age=86400"})


def frame_routes() -> list[Route]:
    return [
        Route("/api/next-frame", next_frame, methods=["GET"]),
        Route("/api/progress", progress, methods=["GET"]),
        Route("/api/review/{id}", review, methods=["GET"]),
        Route("/api/frames/{video}/{index}", frame_image, methods=["GET"]),
    ]
