"""Receive crowdsourced pose-estimation labels and deliver them into a data repository.

Importing this package has no side effects; the CLI (`receiver.cli`) and the
app factory (`receiver.web.app.create_app`) are where things start.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
