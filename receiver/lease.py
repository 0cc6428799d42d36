"""Which of several receiver processes on one machine delivers: the one holding an exclusive lock on a file."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

__all__ = ["DeliveryLease"]


class DeliveryLease:
    """An exclusive `flock` on a file beside the journal.

    The operating system releases the lock when its holder dies, however it
    dies, so another process takes over at its next try.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
