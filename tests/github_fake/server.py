"""Way in #2: serve a ``FakeGitHub`` over real HTTP (stdlib ``ThreadingHTTPServer``).

``FakeServer(fake).start()`` binds (port 0 picks a free one), serves from a
daemon thread and returns once the thread is serving (an ``Event``, no
sleeps); ``url`` is the base URL for clients; ``stop()`` shuts it down. Use
it as a context manager in tests. A dropped-connection fault closes the
socket without answering. A crash in the fake answers a plain 500, is kept
in ``fake.crashes`` and re-raised so the server logs it.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, unquote, urlsplit

from .app import FakeGitHub
from .messages import Request

__all__ = ["FakeServer"]


def _handler_class(fake: FakeGitHub, prefix: str, root: list[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            if prefix and path.startswith(prefix):
                path = path[len(prefix) :]
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                path=unquote(path) or "/",
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                api_root=root[0],
            )
            try:
                response = fake.handle(request)
            except Exception as crash:
                # Outermost layer: answer a plain 500, keep the crash for the test, re-raise to log it.
                fake.crashes.append(crash)
                self.send_response(500)
                self.send_header("content-length", "0")
                self.end_headers()
                raise
            if response.drop:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib's name
            """Quiet: the fake keeps its own request log."""

    return Handler


class FakeServer:
    """A ``FakeGitHub`` on a real socket, served from a thread."""

    def __init__(self, fake: FakeGitHub, host: str = "127.0.0.1", port: int = 0, prefix: str = "") -> None:
        self.fake = fake
        self.prefix = prefix.rstrip("/")
        self._root: list[str] = [""]
        self._httpd = ThreadingHTTPServer((host, port), _handler_class(fake, self.prefix, self._root))
        self._httpd.daemon_threads = True
        host_name, bound_port = self._httpd.server_address[:2]
        self.host = str(host_name)
        self.port = int(bound_port)
        self._root[0] = self.url
        self.started = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The API root for clients, e.g. ``http://127.0.0.1:PORT`` (plus the prefix)."""
        return f"http://{self.host}:{self.port}{self.prefix}"

    def start(self) -> FakeServer:
        def run() -> None:
            self.started.set()
            self._httpd.serve_forever(poll_interval=0.05)

        self._thread = threading.Thread(target=run, name=f"fake-github:{self.port}", daemon=True)
        self._thread.start()
        self.started.wait()
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread (for ``python -m tests.github_fake``)."""
        self.started.set()
        self._httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
