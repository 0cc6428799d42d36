"""The embedded store: records committed into a bare git repository on this machine.

It needs no account and no network: git's own command line writes objects and
moves refs, so any git client can clone the result. Writes never go through a
working copy; blobs, trees and commits are streamed into `git fast-import`,
whose `from` loads only the parent trees a batch touches, so a batch costs the
same with 20 or 200,000 files already stored. A direct batch is one
fast-import: it answers where each record may already be (`ls`), writes the
rest in one commit and moves the branch itself, only forward from the head
the batch was built on. Branch mode moves refs with their expected old value
(`git update-ref --stdin`). Either way two writers never lose each other's
commits: the second gets `StoreConflict` and retries.

Two modes:

- ``direct``: one commit per `deliver` call on the default branch, adding
  every record not already at its path. A batch with nothing new makes no
  commit.
- ``branch``: what the GitHub store does with pull requests, locally. Each
  record gets a branch (`Record.branch`) from the default branch's head with
  one commit adding its file; the file is checked as CI would
  (`Validator.check_record`), then merged (fast-forward when the default
  branch has not moved, else a two-parent merge commit). The branch is deleted
  in the same ref transaction that merges it, so a million records do not
  leave a million refs; a record that fails the check keeps its branch, is not
  merged and is reported as `Delivered(commit=None, branch=...)`, the local
  form of a pull request left open for review.

It will not push, fetch, garbage-collect aggressively or touch any git
configuration outside the repository. Git is run with the user's and the
system's configuration files ignored, so the host's settings cannot change
what is written. Error messages are safe for clients: no paths, no git output
(that goes to the debug log).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from receiver.contract.outcomes import Delivered, Outcome, Refused
from receiver.contract.records import Record
from receiver.contract.validation import Validator
from receiver.stores.adoption import Observation, blob_id, next_step
from receiver.stores.errors import StoreConflict, StoreUnavailable
from receiver.stores.fastimport import BranchMoved, Entry, FastImport, Signature
from receiver.stores.git import UNAVAILABLE as _UNAVAILABLE
from receiver.stores.git import Git
from receiver.stores.pacing import Beat
from receiver.stores.packs import index_object_ids, packs_to_merge
from receiver.stores.pull_requests import commit_message

__all__ = ["LocalGitStore", "Mode"]

Mode = Literal["direct", "branch"]

_log = logging.getLogger(__name__)

_ZERO = "0" * 40
_PENDING = "refs/receiver/pending/"
# Every path `records.record_path` makes fits this; anything else could break
# the fast-import stream (a newline, a quote) or escape the annotations folder.
_SAFE_PATH = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*")
# Past this many (estimated) loose objects, pack them so object lookups do
# not walk crowded folders; packs are rolled as `packs.packs_to_merge` says.
_LOOSE_LIMIT = 2048

class LocalGitStore:
    """Commits records into a bare git repository, creating it when missing."""

    name = "local"

    def __init__(
        self,
        repository: Path,
        *,
        branch: str = "main",
        mode: Mode = "direct",
        author: tuple[str, str] = ("pose-receiver", "receiver@localhost"),
        clock: Callable[[], datetime] | None = None,
        validator: Validator | None = None,
        git: Git | None = None,
    ) -> None:
        if mode not in ("direct", "branch"):
            raise ValueError(f"unknown mode {mode!r}; expected 'direct' or 'branch'")
        self.repository = Path(repository)
        self.branch = branch
        self.mode: Mode = mode
        self.author = author
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._validator = validator
        self._git = git or Git()
        self._ref = f"refs/heads/{branch}"
        self._last: tuple[str, tuple[tuple[int, int, int], ...] | None] | None = None
        self._ensure_repository()
        self._check_ref_name(self._ref)

    # -- the Store protocol -------------------------------------------------

    def deliver(self, records: Sequence[Record], *, beat: Beat | None = None) -> list[Outcome]:
        """Commit the records not yet stored; one outcome per distinct record, in order.

        `beat` is called before each record's commit in branch mode (a direct commit is one step).
        """
        unique = list(_unique(records).values())
        outcomes: dict[str, Outcome] = {}
        writable: list[Record] = []
        for record in unique:
            if not _SAFE_PATH.fullmatch(record.path) or ".." in record.path.split("/"):
                outcomes[record.id] = Refused(record.id, "the record's path is not one this store writes")
            else:
                writable.append(record)
        if self.mode == "direct":
            outcomes.update(self._deliver_direct(writable) if writable else {})
        else:
            for record in writable:
                if beat is not None:
                    beat()
                outcomes[record.id] = self._deliver_branch(record)
        return [outcomes[record.id] for record in unique]

    def describe(self) -> dict[str, object]:
        """Store kind, mode and branch; never the repository's path."""
        return {"store": self.name, "mode": self.mode, "branch": self.branch}

    def pull_states(self, numbers: Sequence[int]) -> dict[int, str]:
        """No pull requests here: branches are merged as they are checked."""
        return {}

    def missing(self, records: Sequence[Record]) -> list[str]:
        """Records whose exact bytes are not on the default branch (lost if a crash beat the disk)."""
        if not records:
            return []
        _, found = self._lookup(self._ref, [path for record in records for path in (record.path, record.legacy_path)])
        return [r.id for r in records if blob_id(r.to_bytes()) not in {_oid(found.get(r.path)), _oid(found.get(r.legacy_path))}]

    def close(self) -> None:
        """Nothing stays open between calls; here for the protocol."""

    # -- direct mode --------------------------------------------------------

    def _deliver_direct(self, records: list[Record]) -> dict[str, Outcome]:
        """One fast-import for the batch: it looks up where each record may already be, then adds the rest in one commit."""
        head = self._known_head() or self._head(self._ref)
        self._last = None  # trusted again only once this batch has settled
        self._maintain()
        pending = f"{_PENDING}{uuid.uuid4().hex}"
        session = FastImport(self._git.start(self.repository, ["fast-import", "--quiet", "--done", "--cat-blob-fd=1"], env=self._identity()), pending, self._signature())
        try:
            # The message is written before the answers are known: it is right whenever every record is new.
            mark = session.begin(commit_message(records), head)
            found = session.look_up([path for record in records for path in (record.path, record.legacy_path)]) if head else {}
            outcome: dict[str, Outcome] = {}
            fresh: list[Record] = []
            for record in records:
                if record.path not in found and record.legacy_path not in found:
                    fresh.append(record)  # nothing at either path: what `next_step` would say, without hashing the bytes
                    continue
                at = _stored_at(record, found)
                step = next_step(blob_id(record.to_bytes()), Observation(on_default=_oid(found.get(at))))
                if step.kind == "done-merged":
                    outcome[record.id] = Delivered(record.id, at, head, False)
                elif step.kind == "refused":
                    outcome[record.id] = Refused(record.id, step.reason)
                else:
                    fresh.append(record)
            if fresh and len(fresh) < len(records):
                # Some were stored already: abandon the commit begun (it names them) and write one that names only the new.
                session.end()
                mark = session.begin(commit_message(fresh), head)
            if fresh:
                session.add([(record.path, record.to_bytes()) for record in fresh])
                session.end()
                # fast-import moves the branch itself (no second process): only if it
                # still names the parent's descendant, i.e. nobody moved it since `head`.
                session.publish(self._ref, mark)
            else:
                session.end()
            session.drop(pending)
            commit = session.finish(mark if fresh else None)
        except BranchMoved as moved:
            raise StoreConflict(f"the {self._short(self._ref)} branch moved while writing; retry") from moved
        finally:
            session.close()
        self._remember(commit or head)
        if commit is None:
            return outcome
        outcome.update({record.id: Delivered(record.id, record.path, commit, True) for record in fresh})
        return outcome

    def _remember(self, head: str | None) -> None:
        """Note the head this store's last batch left, with what the branch's ref files looked like just after."""
        self._last = (head, self._ref_files()) if head is not None else None

    def _known_head(self) -> str | None:
        """The head the last batch left, if the branch's ref files are exactly as they were then (else None: ask git).

        Saves a git process per batch. Any ref update, by git or anyone, replaces
        the files (a new inode and time), so a changed head is never missed; where
        refs are kept otherwise (no such files) git is always asked.
        """
        if self._last is None:
            return None
        head, files = self._last
        return head if files is not None and files == self._ref_files() else None

    def _ref_files(self) -> tuple[tuple[int, int, int], ...] | None:
        try:
            return tuple(
                (seen.st_ino, seen.st_mtime_ns, seen.st_size)
                for seen in (os.stat(self.repository / self._ref), _stat_or_absent(self.repository / "packed-refs"))
            )
        except OSError:
            return None

    # -- branch mode --------------------------------------------------------

    def _observe(self, record: Record) -> tuple[str | None, Observation, str]:
        """The default branch's head, what the store holds for the record, and the path it holds on the default branch."""
        head, found = self._lookup(self._ref, [record.path, record.legacy_path])
        tip, on_branch = self._lookup(f"refs/heads/{record.branch}", [record.path])
        # Stored before the deeper layout, a record is on the default branch at its earlier path.
        at = _stored_at(record, found)
        return head, Observation(branch_tip=tip, on_branch=_oid(on_branch.get(record.path)), on_default=_oid(found.get(at))), at

    def _deliver_branch(self, record: Record) -> Outcome:
        """The adoption plan carried out locally: the branch with its file, then the check and the merge."""
        ref = f"refs/heads/{record.branch}"
        self._check_ref_name(ref)
        expected = blob_id(record.to_bytes())
        created = False
        for _ in range(4):
            head, seen, at = self._observe(record)
            step = next_step(expected, seen)
            if step.kind == "done-merged":
                return Delivered(record.id, at, head, created, branch=record.branch)
            if step.kind == "refused":
                return Refused(record.id, step.reason)
            if step.kind in ("create-branch", "put-file"):
                tip, scratch = self._commit(
                    parent=seen.branch_tip or head, merge=None, files=[(record.path, record.to_bytes())], message=commit_message([record])
                )
                self._move([(ref, tip, seen.branch_tip)], pending=scratch)
                created = True
                continue
            # "open-pull": here, the check CI would run, then the merge.
            assert seen.branch_tip is not None
            problems = self._check(record, expected)
            if problems:
                _log.warning("record %s failed the check; left on its branch: %s", record.id, "; ".join(problems))
                return Delivered(record.id, record.path, None, created, branch=record.branch)
            pending: str | None
            if self._parent(seen.branch_tip) == head:
                merged, pending = seen.branch_tip, None
            else:
                merged, pending = self._merge_commit(head, seen.branch_tip, record, expected)
            # Deleting the branch in the same transaction: a crash leaves either
            # an unmerged branch (adopted on retry) or a merged file, never both.
            self._move([(self._ref, merged, head), (ref, None, seen.branch_tip)], pending=pending)
            return Delivered(record.id, record.path, merged, created, branch=record.branch)
        raise StoreUnavailable("delivering a record did not settle; retrying")

    def _check(self, record: Record, blob: str) -> list[str]:
        """The validator's verdict on the stored file, as CI would read it."""
        content = self._run(["cat-file", "blob", blob]).stdout
        if self._validator is None:
            self._validator = Validator()
        try:
            document = json.loads(content)
        except ValueError:
            return ["the stored file is not JSON"]
        return [str(problem) for problem in self._validator.check_record(document, filename=record.path)]

    def _parent(self, commit: str) -> str | None:
        parents = self._run(["rev-list", "--parents", "-n", "1", commit]).stdout.split()[1:]
        return parents[0].decode("ascii") if len(parents) == 1 else None

    def _merge_commit(self, head: str | None, tip: str, record: Record, blob: str) -> tuple[str, str | None]:
        message = f"Merge {record.branch}\n"
        if head is None:
            # The default branch vanished or never existed: the branch itself is the history.
            return tip, None
        return self._commit(parent=head, merge=tip, files=[(record.path, blob)], message=message)

    # -- git plumbing -------------------------------------------------------

    def _run(
        self, args: Sequence[str], *, input: bytes | None = None, ok: Iterable[int] = (0,)
    ) -> subprocess.CompletedProcess[bytes]:
        return self._git.run(self.repository, args, input=input, env=self._identity(), ok=ok)

    def _identity(self) -> dict[str, str]:
        name, email = self.author
        when = _git_date(self._clock())
        return {
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_AUTHOR_DATE": when,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_COMMITTER_DATE": when,
        }

    def _ensure_repository(self) -> None:
        """`git init --bare` when the path is missing or an empty folder.

        The repository is made beside its final place and renamed into it, so
        receiver processes starting together never see half a repository: one
        rename wins, the others find the winner's.
        """
        path = self.repository
        try:
            fresh = not path.exists() or (path.is_dir() and not any(path.iterdir()))
            if fresh:
                path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            _log.debug("cannot prepare repository folder: %s", error)
            raise StoreUnavailable(f"the repository's folder cannot be made or read ({error.strerror}); check its permissions") from error
        if fresh:
            scratch = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
            self._git.run(scratch, ["init", "--quiet", "--bare", f"--initial-branch={self.branch}"])
            try:
                os.rename(scratch, path)  # atomic; replaces a missing path or an empty folder
            except OSError:
                shutil.rmtree(scratch, ignore_errors=True)  # another process got there first
        try:
            self._git.run(path, ["rev-parse", "--git-dir"])
        except StoreUnavailable as error:
            if not path.exists() or _git_shaped(path):
                raise
            what = "a file" if not path.is_dir() else "a folder that is not empty"
            raise StoreUnavailable(
                f"its path holds {what} and no git repository; move that away (a new repository is made in its place)"
                " or set RECEIVER_LOCAL_REPO to a bare repository"
            ) from error

    def _check_ref_name(self, ref: str) -> None:
        if self._git.run(self.repository, ["check-ref-format", ref], ok=(0, 1)).returncode != 0:
            raise ValueError(f"{ref[:80]!r} is not a valid git ref name")

    def _head(self, ref: str) -> str | None:
        """The commit the ref names; None when it does not exist."""
        head = self._run(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], ok=(0, 1)).stdout.strip()
        return head.decode("ascii") if head else None

    def _signature(self) -> Signature:
        name, email = self.author
        return Signature(name, email, _git_date(self._clock()))

    def _lookup(self, ref: str, paths: Sequence[str]) -> tuple[str | None, dict[str, Entry]]:
        """The ref's commit and which paths exist in it, in one `cat-file --batch-check`."""
        oid = self._head(ref)
        if oid is None:
            return None, {}
        query = "".join(f"{oid}:{path}\n" for path in paths).encode("utf-8")
        lines = self._run(["cat-file", "--batch-check"], input=query).stdout.decode("utf-8").splitlines()
        if len(lines) != len(paths):
            _log.debug("cat-file answered %d lines for %d paths", len(lines), len(paths))
            raise StoreUnavailable(_UNAVAILABLE)
        found: dict[str, Entry] = {}
        for path, line in zip(paths, lines):
            fields = line.split()
            if len(fields) == 3 and fields[1] != "missing":
                found[path] = Entry(fields[0], fields[1])
        return oid, found

    def _commit(
        self, *, parent: str | None, merge: str | None, files: Sequence[tuple[str, bytes | str]], message: str
    ) -> tuple[str, str]:
        """Write blobs, trees and one commit with `git fast-import`: the commit's id and its pending ref.

        A `str` file is an existing blob's id, `bytes` are new content.
        fast-import must name a ref; a private, unique one keeps the real
        branch untouched until `_move` publishes the commit and drops it.
        """
        self._maintain()
        pending = f"{_PENDING}{uuid.uuid4().hex}"
        name, email = self.author
        when = _git_date(self._clock())
        text = message.encode("utf-8")
        out: list[bytes] = [
            b"feature done\n",
            f"commit {pending}\nmark :1\n".encode(),
            f"author {name} <{email}> {when}\ncommitter {name} <{email}> {when}\n".encode("utf-8"),
            b"data %d\n%s\n" % (len(text), text),
        ]
        if parent is not None:
            out.append(f"from {parent}\n".encode())
        if merge is not None:
            out.append(f"merge {merge}\n".encode())
        for path, content in files:
            if isinstance(content, str):
                out.append(f"M 100644 {content} {path}\n".encode())
            else:
                out.append(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(content), content))
        out.append(b"\nget-mark :1\ndone\n")
        done = self._run(["fast-import", "--quiet", "--done"], input=b"".join(out))
        commit = done.stdout.decode("ascii").strip()
        if not re.fullmatch(r"[0-9a-f]{40}", commit):
            _log.debug("fast-import answered %r", done.stdout[:200])
            raise StoreUnavailable(_UNAVAILABLE)
        return commit, pending

    def _move(self, updates: Sequence[tuple[str, str | None, str | None]], *, pending: str | None) -> None:
        """Apply (ref, new, old) in one transaction; None means absent. Drops the pending ref either way."""
        lines = [f"update {ref} {new or _ZERO} {old or _ZERO}\n" for ref, new, old in updates]
        cleanup = [f"delete {pending}\n"] if pending is not None else []
        try:
            self._run(["update-ref", "--stdin"], input="".join(lines + cleanup).encode("utf-8"))
        except StoreUnavailable:
            if pending is not None:
                self._run(["update-ref", "-d", pending], ok=(0, 1))
            for ref, _new, old in updates:
                now = self._run(["rev-parse", "--verify", "--quiet", ref], ok=(0, 1)).stdout.strip().decode("ascii")
                if now != (old or ""):
                    raise StoreConflict(f"the {self._short(ref)} branch moved while writing; retry") from None
            raise

    def _short(self, ref: str) -> str:
        return ref.removeprefix("refs/heads/")

    def _maintain(self) -> None:
        """Roll similar-sized packs together once enough pile up, and pack loose objects once there are many.

        fast-import leaves one pack per batch, or loose objects for a batch of
        under a hundred objects (one record is about three). Counting one of
        the 256 loose-object folders estimates the rest, as `git gc --auto` does.
        Packs are rolled as `packs.packs_to_merge` decides, with no delta search
        (blobs keep the deltas fast-import gave them; searching deltas for the
        trees was half the CPU). Every object of the rolled packs is kept,
        reachable or not, so a commit not yet on any branch is never lost.
        """
        folder = self.repository / "objects" / "pack"
        try:
            names = {entry.name for entry in os.scandir(folder)}
            sizes = {
                name: os.stat(folder / name).st_size
                for name in names
                if name.endswith(".pack") and f"{name[:-5]}.keep" not in names and f"{name[:-5]}.idx" in names
            }
            sample = self.repository / "objects" / "17"
            loose = 256 * sum(1 for _ in os.scandir(sample)) if sample.is_dir() else 0
        except OSError:
            return
        if loose > _LOOSE_LIMIT:
            self._run(["repack", "-d", "-q", "--window=0"])
        merge = packs_to_merge(sizes)
        if not merge:
            return
        try:
            ids = [oid for name in merge for oid in index_object_ids((folder / f"{name[:-5]}.idx").read_bytes())]
        except (OSError, ValueError) as error:
            _log.debug("packs not rolled up: %s", error)
            return
        self._run(
            ["pack-objects", "--window=0", "--delta-base-offset", "-q", str(folder / "pack")],
            input=b"\n".join(ids) + b"\n",
        )
        # The new pack is on disk (fsynced) before the rolled ones go; a crash
        # between leaves objects in two packs, which the next roll-up folds.
        for name in merge:
            for suffix in (".idx", ".rev", ".bitmap", ".pack"):
                try:
                    os.unlink(folder / f"{name[:-5]}{suffix}")
                except FileNotFoundError:
                    pass
                except OSError as error:
                    _log.debug("a rolled-up pack could not be removed: %s", error)


def _stat_or_absent(path: Path) -> os.stat_result:
    """`os.stat`, with an absent file as all zeros (packed-refs exists only once refs were packed)."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        return os.stat_result((0,) * 10)


def _git_shaped(path: Path) -> bool:
    """Whether `path` looks like a bare repository (git's own test), damaged or not, rather than some other file or folder."""
    return path.is_dir() and (path / "HEAD").is_file() and (path / "objects").is_dir()


def _oid(found: Entry | None) -> str | None:
    """The blob id of what was found at a path; a folder or a link there is "something else" (its id never matches)."""
    if found is None:
        return None
    return found.oid if found.kind == "blob" else f"{found.kind}:{found.oid}"


def _stored_at(record: Record, found: Mapping[str, Entry]) -> str:
    """The record's path, unless only its earlier layout's path holds something: then that one."""
    return record.legacy_path if record.path not in found and record.legacy_path in found else record.path


def _unique(records: Sequence[Record]) -> dict[str, Record]:
    """First record of each id, in order."""
    unique: dict[str, Record] = {}
    for record in records:
        unique.setdefault(record.id, record)
    return unique



def _git_date(moment: datetime) -> str:
    """Git's raw date: seconds since the epoch and the UTC offset."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    offset = moment.utcoffset() or (moment - moment)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{int(moment.timestamp())} {sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
