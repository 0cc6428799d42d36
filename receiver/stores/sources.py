"""Records read back out of where they are kept: an `annotations/` folder, or a git repository's default branch.

A folder is walked for `*.json` files. A git repository (bare, or a working
copy's `.git`) is read with plumbing only, `git ls-tree -r` for the paths under
`annotations/` and one `git cat-file --batch` for their contents, so what is
exported is exactly what was committed, without a checkout. Every file is
parsed within the same bounds as an HTTP body and checked with
`Validator.check_record`; a file that fails is kept as a `Skipped` with its
first problem, and the run goes on.

It reads; it never writes to the repository it reads, or follows other
branches than the default one (`HEAD`). The one exception is `mirror`: a
GitHub-mode receiver has no local repository, so `export` and `consensus`
first bring the data repository's default branch into a bare copy in a cache
folder (`git clone`, then `git fetch` on later runs) and read that copy.
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from receiver.contract.parsing import MAX_DOCUMENT_BYTES, ParseError, parse_json
from receiver.contract.records import ANNOTATIONS_DIR, Record
from receiver.contract.validation import Validator
from receiver.stores.git import git_environment

__all__ = [
    "Collection",
    "Skipped",
    "Source",
    "SourceError",
    "UsageError",
    "clone_url",
    "collect",
    "find_json_files",
    "mirror",
    "open_source",
    "stream",
]

Progress = Callable[[int, int | None], None]


class UsageError(ValueError):
    """A command line that names something that is not there."""


def _json_files_below(folder: str) -> Iterator[str]:
    """`*.json` files below `folder`, as `os.walk` would order them (a folder's files by name, then its folders by name).

    Symbolic links to folders are not followed and a folder that cannot be read
    is skipped, as `os.walk` does; one `scandir` per folder and no `lstat` per
    entry keeps this quick on trees of a hundred thousand files.
    """
    try:
        with os.scandir(folder) as listing:
            entries = list(listing)
    except OSError:
        return
    files, folders = [], []
    for entry in entries:
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            if entry.name != ".git" and not entry.is_symlink():
                folders.append(entry.name)
        elif entry.name.endswith(".json"):
            files.append(entry.name)
    for name in sorted(files):
        yield os.path.join(folder, name)
    for name in sorted(folders):
        yield from _json_files_below(os.path.join(folder, name))


def find_json_files(paths: Iterable[str]) -> Iterator[str]:
    """Each named file, and every `*.json` below each named folder, in a stable order."""
    for given in paths:
        if os.path.isfile(given):
            yield given
        elif os.path.isdir(given):
            yield from _json_files_below(given)
        else:
            raise UsageError(f"{given}: no such file or folder")


class SourceError(ValueError):
    """A source that cannot be read at all; the message says what to pass instead."""


@dataclass(frozen=True)
class Skipped:
    """A file left out of the export and the reason, as a sentence."""

    path: str
    reason: str


@dataclass
class Collection:
    """The valid records of a source, and what was skipped."""

    records: list[Record] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


@dataclass(frozen=True)
class Source:
    """A place to read records from; `kind` says how."""

    path: Path
    kind: Literal["folder", "git"]

    def describe(self) -> str:
        return f"the git repository {self.path}" if self.kind == "git" else f"the folder {self.path}"


def open_source(path: Path) -> Source:
    """Decide how to read `path`: a git repository (bare or not) or a folder of JSON files."""
    if not path.exists():
        raise SourceError(
            f"{path}: no such folder or git repository; pass an annotations/ folder or the data repository "
            "(default: the receiver's store, RECEIVER_LOCAL_REPO)"
        )
    if path.is_file():
        raise SourceError(f"{path} is a file; pass the annotations/ folder or the git repository that holds it")
    if (path / "HEAD").is_file() and (path / "objects").is_dir():
        return Source(path, "git")
    if (path / ".git").is_dir():
        return Source(path / ".git", "git")
    return Source(path, "folder")


def collect(source: Source, validator: Validator, progress: Progress | None = None) -> Collection:
    """Read every record file of the source; valid records in, the rest skipped with a reason."""
    collection = Collection()
    for item in stream(source, validator, progress):
        if isinstance(item, Skipped):
            collection.skipped.append(item)
        else:
            collection.records.append(item)
    return collection


def stream(source: Source, validator: Validator, progress: Progress | None = None) -> Iterator[Record | Skipped]:
    """Each record file of the source as it is read: a valid `Record`, or a `Skipped` with the reason.

    `collect` without holding the records: fed to
    `receiver.consensus.records_table`, a repository becomes a click table
    while only one file's document is alive at a time.
    """
    entries = _git_files(source.path) if source.kind == "git" else _folder_files(source.path)
    done = 0
    for total, path, data in entries:
        done += 1
        if progress is not None:
            progress(done, total)
        if isinstance(data, Skipped):
            yield data
            continue
        try:
            document = parse_json(data)
        except ParseError as error:
            yield Skipped(path, str(error))
            continue
        problems = validator.check_record(document, filename=path)
        if problems:
            extra = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            yield Skipped(path, f"{problems[0]}{extra}")
            continue
        yield Record.from_document(document)


Entry = tuple[int | None, str, "bytes | Skipped"]


def _folder_files(folder: Path) -> Iterator[Entry]:
    paths = list(find_json_files([str(folder)]))
    for path in paths:
        name = Path(path).as_posix()
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_DOCUMENT_BYTES + 1)
        except OSError as error:
            yield len(paths), name, Skipped(name, f"cannot be read: {error.strerror or error}")
            continue
        yield len(paths), name, data


def _git(repository: Path, *args: str) -> list[str]:
    return ["git", f"--git-dir={repository}", "-c", "core.quotePath=false", *args]


def _git_files(repository: Path) -> Iterator[Entry]:
    env = git_environment()  # the user's and the system's git configuration must not change what is read
    try:
        listed = subprocess.run(
            _git(repository, "ls-tree", "-r", "-z", "--full-tree", "HEAD", "--", ANNOTATIONS_DIR),
            capture_output=True,
            env=env,
            check=False,
        )
    except FileNotFoundError as error:
        raise SourceError("git is not installed or not on PATH; install git or export from a folder") from error
    if listed.returncode != 0:
        message = listed.stderr.decode("utf-8", "replace").strip().splitlines()
        if any("Not a valid object name" in line or "not a tree object" in line for line in message):
            return  # an empty repository: its default branch has no commit yet
        raise SourceError(
            f"{repository}: git could not list the default branch ({message[-1] if message else 'no output'}); "
            "check that it is a git repository"
        )
    blobs: list[tuple[str, str]] = []
    for entry in listed.stdout.split(b"\0"):
        if not entry:
            continue
        meta, _, raw_path = entry.partition(b"\t")
        _mode, kind, oid = meta.decode("ascii").split()
        path = raw_path.decode("utf-8", "replace")
        if kind == "blob" and path.endswith(".json"):
            blobs.append((oid, path))
    if not blobs:
        return
    yield from _cat_blobs(repository, blobs, env)


def _cat_blobs(repository: Path, blobs: list[tuple[str, str]], env: dict[str, str]) -> Iterator[Entry]:
    process = subprocess.Popen(
        _git(repository, "cat-file", "--batch"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
    )
    assert process.stdin is not None and process.stdout is not None
    # Feed the ids from a thread: with both pipes full, writing everything
    # first and reading after would deadlock on a large repository.
    feeder = threading.Thread(target=_feed, args=(process.stdin, [oid for oid, _ in blobs]), daemon=True)
    feeder.start()
    total = len(blobs)
    try:
        for oid, path in blobs:
            header = process.stdout.readline().decode("ascii", "replace").split()
            if len(header) != 3:
                raise SourceError(
                    f"{repository}: git cat-file answered {' '.join(header)[:80]!r} for {path}; "
                    "the repository is damaged: run `git fsck` on it, or read from a good clone"
                )
            size = int(header[2])
            data = process.stdout.read(size)
            process.stdout.read(1)
            if size > MAX_DOCUMENT_BYTES:
                yield total, path, Skipped(path, f"is {size} bytes; a record is at most {MAX_DOCUMENT_BYTES}")
            else:
                yield total, path, data
    finally:
        # Closing our end first lets an abandoned read end git and the feeder.
        process.stdout.close()
        process.wait()
        feeder.join()


def _feed(stream: IO[bytes], oids: list[str]) -> None:
    try:
        for start in range(0, len(oids), 1024):
            stream.write("".join(f"{oid}\n" for oid in oids[start : start + 1024]).encode("ascii"))
        stream.close()
    except BrokenPipeError:
        pass


def clone_url(api_url: str, repository: str) -> str:
    """The HTTPS git URL of OWNER/NAME on the GitHub whose REST API is `api_url` (github.com, or Enterprise's /api/v3)."""
    base = api_url.rstrip("/")
    if base in ("https://api.github.com", "http://api.github.com"):
        base = "https://github.com"
    elif base.endswith("/api/v3"):
        base = base.removesuffix("/api/v3")
    return f"{base}/{repository}.git"


def mirror(remote: str, cache: Path, *, branch: str, token: str = "", timeout: float = 600.0) -> Path:
    """A bare copy of `remote`'s `branch` in `cache`, cloned on first use and fetched on each later one; its HEAD is that branch.

    The token goes to git as an HTTP header in its environment, never in the
    URL or the command line, so neither `ps` nor git's messages show it.
    Raises `SourceError` with git's reason when the remote cannot be read.
    """
    env = git_environment(_auth_config(token))
    ref = f"refs/heads/{branch}"
    if not (cache / "HEAD").is_file():
        cache.mkdir(parents=True, exist_ok=True)
        _run_git(["git", "init", "--bare", "--quiet", str(cache)], env, remote, timeout)
    _run_git(
        ["git", f"--git-dir={cache}", "fetch", "--quiet", "--no-tags", "--force", remote, f"+{ref}:{ref}"],
        env,
        remote,
        timeout,
    )
    _run_git(["git", f"--git-dir={cache}", "symbolic-ref", "HEAD", ref], env, remote, timeout)
    return cache


def _auth_config(token: str) -> dict[str, str]:
    """git configuration, as environment variables, that sends `token` the way GitHub accepts it for git over HTTPS."""
    if not token:
        return {}
    base = git_environment()
    count = int(base.get("GIT_CONFIG_COUNT", "0"))
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode("ascii")
    return {
        "GIT_CONFIG_COUNT": str(count + 1),
        f"GIT_CONFIG_KEY_{count}": "http.extraHeader",
        f"GIT_CONFIG_VALUE_{count}": f"Authorization: Basic {basic}",
    }


def _run_git(command: list[str], env: dict[str, str], remote: str, timeout: float) -> None:
    try:
        done = subprocess.run(command, capture_output=True, env=env, timeout=timeout, check=False)
    except FileNotFoundError as error:
        raise SourceError("git is not installed or not on PATH; install git to read a GitHub-mode store") from error
    except subprocess.TimeoutExpired as error:
        raise SourceError(f"git did not finish reading {remote} in {timeout:.0f} s; check the network and retry") from error
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = lines[-1] if lines else f"exit code {done.returncode}"
        raise SourceError(
            f"could not fetch the data repository {remote}: {reason}; check RECEIVER_GITHUB_REPOSITORY, "
            "the token's access to it (GITHUB_TOKEN or the GitHub App) and the network, or pass a local clone as SOURCE"
        )
