"""The package map holds: each package imports only what its `__init__` says it may, and no modules import in a circle.

The rules are read from the packages' own docstrings (their "May import:" line),
so the map a reader finds in a package and the map CI enforces are one text.
Every import counts, including those under `TYPE_CHECKING` and inside functions:
a type is as much a dependency as a call.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "receiver"
PACKAGES = ("contract", "consensus", "export", "journal", "access", "stores", "delivery", "volunteers", "datarepo", "web", "media")
EDGES = {"receiver", "receiver.__main__", "receiver.cli", "receiver.settings", "receiver.logs", "receiver.reporting"}


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path = ROOT) -> dict[str, Path]:
    return {module_name(path, root): path for path in sorted(root.rglob("*.py"))}


def imports_of(path: Path, root: Path, known: Mapping[str, Path]) -> Iterator[str]:
    """The receiver modules `path` imports, resolved to modules (`from receiver.journal import schema` names `receiver.journal.schema`)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.split(".")[0] == "receiver")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "receiver":
                continue
            submodules = [f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in known]
            yield from submodules or [target]


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    known = modules(root)
    return {name: set(imports_of(path, root, known)) - {name} for name, path in known.items()}


def room(module: str) -> str:
    """The package a module lives in, or the module itself at the top level (the edges)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in PACKAGES) else module


def allowed_rooms(package: str) -> set[str]:
    """The packages `package` may import, read from the "May import:" line of its `__init__` docstring."""
    doc = ast.get_docstring(ast.parse((ROOT / package / "__init__.py").read_text(encoding="utf-8"))) or ""
    line = re.search(r"^May import: (.*?)(?:\n\n|\Z)", doc, re.MULTILINE | re.DOTALL)
    assert line, f"receiver/{package}/__init__.py must say what it may import on a 'May import:' line"
    named = set(re.findall(r"`(\w+)`", line.group(1))) - {"web"}
    return {name if name in PACKAGES else f"receiver.{name}" for name in named}


def arrows_against_the_map(edges: Mapping[str, set[str]]) -> list[str]:
    wrong = []
    rules = {package: allowed_rooms(package) | {package} for package in PACKAGES}
    # The root package holds only the version; any package but the contract may read it.
    for package in PACKAGES:
        if package != "contract":
            rules[package].add("receiver")
    for source, targets in sorted(edges.items()):
        here = room(source)
        for target in sorted(targets):
            there = room(target)
            if here in EDGES:
                if there in {"web", "receiver.cli"} and source not in {"receiver.cli", "receiver.__main__"}:
                    wrong.append(f"{source} -> {target}: only the command line imports web and cli")
            elif there not in rules[here]:
                wrong.append(f"{source} -> {target}: {here} may import {sorted(rules[here] - {here}) or 'nothing of the receiver'}")
    return wrong


def circles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of two or more modules (Tarjan's algorithm), each a circle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_package_says_what_it_may_import() -> None:
    for package in PACKAGES:
        allowed_rooms(package)


def test_no_package_imports_against_the_map() -> None:
    assert arrows_against_the_map(graph()) == []


def test_no_modules_import_in_a_circle() -> None:
    assert circles(graph()) == []


def test_the_root_package_holds_only_the_version() -> None:
    assert graph()["receiver"] == set()
    assert {"__version__"} <= set(vars(__import__("receiver")))


def test_the_top_level_holds_only_the_edges() -> None:
    top = {path.stem for path in ROOT.glob("*.py")}
    assert {f"receiver.{name}" if name != "__init__" else "receiver" for name in top} <= EDGES
    assert len(top) <= 6


def test_an_import_up_the_map_is_caught(tmp_path: Path) -> None:
    tree = tmp_path / "receiver"
    (tree / "contract").mkdir(parents=True)
    (tree / "__init__.py").write_text("")
    (tree / "contract" / "__init__.py").write_text("")
    (tree / "contract" / "records.py").write_text("from receiver.journal import Journal\n")
    edges = graph(tree)
    assert edges["receiver.contract.records"] == {"receiver.journal"}
    assert arrows_against_the_map(edges) == [
        "receiver.contract.records -> receiver.journal: contract may import nothing of the receiver"
    ]


def test_a_circle_is_caught(tmp_path: Path) -> None:
    tree = tmp_path / "receiver"
    (tree / "web").mkdir(parents=True)
    (tree / "__init__.py").write_text("")
    (tree / "web" / "__init__.py").write_text("")
    (tree / "web" / "app.py").write_text("from receiver.web.submissions import SubmissionEndpoint\n")
    (tree / "web" / "submissions.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from receiver.web.app import Receiver\n")
    assert circles(graph(tree)) == [["receiver.web.app", "receiver.web.submissions"]]


@pytest.mark.parametrize("statement", ["from receiver.journal import schema", "from . import schema", "import receiver.journal.schema"])
def test_importing_a_submodule_names_the_submodule(tmp_path: Path, statement: str) -> None:
    tree = tmp_path / "receiver"
    (tree / "journal").mkdir(parents=True)
    for name in ("__init__.py", "journal/__init__.py", "journal/schema.py"):
        (tree / name).write_text("")
    (tree / "journal" / "outbox.py").write_text(statement + "\n")
    assert graph(tree)["receiver.journal.outbox"] == {"receiver.journal.schema"}
