"""A throwaway PostgreSQL cluster for the tests: `initdb` in a temporary folder, reached through a unix socket only.

It runs as the `postgres` user when the tests run as root (PostgreSQL
refuses root), trusts every local connection, skips fsync (the tests
measure behaviour, not the disk), and can be stopped and started again
to play a database that goes away. Each test gets a database of its own.
A benchmark asks for a durable one (fsync on), to compare with SQLite's
fsynced journal on equal terms.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

__all__ = ["Cluster", "find_binaries"]


def find_binaries() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian keeps it out of PATH), if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Cluster:
    """One PostgreSQL server for a test session."""

    def __init__(self, binaries: Path, *, durable: bool = False) -> None:
        self.binaries = binaries
        self.durable = durable
        self.home = Path(tempfile.mkdtemp(prefix="receiver-pg-"))
        self.data = self.home / "data"
        self.port = _free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            entry = pwd.getpwnam("postgres")
            os.chown(self.home, entry.pw_uid, entry.pw_gid)

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    def _ctl(self, *arguments: str) -> None:
        self._run(str(self.binaries / "pg_ctl"), "-D", str(self.data), *arguments)

    def create(self) -> Cluster:
        self._run(str(self.binaries / "initdb"), "-D", str(self.data), "--auth=trust", "--username=receiver", "-E", "UTF8", "--no-sync")
        self.start()
        return self

    def start(self) -> None:
        fsync = "on" if self.durable else "off"
        options = f"-k {self.home} -p {self.port} -c listen_addresses='' -c fsync={fsync} -c max_connections=200"
        self._ctl("-l", str(self.home / "log"), "-o", options, "-w", "start")

    def stop(self) -> None:
        """Stop at once, as a database that goes away does: sessions are cut."""
        self._ctl("-m", "immediate", "-w", "stop")

    def postmaster_pid(self) -> int:
        """The server's main process (its first line of postmaster.pid); every backend is its child."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://receiver@/{database}?host={self.home}&port={self.port}"

    def database(self) -> str:
        """A new empty database; its URL."""
        name = f"journal_{uuid.uuid4().hex[:12]}"
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"'.encode())
        return self.url(name)

    def destroy(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped by a test that stopped it
        shutil.rmtree(self.home, ignore_errors=True)
