"""Working with trees and commit graphs: flatten, rebuild, diff, merge.

Pure functions over an ``ObjectStore``: a tree becomes ``{path: (mode, sha)}``
and back, two commits get their merge base, three trees get a path-level
three-way merge (a path changed differently on both sides is a conflict; git
would try a line merge, GitHub reports "not mergeable" when git cannot merge,
and this fake is stricter: any path changed on both sides differently
conflicts). No HTTP and no refs here.
"""

from __future__ import annotations

from dataclasses import dataclass

from .gitobjects import MODE_TREE, ObjectStore, Tree, TreeEntry

__all__ = [
    "Change",
    "FlatTree",
    "MergeConflict",
    "ancestors",
    "build_tree",
    "diff_trees",
    "flatten",
    "is_ancestor",
    "merge_base",
    "three_way",
]

#: path -> (mode, sha) for every non-tree entry below a tree.
FlatTree = dict[str, tuple[str, str]]


class MergeConflict(Exception):
    """Both sides changed the same paths differently."""

    def __init__(self, paths: list[str]) -> None:
        super().__init__(f"conflicting paths: {', '.join(paths)}")
        self.paths = paths


@dataclass(frozen=True)
class Change:
    """One file's difference between two trees, as the pulls files endpoint lists it."""

    status: str  # added | modified | removed | renamed
    path: str
    old: tuple[str, str] | None
    new: tuple[str, str] | None
    previous_path: str | None = None


def flatten(store: ObjectStore, tree_sha: str, prefix: str = "") -> FlatTree:
    tree = store.tree(tree_sha)
    if tree is None:
        raise KeyError(f"no tree {tree_sha}")
    flat: FlatTree = {}
    for entry in tree.entries:
        path = f"{prefix}{entry.name}"
        if entry.mode == MODE_TREE:
            flat.update(flatten(store, entry.sha, f"{path}/"))
        else:
            flat[path] = (entry.mode, entry.sha)
    return flat


def build_tree(store: ObjectStore, flat: FlatTree) -> str:
    """Store the trees holding ``flat`` and return the root tree's id."""
    files: list[TreeEntry] = []
    subdirs: dict[str, FlatTree] = {}
    for path, (mode, sha) in flat.items():
        head, sep, rest = path.partition("/")
        if sep:
            subdirs.setdefault(head, {})[rest] = (mode, sha)
        else:
            files.append(TreeEntry(head, mode, sha))
    entries = files + [TreeEntry(name, MODE_TREE, build_tree(store, sub)) for name, sub in subdirs.items()]
    return store.put(Tree.of(entries))


def ancestors(store: ObjectStore, sha: str) -> set[str]:
    """``sha`` and every commit reachable from it."""
    seen: set[str] = set()
    stack = [sha]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        commit = store.commit(current)
        if commit is not None:
            stack.extend(commit.parents)
    return seen


def is_ancestor(store: ObjectStore, maybe_ancestor: str, sha: str) -> bool:
    return maybe_ancestor in ancestors(store, sha)


def merge_base(store: ObjectStore, one: str, other: str) -> str | None:
    """The nearest common ancestor of two commits (breadth first from ``other``)."""
    mine = ancestors(store, one)
    queue = [other]
    seen: set[str] = set()
    while queue:
        current = queue.pop(0)
        if current in seen:
            continue
        seen.add(current)
        if current in mine:
            return current
        commit = store.commit(current)
        if commit is not None:
            queue.extend(commit.parents)
    return None


def three_way(base: FlatTree, ours: FlatTree, theirs: FlatTree) -> FlatTree:
    """Merge two descendants of ``base`` path by path, or raise ``MergeConflict``."""
    merged: FlatTree = {}
    conflicts: list[str] = []
    for path in sorted(set(base) | set(ours) | set(theirs)):
        b, o, t = base.get(path), ours.get(path), theirs.get(path)
        if o == t:
            result = o
        elif o == b:
            result = t
        elif t == b:
            result = o
        else:
            conflicts.append(path)
            continue
        if result is not None:
            merged[path] = result
    if conflicts:
        raise MergeConflict(conflicts)
    return merged


def diff_trees(old: FlatTree, new: FlatTree) -> list[Change]:
    """Files added, modified, removed or renamed (same blob, new path) from old to new."""
    removed = {p: old[p] for p in old if p not in new}
    added = {p: new[p] for p in new if p not in old}
    changes: list[Change] = []
    by_sha = {entry[1]: path for path, entry in removed.items()}
    for path in sorted(added):
        source = by_sha.pop(added[path][1], None)
        if source is not None:
            del removed[source]
            changes.append(Change("renamed", path, old[source], added[path], previous_path=source))
        else:
            changes.append(Change("added", path, None, added[path]))
    for path in sorted(removed):
        changes.append(Change("removed", path, removed[path], None))
    for path in sorted(set(old) & set(new)):
        if old[path] != new[path]:
            changes.append(Change("modified", path, old[path], new[path]))
    return sorted(changes, key=lambda change: change.path)
