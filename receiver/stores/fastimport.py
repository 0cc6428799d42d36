"""One conversation with `git fast-import`: look paths up in a commit being built, then add files to it.

A batch of records costs the local store one git process: fast-import
answers `ls` for every path the batch may already occupy from the trees it
loads anyway to add the files, and keeps each tree it loaded for the rest of
the batch, so nothing is read twice and no second process walks the same trees.
Answers come back on fast-import's standard output (`--cat-blob-fd=1`),
read in step with the questions so neither side's pipe fills.

This module speaks fast-import's stream format and nothing else: which paths
to ask about and what to write is the store's decision. Paths must need no
quoting (the store only writes paths of letters, digits, `_`, `.`, `-` and `/`).
"""

from __future__ import annotations

import logging
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from receiver.stores.errors import StoreConflict, StoreUnavailable
from receiver.stores.git import UNAVAILABLE

__all__ = ["BranchMoved", "Entry", "FastImport", "Signature"]

_log = logging.getLogger("receiver.stores.local")

#: Questions sent before reading their answers: 256 answers stay far below a pipe's 64 KiB.
_CHUNK = 256
_COMMIT_ID = re.compile(rb"[0-9a-f]{40}")


class BranchMoved(StoreConflict):
    """git refused to move a branch published with `FastImport.publish`: someone else moved it first."""


@dataclass(frozen=True)
class Entry:
    """What a path holds in the commit being built: a blob, a tree or a submodule, by id."""

    oid: str
    kind: str


@dataclass(frozen=True)
class Signature:
    """Author and committer of the commits written: name, email and git's raw date."""

    name: str
    email: str
    when: str


class FastImport:
    """A running `git fast-import --done --cat-blob-fd=1`; `close` (or `finish`) always reaps it.

    Commits go to `ref` (a private, unique ref, dropped with `drop`);
    `publish` moves the real branch at the end. Each `begin` starts a commit
    whose mark is its number, so a batch can abandon a commit it already
    began (the message named records that turned out to be stored) and begin
    another from the same parent.
    """

    def __init__(self, process: subprocess.Popen[bytes], ref: str, signature: Signature) -> None:
        self._process = process
        self.ref = ref
        self._signature = signature
        self._marks = 0
        self._write(b"feature done\n")

    def begin(self, message: str, parent: str | None) -> int:
        """Start a commit on `ref` with `parent` as its first parent (none: a root commit); its mark."""
        self._marks += 1
        who = self._signature
        text = message.encode("utf-8")
        head = [
            f"commit {self.ref}\nmark :{self._marks}\n".encode(),
            f"author {who.name} <{who.email}> {who.when}\ncommitter {who.name} <{who.email}> {who.when}\n".encode("utf-8"),
            b"data %d\n%s\n" % (len(text), text),
        ]
        if parent is not None:
            head.append(f"from {parent}\n".encode())
        self._write(b"".join(head))
        return self._marks

    def look_up(self, paths: Sequence[str]) -> dict[str, Entry]:
        """What each path holds in the commit begun last (its parent's tree plus what was added): only the paths that exist."""
        found: dict[str, Entry] = {}
        for start in range(0, len(paths), _CHUNK):
            chunk = paths[start : start + _CHUNK]
            self._write(b"".join(b'ls "%s"\n' % path.encode() for path in chunk), flush=True)
            for path in chunk:
                line = self._read_line()
                if line.startswith(b"missing "):
                    continue
                meta, _, named = line.partition(b"\t")
                fields = meta.split()
                if len(fields) != 3 or named.decode("utf-8", "replace") != path:
                    _log.debug("fast-import answered %r to ls %s", line[:200], path)
                    raise StoreUnavailable(UNAVAILABLE)
                found[path] = Entry(fields[2].decode("ascii"), fields[1].decode("ascii"))
        return found

    def add(self, files: Sequence[tuple[str, bytes | str]]) -> None:
        """Put files into the commit begun last: `bytes` are new content, a `str` an existing blob's id."""
        out: list[bytes] = []
        for path, content in files:
            if isinstance(content, str):
                out.append(b"M 100644 %s %s\n" % (content.encode(), path.encode()))
            else:
                out.append(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(content), content))
        self._write(b"".join(out))

    def end(self) -> None:
        """End the commit begun last."""
        self._write(b"\n")

    def publish(self, branch: str, mark: int) -> None:
        """Move `branch` to the commit with `mark` when the stream ends, only if it still names an ancestor of it.

        git refuses the move when the branch moved since the commit's parent
        was read (the new commit would not contain it): `finish` then raises
        `BranchMoved`, and nothing else is lost but the unreferenced objects.
        """
        self._write(b"reset %s\nfrom :%d\n\n" % (branch.encode(), mark))

    def drop(self, ref: str) -> None:
        """Delete `ref` when the stream ends (the scratch ref the commits were built on)."""
        self._write(b"reset %s\nfrom %s\n\n" % (ref.encode(), b"0" * 40))

    def finish(self, mark: int | None) -> str | None:
        """End the stream (after `end`); the id of the commit with `mark` (None: no id wanted). StoreUnavailable if fast-import failed."""
        self._write((b"get-mark :%d\n" % mark if mark is not None else b"") + b"done\n", flush=True)
        commit = self._read_line() if mark is not None else b""
        said = self.close()
        if self._process.returncode != 0 and b"Not updating " in said:
            raise BranchMoved("a branch moved while fast-import wrote; retry")
        if self._process.returncode != 0 or (mark is not None and not _COMMIT_ID.fullmatch(commit)):
            _log.debug("fast-import exited %s, answered %r", self._process.returncode, commit[:200])
            raise StoreUnavailable(UNAVAILABLE)
        return commit.decode("ascii") if mark is not None else None

    def close(self) -> bytes:
        """Stop talking and reap the process (killing it if it is still waiting for input); what it said on its error stream."""
        process = self._process
        if process.returncode is not None:
            return b""
        try:
            # communicate flushes and closes its input (a broken pipe there is ignored) and reads what is left.
            _out, err = process.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            process.kill()
            _out, err = process.communicate()
        if process.returncode != 0:
            _log.debug("git fast-import exited %s: %s", process.returncode, err.decode("utf-8", "replace").strip()[:2000])
        return err

    def _write(self, data: bytes, *, flush: bool = False) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        try:
            stdin.write(data)
            if flush:
                stdin.flush()
        except OSError as error:  # a broken pipe: fast-import stopped reading
            self.close()
            raise StoreUnavailable(UNAVAILABLE) from error

    def _read_line(self) -> bytes:
        stdout = self._process.stdout
        assert stdout is not None
        line = stdout.readline()
        if not line.endswith(b"\n"):
            self.close()
            _log.debug("fast-import stopped answering")
            raise StoreUnavailable(UNAVAILABLE)
        return line[:-1]
