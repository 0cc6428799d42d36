"""Running the git command line against one repository, with the host's configuration ignored.

Both users of git go through here: the local store, which writes objects and
moves refs, and the export sources, which read a repository's default branch.
Neither the user's nor the system's git configuration, nor GIT_* variables
that would point git at another repository, can change what is written or
read; git's messages are in the C locale. Errors are `StoreUnavailable` with a
sentence safe for clients: git's own output goes to the debug log only.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from receiver.stores.errors import StoreUnavailable

__all__ = ["Git", "UNAVAILABLE", "git_environment"]

_log = logging.getLogger("receiver.stores.local")

UNAVAILABLE = "the local git repository could not be read or written; see the receiver's log"

_TUNABLES = "GLIBC_TUNABLES"


class Git:
    """Runs the git command line against one repository, with a clean environment.

    The one place the local store starts processes: tests pass a subclass to
    watch or interfere with commands (a ref moved by another writer).
    """

    def __init__(self, executable: str = "git", *, timeout: float = 300.0) -> None:
        self.executable = executable
        self.timeout = timeout

    def run(
        self,
        repository: Path,
        args: Sequence[str],
        *,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        ok: Iterable[int] = (0,),
    ) -> subprocess.CompletedProcess[bytes]:
        """Run `git --git-dir=<repository> <args>`; StoreUnavailable unless the exit code is in `ok`."""
        command = [self.executable, f"--git-dir={repository}", *args]
        try:
            done = subprocess.run(
                command,
                input=input,
                capture_output=True,
                env=git_environment(env or {}),
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError as error:
            _log.debug("git executable %r not found", self.executable)
            raise StoreUnavailable("git is not installed or not on the receiver's PATH") from error
        except subprocess.TimeoutExpired as error:
            _log.debug("git %s timed out after %ss", args[0], self.timeout)
            raise StoreUnavailable("the local git repository did not answer in time; retry later") from error
        except OSError as error:
            _log.debug("git %s could not start: %s", args[0], error)
            raise StoreUnavailable(UNAVAILABLE) from error
        if done.returncode not in tuple(ok):
            _log.debug(
                "git %s exited %s: %s", args[0], done.returncode, done.stderr.decode("utf-8", "replace").strip()
            )
            raise StoreUnavailable(UNAVAILABLE)
        return done


    def start(self, repository: Path, args: Sequence[str], *, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start `git --git-dir=<repository> <args>` with a pipe to each of its standard streams, for a conversation."""
        command = [self.executable, f"--git-dir={repository}", *args]
        try:
            return subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=git_environment(env or {})
            )
        except FileNotFoundError as error:
            _log.debug("git executable %r not found", self.executable)
            raise StoreUnavailable("git is not installed or not on the receiver's PATH") from error
        except OSError as error:
            _log.debug("git %s could not start: %s", args[0], error)
            raise StoreUnavailable(UNAVAILABLE) from error


def git_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The inherited environment minus anything that would redirect git, plus `extra`."""
    # GIT_DIR, GIT_INDEX_FILE, GIT_OBJECT_DIRECTORY, GIT_CONFIG_PARAMETERS and
    # friends would point our plumbing at someone else's repository or settings.
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update(
        {
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
            # Objects and refs reach the disk before git reports success, so
            # "delivered" in the journal never outlives the commit it names
            # (git fsyncs packs but not refs unless asked).
            "GIT_CONFIG_COUNT": "3",
            "GIT_CONFIG_KEY_0": "core.fsync",
            "GIT_CONFIG_VALUE_0": "committed",
            "GIT_CONFIG_KEY_1": "core.fsyncMethod",
            "GIT_CONFIG_VALUE_1": "fsync",
            # Packs are written without zlib: a batch is a few thousand small
            # objects, and compressing each one was half of fast-import's CPU
            # (39 of 78 us per record), for 14% less pack (537 against 613
            # bytes per record: a blob is stored as a delta of the one before,
            # and trees are mostly object ids, which do not compress).
            "GIT_CONFIG_KEY_2": "pack.compression",
            "GIT_CONFIG_VALUE_2": "0",
        }
    )
    # zlib sets up a fresh compressor for every object git writes; with glibc's
    # default trim threshold each one's memory goes back to the kernel and
    # comes back zeroed, page by page: half of fast-import's time. Keeping
    # freed memory in the process cut a 200-record batch from 9,800 page
    # faults to 650 and its time by half. Other C libraries ignore the setting.
    tunables = [env[_TUNABLES]] if env.get(_TUNABLES) else []
    env[_TUNABLES] = ":".join([*tunables, "glibc.malloc.trim_threshold=67108864"])
    env.update(extra or {})
    return env
