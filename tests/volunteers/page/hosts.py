"""Servers a page test needs besides the receiver: a static host with CORS and range requests.

Each runs uvicorn in a thread and is ready when uvicorn says it started (no fixed sleep).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from tests.support.servers import free_port

__all__ = ["serve_in_thread", "static_host"]


@contextmanager
def serve_in_thread(app: ASGIApp, port: int | None = None) -> Iterator[str]:
    """Run `app` on a free loopback port for the block; yield its base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AssertionError(f"the server on port {port} did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def static_host(directory: Path) -> Iterator[str]:
    """Serve `directory` as a video host does: any origin may read it (CORS), byte ranges answered.

    Its URL uses `localhost`, a different site from the receiver's `127.0.0.1`.
    """
    app = Starlette(
        routes=[Mount("/", StaticFiles(directory=directory, html=True))],
        middleware=[Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET"], allow_headers=["range"])],
    )
    with serve_in_thread(app) as url:
        yield url.replace("127.0.0.1", "localhost")
