"""The schema documents and the skeleton, loaded from `schemas/` by name.

`schemas/` is the single source of truth for structure; this module only finds
and reads those files (from a source checkout, or from the copy a wheel ships
as `receiver/_schemas`). It does not validate submissions: see `validation`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import jsonschema

__all__ = [
    "SUBMISSION",
    "RECORD",
    "SKELETON",
    "Skeleton",
    "Keypoint",
    "schema_dir",
    "load_schema",
    "load_skeleton",
]

SUBMISSION = "submission.schema.json"
RECORD = "record.schema.json"
SKELETON = "skeleton.json"
_SKELETON_SCHEMA = "skeleton.schema.json"


def schema_dir() -> Path:
    """Where the schema files are: the checkout's `schemas/`, else the wheel's copy."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package.parent / "schemas", package / "_schemas"):
        if (candidate / SUBMISSION).is_file():
            return candidate
    raise FileNotFoundError("the schemas/ folder is missing; reinstall the receiver package")


def load_schema(name: str) -> dict[str, Any]:
    """Read one schema document by file name, e.g. `load_schema(SUBMISSION)`."""
    document: dict[str, Any] = json.loads((schema_dir() / name).read_text(encoding="utf-8"))
    return document


@dataclass(frozen=True)
class Keypoint:
    id: str
    name: str


@dataclass(frozen=True)
class Skeleton:
    """The keypoints every submission labels; read from a skeleton file."""

    name: str
    keypoints: tuple[Keypoint, ...]
    edges: tuple[tuple[str, str], ...] = ()
    symmetry: tuple[tuple[str, str], ...] = ()

    @cached_property
    def ids(self) -> frozenset[str]:
        return frozenset(k.id for k in self.keypoints)

    @cached_property
    def names(self) -> dict[str, str]:
        """Each keypoint's name by its id."""
        return {k.id: k.name for k in self.keypoints}


class SkeletonError(ValueError):
    """A skeleton file that cannot be used, with the reason."""


def load_skeleton(path: Path | None = None) -> Skeleton:
    """Read a skeleton file (default: the project's six-keypoint mouse) and check it."""
    path = path or schema_dir() / SKELETON
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SkeletonError(f"cannot read skeleton file {path.name}: {exc}") from exc
    validator = jsonschema.Draft202012Validator(load_schema(_SKELETON_SCHEMA))
    problems = [e.message for e in validator.iter_errors(document)]
    keypoints = tuple(Keypoint(k["id"], k["name"]) for k in document.get("keypoints", []))
    ids = [k.id for k in keypoints]
    if len(set(ids)) != len(ids):
        problems.append("keypoint ids must be unique")
    edges = tuple((a, b) for a, b in document.get("edges", []))
    problems += [f"edge {a}-{b} names an unknown keypoint" for a, b in edges if {a, b} - set(ids)]
    symmetry = tuple((a, b) for a, b in document.get("symmetry", []))
    for a, b in symmetry:
        unknown = [name for name in (a, b) if name not in ids]
        if unknown:
            problems.append(f"symmetry pair {a}/{b} names {', '.join(unknown)}, not a keypoint of this skeleton; name two of its keypoint ids")
        elif a == b:
            problems.append(f"symmetry pair {a}/{b} pairs a keypoint with itself; name two different keypoints")
    paired = [name for pair in symmetry for name in pair]
    if len(set(paired)) != len(paired):
        problems.append("a keypoint appears in more than one symmetry pair; pair each keypoint with one mirror at most")
    if problems:
        raise SkeletonError(f"skeleton file {path.name} is invalid: " + "; ".join(problems))
    return Skeleton(name=document["name"], keypoints=keypoints, edges=edges, symmetry=symmetry)
