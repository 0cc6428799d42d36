"""nginx from deploy/nginx.conf in a temporary prefix, in the foreground, in front of some receivers.

It runs the distribution's nginx (`nginx -p PREFIX -c PREFIX/nginx.conf -g
'daemon off;'`) with its pid file, logs and temporary files in the prefix, so
it needs no configuration of the machine and leaves nothing behind. As root
its workers run as root too: the prefix sits in a temporary folder other
users cannot enter.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from deploy.render_nginx import render

__all__ = ["NginxProcess", "find_nginx"]


def find_nginx() -> Path | None:
    """Debian's nginx (in /usr/sbin, often outside a user's PATH), if installed."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    return Path(found) if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class NginxProcess:
    """One nginx listening on a free loopback port and proxying to `receivers` (each `host:port`)."""

    def __init__(self, binary: Path, prefix: Path, receivers: Sequence[str], *, max_body: int = 64 * 1024) -> None:
        self.binary = binary
        self.prefix = prefix
        self.receivers = list(receivers)
        self.max_body = max_body
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        path = self.prefix / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self) -> NginxProcess:
        self.prefix.mkdir(parents=True, exist_ok=True)
        config = self.prefix / "nginx.conf"
        user = "root" if os.geteuid() == 0 else None
        config.write_text(render(self.receivers, listen=f"127.0.0.1:{self.port}", prefix=self.prefix, user=user, max_body=self.max_body))
        # -e: the error log before the configuration is read (Debian compiles in /var/log/nginx).
        command = [str(self.binary), "-p", str(self.prefix), "-c", str(config), "-e", str(self.prefix / "error.log"), "-g", "daemon off;"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not self._listening():
            if self.process.poll() is not None:
                raise AssertionError(f"nginx exited with {self.process.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"nginx did not listen on {self.port} within 30 s:\n{self.log()}")
            time.sleep(0.05)
        return self

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # SIGQUIT is nginx's graceful stop; SIGTERM its fast one.
        self.process.send_signal(signal.SIGQUIT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=15)

    def __enter__(self) -> NginxProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
