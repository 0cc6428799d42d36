"""Which ref names and file paths git accepts: values in, verdicts out.

Ref names follow ``git check-ref-format`` (see git-check-ref-format(1),
https://git-scm.com/docs/git-check-ref-format); paths follow what git will
store in a tree (no empty, ``.``, ``..`` or ``.git`` components). Nothing
here knows about HTTP.
"""

from __future__ import annotations

__all__ = ["refname_problem", "path_problem"]

_FORBIDDEN_CHARS = frozenset(" ~^:?*[\\")


def refname_problem(name: str) -> str | None:
    """Return why git would refuse ``name`` as a full ref name, or None if it is fine."""
    if not name:
        return "is empty"
    if name == "@":
        return "is the single character '@'"
    if name.startswith("/") or name.endswith("/"):
        return "begins or ends with '/'"
    if "//" in name:
        return "contains '//'"
    if name.endswith("."):
        return "ends with '.'"
    if ".." in name:
        return "contains '..'"
    if "@{" in name:
        return "contains '@{'"
    for char in name:
        if ord(char) < 0x20 or ord(char) == 0x7F:
            return "contains a control character"
        if char in _FORBIDDEN_CHARS:
            return f"contains {char!r}"
    for component in name.split("/"):
        if component.startswith("."):
            return f"has a component beginning with '.' ({component!r})"
        if component.endswith(".lock"):
            return f"has a component ending with '.lock' ({component!r})"
    return None


def path_problem(path: str) -> str | None:
    """Return why git would refuse ``path`` as a file path in a tree, or None."""
    if not path:
        return "is empty"
    if "\x00" in path:
        return "contains a NUL byte"
    for component in path.split("/"):
        if component in ("", ".", ".."):
            return f"has a malformed path component ({component!r})"
        if component.lower() == ".git":
            return "has a '.git' component"
    return None
