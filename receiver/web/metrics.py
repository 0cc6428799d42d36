"""Prometheus metrics: what the receiver took in, what it delivered, what waits, and `GET /metrics`.

Two kinds of numbers, kept two ways:

- Events are counted where they happen: submissions by the process that
  answered them, deliveries and failures by the process that delivers, the
  delivery latency when the worker marks records delivered. With several
  worker processes (`receiver serve` with `RECEIVER_WORKERS` > 1) these live
  in prometheus_client's multiprocess files, in a folder the server wipes at
  start and names in `PROMETHEUS_MULTIPROC_DIR`; a scrape sums every
  process's files, so any process answers with the same totals.
- States are read at scrape time from the journal, which every process
  shares: the backlog, the age of the oldest queued record, pull requests
  still open, and the GitHub write budget the delivering process last
  published. Reading them then needs no per-process gauge and cannot go stale
  in a process that no longer delivers.

The endpoint is off, public or behind a bearer token (`RECEIVER_METRICS`);
it never shows a token, a path or a volunteer's text. What it will not do:
count requests refused before the submit handler ran (CORS preflights, bad
routes), or keep counts across restarts of a single-process server.
"""

from __future__ import annotations

import hmac
import logging
import shutil
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from receiver.journal import Journal, JournalError

__all__ = ["Metrics", "JournalCollector", "LATENCY_BUCKETS", "bearer_matches", "prepare_multiprocess_dir"]

log = logging.getLogger("receiver.metrics")


#: Seconds from receipt to delivery: a local store takes well under a second, paced GitHub pull requests minutes to hours.
LATENCY_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0)


def prepare_multiprocess_dir(directory: Path) -> Path:
    """Empty (or create) the folder the worker processes count in, and return its absolute path.

    Counts left by a previous run would be summed into this run's totals, so
    the folder is wiped before any worker starts.
    """
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    return directory.resolve()


def bearer_matches(header: str | None, token: str) -> bool:
    """Whether an Authorization header carries `token` as a bearer token; never when no token is configured.

    /metrics and the details of /health and /dashboard are shown to the same holder, checked the same way.
    """
    scheme, _, presented = (header or "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode("utf-8"), token.encode("utf-8"))


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


class JournalCollector:
    """Gauges read from the journal when scraped; nothing while the journal is not open."""

    def __init__(self, journal: Callable[[], Journal | None], now: Callable[[], datetime]) -> None:
        self.journal = journal
        self.now = now

    def collect(self) -> Iterable[Metric]:
        journal = self.journal()
        if journal is None:
            return
        try:
            families = list(self._journal(journal))
        except JournalError as exc:
            # A journal closing at shutdown, or locked past its timeout: the counters still answer.
            log.warning("metrics read nothing from the journal: %s", exc)
            return
        yield from families

    def _journal(self, journal: Journal) -> Iterable[Metric]:
        counts = journal.counts()
        yield GaugeMetricFamily("receiver_journal_backlog", "Records in the journal waiting to be delivered.", value=counts["queued"])
        by_state = GaugeMetricFamily("receiver_journal_records", "Records in the journal, by state.", labels=["state"])
        for state, count in sorted(counts.items()):
            by_state.add_metric([state], count)
        yield by_state
        oldest = journal.oldest_queued()
        age = 0.0 if oldest is None else max(0.0, self.now().timestamp() - _epoch(oldest))
        yield GaugeMetricFamily(
            "receiver_journal_oldest_queued_age_seconds", "Seconds the oldest queued record has waited (0 when none waits).", value=age
        )
        yield GaugeMetricFamily("receiver_pull_requests_open", "Pull requests of delivered records not yet merged or closed.", value=len(journal.open_pulls()))
        yield from self._store(journal)

    def _store(self, journal: Journal) -> Iterable[Metric]:
        """The GitHub figures the delivering process last published (every few seconds), whichever process is scraped."""
        published = journal.delivery_status()
        store = published[0].get("store", {}) if published is not None else {}
        if store.get("name") != "github":
            return
        if isinstance(store.get("writes_sent"), int):
            yield CounterMetricFamily(
                "receiver_github_writes_sent", "Content-creating GitHub requests sent by the delivering process since it started.", value=store["writes_sent"]
            )
        if isinstance(store.get("writes_left_this_hour"), int):
            yield GaugeMetricFamily(
                "receiver_github_writes_left_this_hour", "Content-creating GitHub requests the pacer still allows in the last hour's window.",
                value=store["writes_left_this_hour"],
            )


class Metrics:
    """The receiver's metrics, their registry and the `/metrics` endpoint; one per app.

    `multiprocess_dir` is the `PROMETHEUS_MULTIPROC_DIR` of a server with
    several worker processes; prometheus_client then keeps the counters in
    files there (it chose to when it was imported, from the same variable), and
    a scrape sums them through a `MultiProcessCollector`. Without it the
    counters live in this app's own registry.
    """

    def __init__(
        self,
        *,
        access: str,
        token: str,
        journal: Callable[[], Journal | None],
        now: Callable[[], datetime],
        multiprocess_dir: Path | None = None,
    ) -> None:
        self.access = access
        self._token = token
        self.registry = CollectorRegistry()
        if multiprocess_dir is not None:
            MultiProcessCollector(self.registry, path=str(multiprocess_dir))  # type: ignore[no-untyped-call]
        # In multiprocess mode the counters are registered nowhere: their files are what a scrape reads.
        owner = None if multiprocess_dir is not None else self.registry
        self.accepted = Counter("receiver_submissions_accepted", "Submissions admitted to the journal as new records.", registry=owner)
        self.duplicates = Counter("receiver_submissions_duplicates", "Submissions that repeated a record already received.", registry=owner)
        self.refused = Counter("receiver_submissions_refused", "Submissions answered with an error, by HTTP status.", ["status"], registry=owner)
        self.delivered = Counter("receiver_records_delivered", "Records the store reported delivered (or held for review).", registry=owner)
        self.failed = Counter("receiver_records_failed", "Records marked failed after the store refused them too often.", registry=owner)
        self.latency = Histogram(
            "receiver_delivery_latency_seconds", "Seconds from a record's receipt to its delivery.", buckets=LATENCY_BUCKETS, registry=owner
        )
        self.registry.register(JournalCollector(journal, now))

    # -- what the app and the delivery worker report ----------------------------

    def count_submission(self, status: int) -> None:
        """Count one answer of the submit handler: 202 admitted a new record, 200 found it already received."""
        if status == 202:
            self.accepted.inc()
        elif status == 200:
            self.duplicates.inc()
        elif status >= 400:
            self.refused.labels(status=str(status)).inc()

    def records_delivered(self, latencies: Sequence[float]) -> None:
        """The worker marked records delivered; `latencies` are their seconds since receipt."""
        self.delivered.inc(len(latencies))
        for seconds in latencies:
            self.latency.observe(max(0.0, seconds))

    def records_failed(self, count: int) -> None:
        self.failed.inc(count)

    # -- the endpoint -------------------------------------------------------------

    def render(self) -> bytes:
        """Every metric in Prometheus' text format."""
        return generate_latest(self.registry)

    def _authorised(self, header: str | None) -> bool:
        return bearer_matches(header, self._token)

    async def endpoint(self, request: Request) -> Response:
        """`GET /metrics`: 404 when off, 401 without the right token in token mode, else the scrape."""
        if self.access == "off" or (self.access == "token" and not self._token):
            return _refusal(404, "Metrics are off on this receiver; its operators can turn them on with RECEIVER_METRICS and RECEIVER_METRICS_TOKEN.")
        if self.access == "token" and not self._authorised(request.headers.get("authorization")):
            return _refusal(401, "Metrics need the receiver's metrics token: send Authorization: Bearer <token>.", headers={"WWW-Authenticate": "Bearer"})
        # The journal is read under the lock the delivery worker writes under: off the event loop.
        body = await run_in_threadpool(self.render)
        return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _refusal(status: int, sentence: str, *, headers: dict[str, str] | None = None) -> JSONResponse:
    """The receiver's error shape (`error`, `details`), as every other answer has."""
    return JSONResponse({"error": sentence, "details": [sentence]}, status_code=status, headers=headers)
