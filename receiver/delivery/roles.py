"""Which part of the receiver a process plays, and the deliverer that `receiver serve` keeps running.

Roles (the `role` setting, `receiver serve --role`):

- `all`: admit, answer and deliver; the default. `receiver serve` plays it with intake
  processes and a deliver process beside them (with SQLite always; with PostgreSQL when
  `RECEIVER_WORKERS` is above 1); an app built by `create_app` delivers from a thread.
- `intake`: admits and answers over HTTP; no delivery thread. Its /health reads the
  status the delivering process publishes in the journal, so it says `dead` when that
  status is missing or older than HEARTBEAT_STALE, and names the deliverer.
- `deliver`: drains the journal into the store, and nothing else. It has no HTTP
  listener: its health is what it publishes in the journal (state, heartbeat, and its
  name `host:pid`), which every intake process's /health shows. Among several
  deliverers, the one holding the delivery lease delivers; the others wait to take over.

`receiver serve` runs `RECEIVER_WORKERS` intake processes (uvicorn's workers, or itself
for one) and spawns one deliver process that it supervises: restarted whenever it
exits, until serve itself stops. Delivery thus never shares a GIL with intake.

This module does not decide anything about delivery itself (that is `delivery`).
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Protocol

from receiver.delivery.lease import LeaseSite, delivery_lease
from receiver.delivery.worker import HEARTBEAT, DeliveryObserver, DeliveryWorker, process_name
from receiver.journal import Journal, JournalError
from receiver.journal.engines import open_journal
from receiver.stores import Store, StoreError, StoreSettings, build_store

__all__ = ["ROLES", "DeliverySettings", "build_worker", "run_deliverer", "DelivererSupervisor", "prepare_process"]

log = logging.getLogger("receiver.roles")

ROLES = ("all", "intake", "deliver")

#: How often a deliver process checks on its worker thread and on the serve process that spawned it.
_WATCH_EVERY = 2.0
#: Longest pause between two restarts of a deliver process that keeps exiting.
_MOST_RESTART_WAIT = 30.0


#: How long a thread of an intake process waits for the GIL before the running one hands it over (CPython's default is 5 ms).
INTAKE_SWITCH_INTERVAL = 0.0005
#: Allocations between two collections of the youngest generation (CPython's default is 700).
YOUNG_COLLECTION_EVERY = 10_000


def prepare_process(role: str) -> None:
    """Tune a `receiver serve` process of this role, once what it serves with is built.

    The garbage collector: everything built at start (modules, schemas, the app)
    lives as long as the process, so it is frozen out of every later collection,
    and the youngest generation is collected every 10,000 allocations rather than
    700 (a submission allocates a few hundred containers). Under 64 clients the
    collections re-scanning that heap were the receiver's p99: 54 ms before, 29 ms after.

    In a process that only takes submissions in (`role` intake), the GIL is also
    handed over within half a millisecond. Its other threads only wait on I/O
    (the journal's commits): one back from an fsync waited for the GIL while the
    event loop ran, and every answer of its group waited with it, at CPython's
    5 ms most of a request's latency under load. No CPU-bound thread here pays
    for the shorter turns.
    """
    if role == "intake":
        sys.setswitchinterval(INTAKE_SWITCH_INTERVAL)
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, max(middle, 20), max(oldest, 20))


class DeliverySettings(StoreSettings, LeaseSite, Protocol):
    """What a deliverer is built from: its store, where its journal is, and how it batches (the settings carry it)."""

    @property
    def batch_size(self) -> int: ...

    @property
    def batch_seconds(self) -> float: ...

    @property
    def max_attempts(self) -> int: ...


def build_worker(
    settings: DeliverySettings,
    journal: Journal,
    store: Store,
    *,
    sleep: Callable[[float], object] | None = None,
    observer: DeliveryObserver | None = None,
) -> DeliveryWorker:
    """The delivery worker for these settings, holding the journal's delivery lease while it delivers."""
    linger = settings.batch_seconds if settings.store == "github" and settings.delivery_mode == "batch" else 0.0
    return DeliveryWorker(
        journal,
        store,
        batch_size=settings.batch_size,
        max_refusals=settings.max_attempts,
        linger=linger,
        lease=delivery_lease(settings),
        sleep=sleep,
        observer=observer,
    )


def _parent_gone(parent: int | None) -> bool:
    return parent is not None and os.getppid() != parent


def run_deliverer(
    settings: DeliverySettings,
    *,
    stop: threading.Event | None = None,
    parent: int | None = None,
    observer: Callable[[Journal], DeliveryObserver | None] = lambda journal: None,
) -> int:
    """Deliver until SIGINT or SIGTERM (or `stop`), or until the serve process `parent` is gone; return an exit code.

    The worker thread is restarted whenever it dies, as in the app's lifespan.
    `observer` gives what counts the deliveries, once the journal is open.
    """
    stop = stop or threading.Event()

    def stopping(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, stopping)
    if not settings.journal_url:
        settings.journal_path.parent.mkdir(parents=True, exist_ok=True)
    journal = open_journal(settings)
    try:
        store = _open_store(settings, journal, stop, parent)
    except BaseException:
        journal.close()
        raise
    if store is None:
        journal.close()
        return 0
    worker = build_worker(settings, journal, store, observer=observer(journal))
    worker.start()
    log.info("delivering to the %s store as %s", store.name, process_name())
    try:
        while not stop.wait(_WATCH_EVERY):
            if _parent_gone(parent):
                log.warning("the serve process that started this deliverer is gone; stopping")
                break
            worker.ensure_running()
    finally:
        worker.stop()
        journal.close()
        store.close()
    return 0


def _open_store(settings: DeliverySettings, journal: Journal, stop: threading.Event, parent: int | None) -> Store | None:
    """The store once it opens, or None if told to stop first.

    A store that cannot be opened (a folder that is not a repository, a key
    file gone) is tried again with a growing pause rather than ending the
    process, and the reason is published, while this process holds the
    delivery lease, for every receiver's /health to show.
    """
    lease = delivery_lease(settings)
    wait, said = 0.5, None
    try:
        while True:
            try:
                return build_store(settings)
            except (StoreError, ValueError) as exc:
                reason = f"the {settings.store} store cannot be opened: {exc}"
                if reason != said:
                    log.error("%s; trying again until it can", reason)
                    said = reason
                if lease.try_acquire():
                    _publish_unopened(journal, settings.store, reason, wait, lease.holder)
            if stop.wait(wait) or _parent_gone(parent):
                return None
            wait = min(HEARTBEAT, wait * 2)
    finally:
        lease.release()


def _publish_unopened(journal: Journal, store: str, reason: str, retry_in: float, holder: str) -> None:
    try:
        journal.set_delivery_status(
            {
                "state": "retrying",
                "last_error": reason,
                "retry_in_seconds": retry_in,
                "last_delivered_at": journal.last_delivered_at(),
                "store": {"name": store},
                "deliverer": holder,
            }
        )
    except JournalError as exc:
        log.warning("why the store cannot be opened could not be published in the journal (%s)", exc)


class DelivererSupervisor:
    """Keep one `receiver serve --role deliver` child running beside serve's intake processes.

    A child that exits for any reason (a crash, kill -9) is started again; one that
    keeps exiting is restarted with a growing pause, so a broken setup does not spin.
    """

    def __init__(self, command: Sequence[str], environ: Mapping[str, str], *, cwd: Path | None = None) -> None:
        self.command = list(command)
        self.environ = dict(environ)
        self.cwd = cwd
        self.restarts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_serve(cls, config: Path | None, environ: Mapping[str, str]) -> DelivererSupervisor:
        """The deliverer of this serve process: same settings, role deliver, watching this process."""
        command = [sys.executable, "-m", "receiver", "serve", "--role", "deliver", "--parent-pid", str(os.getpid())]
        if config is not None:
            command += ["--config", str(config.resolve())]
        child_environ = {k: v for k, v in environ.items() if k not in ("RECEIVER_ROLE", "RECEIVER_WORKERS")}
        return cls(command, child_environ)

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self) -> DelivererSupervisor:
        self._stop.clear()
        self._spawn()
        self._thread = threading.Thread(target=self._watch, name="deliverer-supervisor", daemon=True)
        self._thread.start()
        return self

    def _spawn(self) -> None:
        with self._lock:
            if self._stop.is_set():
                return
            # Its own session: a terminal's Ctrl-C reaches serve alone, which then stops the
            # deliverer itself, rather than seeing it exit and starting it again mid-shutdown.
            self._process = subprocess.Popen(self.command, env=self.environ, cwd=self.cwd, start_new_session=True)
        log.info("started the deliver process (pid %d)", self._process.pid)

    def _watch(self) -> None:
        wait = 0.5
        while not self._stop.is_set():
            process = self._process
            assert process is not None
            started = time.monotonic()
            code = process.wait()
            if self._stop.is_set():
                return
            # A deliverer that ran for a while before it died is restarted at once; one that keeps dying waits longer each time.
            wait = 0.5 if time.monotonic() - started > _MOST_RESTART_WAIT else wait
            self.restarts += 1
            log.error("the deliver process (pid %d) exited with %d; starting it again in %.1f s", process.pid, code, wait)
            if self._stop.wait(wait):
                return
            wait = min(_MOST_RESTART_WAIT, wait * 2)
            self._spawn()

    def stop(self, timeout: float = 30.0) -> None:
        with self._lock:
            self._stop.set()
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
