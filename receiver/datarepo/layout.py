"""What a data repository holds besides annotations: the workflows and schemas this version expects, and `init`.

Two ways to run a data repository, and both are judged here:

- *This project's repository is the data repository*: its own
  `.github/workflows/` run the validator and the gate from the checkout
  (`pip install .`). Those workflow files ship in the wheel too
  (`receiver/_workflows`, see pyproject's force-include), so an installed
  receiver knows them.
- *A data-only repository* written by `receiver init`: the workflows check
  out this project's code at a pinned ref (`--receiver-repo`,
  `--receiver-ref`, default the tag of this version) into `.receiver/` and
  run its validator and gate from there, because a data repository has no
  receiver code to `pip install .` and the package is not on PyPI. Its
  `schemas/` is a copy of the receiver's, for readers and tools.

`expected_workflow` decides whether a workflow file found on the default
branch is one of these, byte for byte; `write_init` writes the second kind.
It does not talk to GitHub (see `doctor`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from receiver import __version__
from receiver.contract.records import ANNOTATIONS_DIR
from receiver.contract.schemas import schema_dir

__all__ = [
    "DEFAULT_REF",
    "WORKFLOWS",
    "WORKFLOWS_DIR",
    "InitError",
    "Pin",
    "accepted_workflow",
    "init_files",
    "render",
    "schema_files",
    "shipped_workflows",
    "write_init",
]

#: The workflow files a data repository needs, under `WORKFLOWS_DIR`.
WORKFLOWS = ("validate.yml", "automerge.yml")
WORKFLOWS_DIR = ".github/workflows"
#: The receiver's code an `init` repository runs, unless told otherwise: this version's tag.
DEFAULT_REF = f"v{__version__}"

_TEMPLATES = Path(__file__).resolve().parent / "templates"
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_REF = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_./-]*")
# The pinned lines of a rendered template, as `render` writes them.
_PINNED = re.compile(r"^ {10}repository: (?P<repository>\S+)\n {10}ref: (?P<ref>\S+)$", re.MULTILINE)


class InitError(ValueError):
    """`init` cannot write here, with the reason and what to do."""


@dataclass(frozen=True)
class Pin:
    """The receiver's code an `init` repository's workflows run: a repository and a ref (tag, branch or commit)."""

    repository: str
    ref: str = DEFAULT_REF
    branch: str = "main"

    def problem(self) -> str | None:
        """Why these values cannot go into a workflow, or None."""
        if not _REPOSITORY.fullmatch(self.repository):
            return f"--receiver-repo must be OWNER/NAME, not {self.repository!r}"
        if not _REF.fullmatch(self.ref) or ".." in self.ref:
            return f"--receiver-ref must be a tag, branch or commit id, not {self.ref!r}"
        if not _REF.fullmatch(self.branch):
            return f"--branch must be a branch name, not {self.branch!r}"
        return None


def render(template: str, pin: Pin) -> bytes:
    """A template of `receiver/datarepo/templates` with the pin, the branch and this version filled in."""
    text = (_TEMPLATES / template).read_text(encoding="utf-8")
    for key, value in (("RECEIVER_REPOSITORY", pin.repository), ("RECEIVER_REF", pin.ref), ("BRANCH", pin.branch), ("VERSION", __version__)):
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
    pin = Pin(match["repository"], match["ref"], branch)
    if pin.problem() is None and found == render(name, pin):
        return f"receiver init's, pinned to {pin.repository}@{pin.ref}"
    return None


def init_files(pin: Pin) -> dict[str, bytes]:
    """Every file `init` writes, by path relative to the data repository (annotations' placeholder apart)."""
    files = {f"{WORKFLOWS_DIR}/{name}": render(name, pin) for name in WORKFLOWS}
    files.update({f"schemas/{name}": data for name, data in schema_files().items()})
    files["README.md"] = render("README.md", pin)
    return files


def write_init(target: Path, pin: Pin, *, force: bool = False) -> list[str]:
    """Write a data repository into `target`; the paths written, in order.

    A folder that already holds files is refused unless `force`; even then
    nothing under `annotations/` is written over (its placeholder only when
    the folder has no such file).
    """
    problem = pin.problem()
    if problem is not None:
        raise InitError(problem)
    if target.exists() and not target.is_dir():
        raise InitError(f"{target} is a file, not a folder")
    if target.is_dir() and any(target.iterdir()) and not force:
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
