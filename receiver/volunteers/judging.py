"""The thread that judges queued frames as soon as the journal admits their labels, outside the admitting transaction.

Admission only queues a frame (`FrameLedger.admitted`); this thread drains the
queue after each group commit of its own process (the journal's wake-up), and
every `poll` seconds for labels other processes or receivers admitted. Reads
of the tally drain the queue too, so nothing waits on this thread to be right:
it keeps the queue short, so that reads seldom find work to do.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from receiver.journal.connector import JournalUnavailable
from receiver.volunteers.frames import FrameLedger

__all__ = ["Judge"]

log = logging.getLogger("receiver.frames")


class Judge:
    """Runs `tally.judge_pending` in a thread of its own; `wait(generation, timeout)` blocks until the journal admits more."""

    def __init__(self, tally: FrameLedger, wait: Callable[[int, float], int], wake: Callable[[], None], *, poll: float = 1.0) -> None:
        self.tally = tally
        self._wait, self._wake, self._poll = wait, wake, poll
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="receiver-judge", daemon=True)

    def start(self) -> Judge:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._wake()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        generation = -1
        while not self._stopping.is_set():
            try:
                self.tally.judge_pending()
            except JournalUnavailable as exc:
                log.warning("frame tally: queued frames wait to be judged (%s)", exc)
            except Exception:
                # A frame that cannot be judged must not stop the others; it stays queued and is logged each round.
                log.exception("frame tally: judging queued frames failed")
            generation = self._wait(generation, self._poll)
