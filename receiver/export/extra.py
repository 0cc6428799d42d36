"""The optional `export` extra: import its packages on demand, or say how to install them.

sleap-io pulls in pandas, h5py and ffmpeg bindings; the receiver and the
validator must start without them, so nothing imports them at module level.
This module only imports; it does not decide anything about exports.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["MissingExtra", "require"]

INSTALL_HINT = "install it with: pip install 'pose-receiver[export]'"


class MissingExtra(RuntimeError):
    """A package of the export extra is not installed; the message says how to install it."""


def require(module: str) -> ModuleType:
    """Import `module` (one of the export extra's), or raise MissingExtra with the install command."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        top = module.split(".")[0]
        raise MissingExtra(f"exporting needs the {top} package, which is not installed; {INSTALL_HINT}") from error
