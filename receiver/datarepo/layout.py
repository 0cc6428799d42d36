"""What a data repository holds besides annotations: the workflows and schemas this version expects, and `init`.

Two ways to run a data repository, and both are judged here:

- *This project's repository is the data repository*: its own
  `.github/workflows/` run the validator and the gate from the checkout
  (`pip install .`). Those workflow files ship in the wheel too
  (`receiver/_workflows`, see pyproject's force-include), so an installed
  receiver knows them.
- *A data-only repository* written by `receiver init`: the workflows check
  out this project's code at a pinned commit (`--receiver-repo`,
  `--receiver-ref`, default the tag of this version) into `.receiver/` and
  run its validator and gate from there, because a data repository has no
  receiver code to `pip install .` and the package is not on PyPI. A tag or
  branch can move, and whoever moves it changes the code that judges and
  merges this repository's pull requests, so the workflows name a commit id
  (the tag or branch asked for stays beside it, in a comment). Its
  `schemas/` is a copy of the receiver's, for readers and tools.

`accepted_workflow` decides whether a workflow file found on the default
branch is one of these, byte for byte; `write_init` writes the second kind.
GitHub is read only to turn a tag or branch into its commit (`commit_of_ref`,
through a repository object the caller opened); checking a repository's
settings is `doctor`'s.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, metadata
from pathlib import Path
from urllib.parse import urlsplit

from github import GithubException
from github.Repository import Repository

from receiver import __version__
from receiver.contract.records import ANNOTATIONS_DIR
from receiver.contract.schemas import schema_dir

__all__ = [
    "DEFAULT_REF",
    "WORKFLOWS",
    "WORKFLOWS_DIR",
    "InitError",
    "Pin",
    "UnresolvedRef",
    "accepted_workflow",
    "checkout_commit",
    "commit_of_ref",
    "init_files",
    "is_commit_id",
    "pin_to_commit",
    "pinned_checkout",
    "receiver_repository",
    "render",
    "schema_files",
    "shipped_workflows",
    "write_init",
]

#: The workflow files a data repository needs, under `WORKFLOWS_DIR`.
WORKFLOWS = ("validate.yml", "automerge.yml")
WORKFLOWS_DIR = ".github/workflows"
#: The receiver's code an `init` repository runs, unless told otherwise: this version's tag (releases are tagged vX.Y.Z).
DEFAULT_REF = f"v{__version__}"

_TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Where this code sits when it is a git checkout (an editable install): the project's root.
CHECKOUT = Path(__file__).resolve().parents[2]
_DISTRIBUTION = "pose-receiver"
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_REF = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_./-]*")
_COMMIT = re.compile(r"[0-9a-fA-F]{40}")
# The pinned lines of a rendered template, as `render` writes them (files of earlier versions carry no comment).
_PINNED = re.compile(r"^ {10}repository: (?P<repository>\S+)\n {10}ref: (?P<ref>\S+)(?: # (?P<named>\S+))?$", re.MULTILINE)


class InitError(ValueError):
    """`init` cannot write here, with the reason and what to do."""


class UnresolvedRef(InitError):
    """The tag or branch `init` was asked to pin names no commit of the receiver's repository."""


def is_commit_id(ref: str) -> bool:
    """Whether `ref` is a full commit id (40 hex digits), the only ref a push cannot move."""
    return _COMMIT.fullmatch(ref) is not None


@dataclass(frozen=True)
class Pin:
    """The receiver's code an `init` repository's workflows run: a repository and the commit they check out.

    `named` is the tag, branch or commit id it was asked for, written beside the commit for people to read.
    """

    repository: str
    commit: str
    branch: str = "main"
    named: str = ""

    @property
    def label(self) -> str:
        """What the workflows' comments call the pin: the tag or branch asked for, else the commit."""
        return self.named or self.commit

    def problem(self) -> str | None:
        """Why these values cannot go into a workflow, or None."""
        names = _names_problem(self.repository, self.label, self.branch)
        if names is not None:
            return names
        if not is_commit_id(self.commit):
            return f"the workflows must check out a full 40-character commit id, not {self.commit!r}; a tag or branch can move"
        return None


def _names_problem(repository: str, ref: str, branch: str) -> str | None:
    if not _REPOSITORY.fullmatch(repository):
        return f"--receiver-repo must be OWNER/NAME, not {repository!r}"
    if not _REF.fullmatch(ref) or ".." in ref:
        return f"--receiver-ref must be a tag, branch or commit id, not {ref!r}"
    if not _REF.fullmatch(branch):
        return f"--branch must be a branch name, not {branch!r}"
    return None


def receiver_repository(distribution: str = _DISTRIBUTION) -> str | None:
    """OWNER/NAME of this project's code on GitHub, from the package metadata's Repository URL; None when it names none.

    `pyproject.toml` names it once, so a newcomer never has to guess what `--receiver-repo` should be.
    """
    try:
        entries: list[str] = metadata(distribution).get_all("Project-URL") or []
    except PackageNotFoundError:
        return None
    for entry in entries:
        label, _, url = str(entry).partition(",")
        parts = urlsplit(url.strip())
        name: str = parts.path.strip("/").removesuffix(".git")
        if label.strip().lower() == "repository" and parts.netloc == "github.com" and _REPOSITORY.fullmatch(name):
            return name
    return None


def checkout_commit(root: Path = CHECKOUT) -> str | None:
    """The commit at HEAD of the git checkout this code runs from; None when it was installed without one.

    `init` pins it when not told a ref: a commit needs no lookup and cannot
    move. Without a checkout, `init` falls back to this version's tag.

    Only `root` itself is asked (a `.git` beside `pyproject.toml`), never a
    repository further up that happens to hold a virtual environment.
    """
    if not ((root / ".git").exists() and (root / "pyproject.toml").is_file()):
        return None
    try:
        found = subprocess.run(["git", "-C", str(root), "rev-parse", "--verify", "--quiet", "HEAD^{commit}"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = found.stdout.strip()
    return commit.lower() if found.returncode == 0 and is_commit_id(commit) else None


def pin_to_commit(repository: str, ref: str, commit_of: Callable[[str], str | None], *, branch: str = "main") -> Pin:
    """The pin for `ref`: a full commit id as given; a tag or branch as the commit `commit_of` says it names now.

    Refused (`InitError`) when a name could not go into a workflow, and
    (`UnresolvedRef`) when the tag or branch names no commit.
    """
    problem = _names_problem(repository, ref, branch)
    if problem is not None:
        raise InitError(problem)
    if is_commit_id(ref):
        return Pin(repository, ref.lower(), branch, named="")
    commit = commit_of(ref)
    if commit is None:
        raise UnresolvedRef(
            f"--receiver-ref {ref} is neither a tag nor a branch of {repository}; pass a tag that exists "
            "(releases are tagged vX.Y.Z), a branch, or a full 40-character commit id"
        )
    return Pin(repository, commit.lower(), branch, named=ref)


def commit_of_ref(repo: Repository, ref: str) -> str | None:
    """The commit the tag `ref` (else the branch `ref`) of `repo` names now; None when it is neither.

    Tags first, as git reads an ambiguous name. An annotated tag is followed to its commit.
    GitHub's other refusals are raised as they come (`GithubException`).
    """
    for kind in ("tags", "heads"):
        try:
            found = repo.get_git_ref(f"{kind}/{ref}").object
        except GithubException as exc:
            if exc.status == 404:
                continue
            raise
        kind_of, sha = found.type, found.sha
        # An annotated tag's ref names the tag object; the commit is what it points at (tags of tags included).
        for _ in range(8):
            if kind_of != "tag":
                break
            tagged = repo.get_git_tag(sha).object
            kind_of, sha = tagged.type, tagged.sha
        return sha if kind_of == "commit" else None
    return None


def render(template: str, pin: Pin) -> bytes:
    """A template of `receiver/datarepo/templates` with the pin, the branch and this version filled in."""
    text = (_TEMPLATES / template).read_text(encoding="utf-8")
    values = (
        ("RECEIVER_REPOSITORY", pin.repository),
        ("RECEIVER_COMMIT", pin.commit),
        ("RECEIVER_REF", pin.label),
        ("BRANCH", pin.branch),
        ("VERSION", __version__),
    )
    for key, value in values:
        text = text.replace(f"@{key}@", value)
    return text.encode()


def shipped_workflows() -> dict[str, bytes]:
    """This project's own workflow files: the checkout's `.github/workflows`, else the wheel's copy."""
    package = Path(__file__).resolve().parents[1]
    for folder in (package.parent / ".github" / "workflows", package / "_workflows"):
        if all((folder / name).is_file() for name in WORKFLOWS):
            return {name: (folder / name).read_bytes() for name in WORKFLOWS}
    raise FileNotFoundError("the receiver's workflow files are missing; reinstall the receiver package")


def schema_files() -> dict[str, bytes]:
    """The receiver's `schemas/*.json` by file name, whatever they are."""
    return {path.name: path.read_bytes() for path in sorted(schema_dir().glob("*.json"))}


def accepted_workflow(name: str, found: bytes, branch: str, shipped: Mapping[str, bytes]) -> str | None:
    """How `found` (the file `name` on the default branch) is one this version expects, or None when it is not.

    Either this project's own file, or the `init` file for the receiver
    repository and ref it names (re-rendered with them, then compared whole).
    """
    if found == shipped.get(name):
        return "this project's own"
    match = _PINNED.search(found.decode("utf-8", errors="replace"))
    if match is None:
        return None
    pin = Pin(match["repository"], match["ref"], branch, named=match["named"] or "")
    if pin.problem() is None and found == render(name, pin):
        shown = f"{pin.named}, commit {pin.commit}" if pin.named and pin.named != pin.commit else pin.commit
        return f"receiver init's, pinned to {pin.repository}@{shown}"
    return None


def pinned_checkout(found: bytes) -> tuple[str, str] | None:
    """The receiver repository and the ref an `init` workflow file checks out (whatever its version), or None."""
    match = _PINNED.search(found.decode("utf-8", errors="replace"))
    return None if match is None else (match["repository"], match["ref"])


def init_files(pin: Pin) -> dict[str, bytes]:
    """Every file `init` writes, by path relative to the data repository (annotations' placeholder apart)."""
    files = {f"{WORKFLOWS_DIR}/{name}": render(name, pin) for name in WORKFLOWS}
    files.update({f"schemas/{name}": data for name, data in schema_files().items()})
    files["README.md"] = render("README.md", pin)
    return files


def write_init(target: Path, pin: Pin, *, force: bool = False) -> list[str]:
    """Write a data repository into `target`; the paths written, in order.

    A folder that already holds files is refused unless `force` (a `.git`
    alone does not count: a fresh clone of an empty repository is where a lab
    runs it); even then nothing under `annotations/` is written over (its
    placeholder only when the folder has no such file).
    """
    problem = pin.problem()
    if problem is not None:
        raise InitError(problem)
    if target.exists() and not target.is_dir():
        raise InitError(f"{target} is a file, not a folder")
    if target.is_dir() and any(entry.name != ".git" for entry in target.iterdir()) and not force:
        raise InitError(f"{target} is not empty; pass --force to write the workflows, schemas and README over what is there (annotations/ is never touched)")
    written = []
    for path, data in init_files(pin).items():
        destination = target / path
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(data)
        written.append(path)
    keep = target / ANNOTATIONS_DIR / ".gitkeep"
    if not keep.exists():
        keep.parent.mkdir(parents=True, exist_ok=True)
        keep.write_bytes(b"")
        written.append(f"{ANNOTATIONS_DIR}/.gitkeep")
    return written
