"""The export extra stays optional: nothing heavy at import, and a clear install hint when it is missing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from receiver.export.extra import MissingExtra, require


class TestRequire:
    def test_a_missing_package_names_the_install_command(self) -> None:
        """A package of the extra that is not installed raises MissingExtra saying how to install it."""
        with pytest.raises(MissingExtra, match=r"pip install 'pose-receiver\[export\]'"):
            require("sleap_io_not_installed_here")


class TestLaziness:
    def test_the_cli_and_validator_import_no_export_dependency(self) -> None:
        """Building the command line and a validator imports neither sleap-io, numpy, pandas nor rich."""
        code = (
            "import sys\n"
            "from receiver.cli import build_parser\n"
            "from receiver.contract.validation import Validator\n"
            "build_parser(); Validator()\n"
            "print(sorted(m for m in ('sleap_io', 'numpy', 'pandas', 'rich') if m in sys.modules))\n"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert done.stdout.strip() == "[]"
