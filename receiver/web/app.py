"""The HTTP receiver: a Starlette app built by `create_app(settings)`.

It parses, validates, journals and answers; delivery happens behind it, in
the worker the lifespan starts. Every answer is JSON whose first field is a
sentence a volunteer can read (the labeling page shows the first 100
characters), and no answer carries a traceback, a token or a server path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from receiver import __version__
from receiver.access.limitstate import Limits, SharedLimits
from receiver.access.tokens import TokenWatch
from receiver.consensus import FrameKey, Point, gold_points
from receiver.contract.decoding import SubmissionDecoder, UnsupportedSchema
from receiver.contract.records import format_time, is_record_id
from receiver.contract.validation import Validator
from receiver.delivery.health import DeliveryFacts, assess
from receiver.delivery.roles import build_worker
from receiver.delivery.worker import DeliveryWorker
from receiver.export.gold import GoldError, read_gold
from receiver.journal import JournalUnavailable
from receiver.journal.engines import open_journal
from receiver.settings import Settings
from receiver.stores import Store, build_store
from receiver.volunteers.frame_cache import FrameCache
from receiver.volunteers.frames import FrameLedger
from receiver.volunteers.judging import Judge
from receiver.volunteers.sessions import SessionKeys, new_secret
from receiver.volunteers.tallies import tally_database
from receiver.volunteers.videos import video_allowances
from receiver.web.connections import ConnectionCap
from receiver.web.dashboard import AgreementSummary, DashboardFacts, keypoint_agreement, render_dashboard
from receiver.web.forwarded import ForwardedFor, TrustedHops
from receiver.web.frame_api import frame_routes
from receiver.web.frame_images import FrameImages
from receiver.web.headers import SecurityHeaders, page_headers
from receiver.web.intake import ReceiverApp
from receiver.web.labeling import routes as page_routes
from receiver.web.metrics import Metrics, bearer_matches
from receiver.web.openapi import openapi_document
from receiver.web.responses import JSONAnswer
from receiver.web.responses import error as _error
from receiver.web.sessions import LEASE_HEADER, SESSION_HEADER, session_routes
from receiver.web.state import Receiver, receiver_of
from receiver.web.submissions import SubmissionEndpoint
from receiver.web.video_files import video_routes

__all__ = ["create_app", "app_from_environment"]

log = logging.getLogger("receiver.app")



def _positive(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:
        raise HTTPException(400, f"The query parameter {name} must be a whole number from 1 to {maximum}.")
    return int(raw)


async def list_annotations(request: Request) -> Response:
    receiver = receiver_of(request)
    assert receiver.journal is not None
    page = _positive(request, "page", 1, 1_000_000)
    per_page = _positive(request, "per_page", 50, 500)
    video_url = request.query_params.get("video_url") or None
    total, entries = receiver.journal.page(video_url=video_url, offset=(page - 1) * per_page, limit=per_page)
    return JSONAnswer(
        {
            "message": f"{total} annotation(s) received" + (" for this video" if video_url else ""),
            "count": total,
            "page": page,
            "per_page": per_page,
            "files": [e.path for e in entries],
            "annotations": [e.public() for e in entries],
        }
    )


async def submission(request: Request) -> Response:
    receiver = receiver_of(request)
    assert receiver.journal is not None
    identifier = request.path_params["id"]
    entry = receiver.journal.get(identifier) if is_record_id(identifier) else None
    if entry is None:
        return _error(404, "No submission has this id; check the status_url you were given.")
    # Read from the journal only: a public request never spends the store's request budget
    # (the delivery worker keeps pull request states fresh).
    words = {"queued": "is waiting to be saved", "delivered": "is saved in the repository", "failed": "was refused by the repository", "held": "is kept on its branch for review"}
    answer: dict[str, Any] = {"message": f"Submission {entry.id} {words.get(entry.state, entry.state)}.", **entry.public()}
    record = receiver.journal.record(identifier)
    if record is not None and record.volunteer is not None:
        # Only labels of a frame leased to their session count toward retirement.
        answer["volunteer"], answer["assigned"] = record.volunteer, bool(record.assigned)
    return JSONAnswer(answer)


def _epoch(stamp: str | None) -> float | None:
    return None if stamp is None else datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


_JOURNAL_UNREADABLE = "The receiver cannot read its journal right now; submissions are refused until it can."


def _detailed(request: Request, receiver: Receiver) -> bool:
    """Whether the asker holds the metrics token, and so may see where the deliverer runs and the store's budget."""
    return bearer_matches(request.headers.get("authorization"), receiver.settings.metrics_token)


async def health(request: Request) -> Response:
    receiver = receiver_of(request)
    try:
        return JSONAnswer(_health_report(receiver, detailed=_detailed(request, receiver)))
    except JournalUnavailable:
        return _error(503, _JOURNAL_UNREADABLE, headers={"Retry-After": "30"})


#: What anyone may see of the store: its kind and state; what it describes beyond that (budget, repository) is a detail.
_PUBLIC_STORE_FACTS = ("name", "state", "last_error", "retry_in_seconds")


def _health_report(receiver: Receiver, *, detailed: bool = False) -> dict[str, Any]:
    """What /health answers (the dashboard shows the same); JournalUnavailable when the journal cannot be read.

    An intake process has no worker of its own: it reports what the deliverer published.
    Only when `detailed` (the metrics token was sent) does it name the deliverer's host and the store's write budget.
    """
    assert receiver.journal is not None
    worker, journal = receiver.worker, receiver.journal
    if worker is not None:
        worker.ensure_running()
    counts = journal.counts()
    published = journal.delivery_status()
    if published is None and worker is not None:
        # Nothing published yet (no delivery attempt so far): say what this process knows.
        worker.publish(every=0.0)
        published = journal.delivery_status()
    # An intake process before any deliverer reported: only the store's kind is known.
    status, age = published or ({"state": "unknown", "store": {"name": receiver.settings.store}}, None)
    oldest = journal.oldest_queued()
    failed, last_failure = journal.failures()
    verdict = assess(
        DeliveryFacts(
            now=receiver.now().timestamp(),
            backlog=counts["queued"],
            oldest_queued_at=_epoch(oldest),
            last_delivered_at=status.get("last_delivered_at"),
            store_state=status["state"],
            last_error=status.get("last_error"),
            heartbeat_age=age,
            worker_alive=None if worker is None else worker.alive,
            stall_seconds=receiver.settings.stall_seconds,
        )
    )
    store: dict[str, Any] = {**status["store"], "state": status["state"]}
    if status.get("last_error"):
        store["last_error"] = status["last_error"]
    if status.get("retry_in_seconds") is not None and age is not None:
        store["retry_in_seconds"] = round(max(0.0, status["retry_in_seconds"] - age), 1)
    delivery: dict[str, Any] = {"state": verdict.state}
    if status.get("deliverer"):
        delivery["deliverer"] = status["deliverer"]
    if verdict.reason:
        delivery["reason"] = verdict.reason
    if verdict.since is not None:
        delivery["since"] = datetime.fromtimestamp(verdict.since, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    messages = {
        "ok": "Receiving and delivering.",
        "retrying": "Receiving; delivery is retrying.",
        "stalled": "Receiving; delivery is stalled.",
        "dead": "Receiving; delivery is not running.",
    }
    report = {
        "message": messages.get(verdict.state, "Receiving; delivery is degraded."),
        "status": "ok" if verdict.healthy else "degraded",
        "version": __version__,
        "delivery": delivery,
        "journal": {"backlog": counts["queued"], **counts, "oldest_queued_received_at": oldest},
        "failed": {"count": failed, "last_reason": last_failure},
        "store": store,
        "deliverer": status.get("deliverer"),
    }
    if detailed:
        return report
    # Where the deliverer runs and how much of the GitHub budget is left help an attacker time a flood.
    delivery.pop("deliverer", None)
    del report["deliverer"]
    report["store"] = {key: value for key, value in store.items() if key in _PUBLIC_STORE_FACTS}
    return report


async def dashboard(request: Request) -> Response:
    receiver = receiver_of(request)
    try:
        facts = await run_in_threadpool(_dashboard_facts, receiver, _detailed(request, receiver))
    except JournalUnavailable:
        return _error(503, _JOURNAL_UNREADABLE, headers={"Retry-After": "30"})
    return HTMLResponse(render_dashboard(facts))


def _dashboard_facts(receiver: Receiver, detailed: bool = False) -> DashboardFacts:
    assert receiver.journal is not None
    now = receiver.now()
    day_ago = format_time(now - timedelta(hours=24))
    coverage = []
    if receiver.tally is not None:
        coverage = [(video.url, video.frames, receiver.tally.coverage(video)) for video in receiver.tally.held().values()]
    return DashboardFacts(
        now=now,
        health=_health_report(receiver, detailed=detailed),
        per_hour=receiver.journal.per_hour(day_ago),
        pulls=receiver.journal.recent_pulls(),
        coverage=coverage,
        agreement=receiver.agreement.read() if receiver.agreement is not None else None,
        model=receiver.tally.model_figures() if receiver.tally is not None else None,
    )


def _agreement(receiver: Receiver) -> dict[str, float] | None:
    """The dashboard's agreement per keypoint over the latest records (a consensus: read through `AgreementSummary`)."""
    assert receiver.journal is not None
    skeleton = receiver.validator.skeleton
    return keypoint_agreement(receiver.journal.latest_records(2000), [k.id for k in skeleton.keypoints], skeleton.symmetry)


async def openapi(request: Request) -> Response:
    return JSONAnswer(openapi_document(__version__))


_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pose annotation receiver API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui" data-url="/openapi.json"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/docs.js"></script>
</body></html>
"""


async def docs(request: Request) -> Response:
    return HTMLResponse(_DOCS_PAGE)


async def root(request: Request) -> Response:
    return RedirectResponse("/docs", status_code=307)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return _error(404, f"There is nothing at {request.url.path[:100]}; labels go to POST /api/labels (see /docs).")
    if exc.status_code == 405:
        return _error(405, f"{request.method[:10]} is not allowed here; see /docs for what this address accepts.", headers=exc.headers)
    return _error(exc.status_code, str(exc.detail))


def _docs_assets() -> StaticFiles:
    """Swagger UI's files, and the script that starts it (receiver/web/assets: no inline script, as the policy requires)."""
    import swagger_ui_bundle  # type: ignore[import-untyped]

    return StaticFiles(directory=swagger_ui_bundle.swagger_ui_path, packages=[("receiver.web", "assets")])


async def _watch(worker: DeliveryWorker, every: float = 2.0) -> None:
    """Restart the delivery worker whenever its thread has died, whatever killed it."""
    while True:
        await asyncio.sleep(every)
        worker.ensure_running()


def _tokens(settings: Settings) -> TokenWatch:
    """This machine's tokens file, and with a PostgreSQL journal the revocations made on any machine."""
    if settings.journal_url:
        from receiver.access.revocations import SharedRevocations

        return TokenWatch(settings.tokens_file, revocations=SharedRevocations(settings.journal_url))
    return TokenWatch(settings.tokens_file)


def _gold(settings: Settings, validator: Validator, keypoints: list[str]) -> dict[FrameKey, tuple[Point | None, ...]]:
    """The expert points of RECEIVER_GOLD by frame, read once at start (none when it is not set)."""
    if settings.gold is None:
        return {}
    try:
        return gold_points(read_gold(settings.gold, validator), keypoints)
    except GoldError as exc:
        raise RuntimeError(f"RECEIVER_GOLD: {exc}") from exc


def _session_keys(settings: Settings, tally: FrameLedger) -> SessionKeys:
    """The keys of volunteer sessions: the configured secret, or one made once and kept in the journal's database."""
    secret = settings.session_secret or tally.volunteer_key("sessions", new_secret)
    return SessionKeys(secret, lifetime=settings.session_seconds)


def _limits(settings: Settings) -> Limits:
    """Limits shared by every process on this machine, or with a PostgreSQL journal by every receiver on it."""
    if settings.journal_url:
        from receiver.access.postgres import PostgresLimits

        return PostgresLimits(settings.journal_url, per_client=settings.rate_limit, per_hour=settings.anonymous_per_hour)
    return SharedLimits(settings.limits_path, per_client=settings.rate_limit, per_hour=settings.anonymous_per_hour)


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    validator: Validator | None = None,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    delivery_sleep: Callable[[float], object] | None = None,
    entropy: Callable[[], int] | None = None,
    metrics_dir: Path | None = None,
) -> Starlette:
    """Build the receiver from settings; the journal, store and worker start with the app's lifespan.

    Tests pass a `store` on a fake's clock and a `delivery_sleep` that moves that clock,
    and an `entropy` that seeds next-frame's choice among equally needed frames.
    `metrics_dir` is the `PROMETHEUS_MULTIPROC_DIR` of a server with several worker processes.
    """
    receiver = Receiver(
        settings=settings,
        validator=validator or Validator(allowances=video_allowances(settings.videos)),
        tokens=_tokens(settings),
        limits=_limits(settings),
        clock=clock,
        now=now,
    )
    if entropy is not None:
        receiver.entropy = entropy
    try:
        receiver.decoder = SubmissionDecoder(receiver.validator)
    except UnsupportedSchema as exc:
        log.warning("the submission schema says something the fast intake cannot check (%s); every submission takes the full path", exc)
    if any(video.decodable for video in settings.videos):
        cache = FrameCache(settings.frame_cache_dir, settings.frame_cache_mb * 1024 * 1024)
        receiver.frame_images = FrameImages(settings.videos, video_dir=settings.video_dir, cache=cache)
    # New sessions per address group, counted in a file of their own: their buckets refill at their own rate.
    session_limits = SharedLimits(settings.limits_path.with_name(settings.limits_path.name + ".sessions"), per_client=settings.session_limit)
    receiver.session_limits = session_limits
    receiver.agreement = AgreementSummary(lambda: _agreement(receiver), clock)
    metrics = Metrics(access=settings.metrics, token=settings.metrics_token, journal=lambda: receiver.journal, now=now, multiprocess_dir=metrics_dir)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Always synced, even with no videos: the tally then drops what an earlier
        # configuration left, and is rebuilt from the records if videos come back.
        keypoints = [k.id for k in receiver.validator.skeleton.keypoints]
        tally = FrameLedger(
            tally_database(settings),
            settings.videos,
            retire_after=settings.retire_after,
            keypoints=keypoints,
            symmetry=receiver.validator.skeleton.symmetry,
            cap=settings.label_cap,
            gold=_gold(settings, receiver.validator, keypoints),
            screening=settings.gold_screening,
            choice=settings.frame_choice,
        )
        # With no videos there is no frame to re-judge: admissions then skip the hook and its transaction.
        # A shared journal's tally may hold another receiver's videos, so there the hook always runs.
        counts_labels = bool(settings.videos or settings.journal_url)
        journal = open_journal(settings, on_admit=tally.admitted if counts_labels else None)
        receiver.limits.open()
        try:
            receiver.tally = tally.open()
            receiver.sessions = _session_keys(settings, tally)
            session_limits.open()
        except BaseException:
            journal.close()
            receiver.limits.close()
            raise
        receiver.journal = journal
        judge = Judge(tally, journal.wait_for_work, journal.wake).start() if counts_labels else None
        if settings.role == "intake":
            # Another process delivers (see receiver.delivery.roles); /health reads what it publishes.
            log.info("receiving; delivery is another process's")
            try:
                yield
            finally:
                if judge is not None:
                    judge.stop()
                journal.close()
                tally.close()
                receiver.limits.close()
                session_limits.close()
            return
        chosen = store or build_store(settings)
        worker = build_worker(settings, journal, chosen, sleep=delivery_sleep, observer=metrics)
        receiver.store, receiver.worker = chosen, worker
        worker.start()
        watchdog = asyncio.create_task(_watch(worker))
        log.info("receiving; %s store", chosen.name)
        try:
            yield
        finally:
            watchdog.cancel()
            worker.stop()
            if judge is not None:
                judge.stop()
            journal.close()
            tally.close()
            chosen.close()
            receiver.limits.close()
            session_limits.close()

    submissions = SubmissionEndpoint(metrics.count_submission)
    routes = [
        Route("/", root),
        Route("/api/labels", submissions, methods=["POST"]),
        Route("/api/annotations", submissions, methods=["POST"]),
        Route("/api/annotations", list_annotations, methods=["GET"]),
        Route("/api/submissions/{id}", submission, methods=["GET"], name="submission"),
        Route("/health", health, methods=["GET"]),
        Route("/dashboard", dashboard, methods=["GET"]),
        *frame_routes(),
        *session_routes(),
        Route("/metrics", metrics.endpoint, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
        Mount("/docs/assets", _docs_assets()),
        *page_routes(),
        *video_routes(settings.video_dir),
    ]
    cors = Middleware(
        CORSMiddleware,
        allow_origins=list(settings.allowed_origins),
        allow_origin_regex=settings.origin_regex,
        allow_methods=["GET", "POST"],
        allow_headers=["content-type", "authorization", SESSION_HEADER, LEASE_HEADER],
        max_age=600,
    )
    app = ReceiverApp(routes=routes, count=metrics.count_submission, middleware=[Middleware(SecurityHeaders, page=page_headers(settings)), Middleware(ForwardedFor, trusted=settings.forwarded_allow_ips, clock=clock), cors, Middleware(ConnectionCap, per_client=settings.connections_per_client, prefixes=settings, exempt=TrustedHops.parse(settings.forwarded_allow_ips).trust)], exception_handlers={HTTPException: http_error}, lifespan=lifespan)
    app.state.receiver = receiver
    return app


def app_from_environment() -> Starlette:
    """The app for each worker process of `receiver serve --workers N` (uvicorn imports it by name)."""
    import os

    from receiver.delivery.roles import prepare_process
    from receiver.settings import load_settings

    settings = load_settings(os.environ)
    # Set by `receiver serve` before the workers start: prometheus_client keeps counts in files there.
    shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    app = create_app(settings, metrics_dir=Path(shared) if shared else None)
    prepare_process(settings.role)  # once per worker process: this factory is what each one runs first
    return app
