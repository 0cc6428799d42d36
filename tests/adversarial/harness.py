"""What the adversarial suite shares: the profile, the tally it reports, and the scan for leaked secrets.

Every server the suite starts and every answer it reads is registered here, so
one scan at the end of each test (and a tally at the end of the run) covers
all of them. It will not start servers itself: `conftest.py` does that.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
import sysconfig
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "ANNOTATION_PATH",
    "GITHUB_TOKEN",
    "Profile",
    "PROFILES",
    "Tally",
    "Secrets",
    "journal_intact",
    "is_sentence_error",
]

#: A GitHub token the suite hands every receiver; it must never be seen again.
GITHUB_TOKEN = "ghp_adversarialSuiteToken0123456789abcdefXYZ"

#: Where a record stored now may live in the data repository (the layout of folders of 16, 256 and 16), and nowhere else.
ANNOTATION_PATH = re.compile(r"^annotations/[0-9a-f]{2}/[0-9a-f]{16}/[0-9a-f]/[0-9a-f]{2}/[0-9a-f]/[0-9a-f]{32}\.json$")


@dataclass(frozen=True)
class Profile:
    """How hard each test pushes: `short` for every test run, `long` on request."""

    name: str
    fuzz_examples: int
    stateful_examples: int
    load_clients: int
    load_per_client: int
    kills: int
    fault_rounds: int
    slow_clients: int


PROFILES = {
    "short": Profile("short", fuzz_examples=60, stateful_examples=15, load_clients=8, load_per_client=40, kills=3, fault_rounds=1, slow_clients=60),
    "long": Profile("long", fuzz_examples=600, stateful_examples=120, load_clients=16, load_per_client=150, kills=10, fault_rounds=3, slow_clients=400),
}


@dataclass
class Tally:
    """The counts the run reports at its end; tests add to them and assert on their own share."""

    counts: Counter[str] = field(default_factory=Counter)

    KEYS = ("requests fuzzed", "faults injected", "kills survived", "submissions accepted", "lost", "duplicated", "5xx", "secrets found")

    def add(self, key: str, amount: int = 1) -> None:
        assert key in self.KEYS, key
        self.counts[key] += amount

    def as_dict(self) -> dict[str, int]:
        return {key: self.counts[key] for key in self.KEYS}

    def failed(self) -> bool:
        return any(self.counts[k] for k in ("lost", "duplicated", "5xx", "secrets found"))


def _server_paths(extra: Iterable[Path]) -> list[str]:
    """Absolute paths on this machine that no answer or log line may show."""
    places = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["stdlib"], sys.prefix, str(Path(__file__).resolve().parents[2])}
    places.update(str(p) for p in extra)
    return sorted((p for p in places if len(p) > 4), key=len, reverse=True)


@dataclass
class Secrets:
    """Collects every response body and log the suite saw, and finds what must not be in them."""

    tokens: set[str] = field(default_factory=lambda: {GITHUB_TOKEN})
    paths: set[Path] = field(default_factory=set)
    bodies: list[str] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    scanned_bodies: int = 0
    scanned_lines: int = 0

    def saw(self, response: httpx.Response | Any) -> None:
        """Keep an answer's text (an httpx or requests response) for the scan."""
        self.bodies.append(response.text)

    def findings(self) -> list[str]:
        """Each leak as 'where: what', over the bodies and logs registered since the last call."""
        needles = [(t, "a token") for t in self.tokens]
        needles += [(p, "a server path") for p in _server_paths(self.paths)]
        needles += [("Traceback (most recent call last)", "a traceback"), ('File "', "a traceback frame")]
        found: list[str] = []
        texts = [(f"response {i}", body) for i, body in enumerate(self.bodies)]
        for log in self.logs:
            if log.exists():
                texts += [(f"{log.name}:{n}", line) for n, line in enumerate(log.read_text(errors="replace").splitlines(), 1)]
        for where, text in texts:
            for needle, what in needles:
                if needle in text:
                    found.append(f"{where}: {what} in {text[:200]!r}")
        self.scanned_bodies += len(self.bodies)
        self.scanned_lines += len(texts) - len(self.bodies)
        self.bodies.clear()
        self.logs.clear()
        return found


def is_sentence_error(response: httpx.Response | Any) -> bool:
    """A rejection a volunteer can read: JSON whose `error` is a non-empty sentence."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("error"), str) and len(body["error"].split()) >= 3


def journal_intact(path: Path) -> bool:
    """SQLite's own check of the journal file says 'ok'."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return bool(connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
    finally:
        connection.close()


def submission(client: int, n: int) -> dict[str, Any]:
    """A valid submission, distinct for each (client, n)."""
    from tests.support.captured import captured_body

    body = captured_body()
    body["video_url"] = f"https://videos.example/adversarial/{client}.mp4"
    body["frame_index"] = n % 300
    body["timestamp"] = f"2026-11-25T08:{n // 60 % 60:02d}:{n % 60:02d}.{client % 1000:03d}Z"
    body["labels"][0]["pixel_x"] = n % 1280
    return body


@dataclass
class Outcome:
    """What a load run got back, by kind."""

    accepted: list[str] = field(default_factory=list)
    server_errors: list[int] = field(default_factory=list)
    other: list[tuple[int, str]] = field(default_factory=list)
    transport_errors: int = 0


async def load(url: str, secrets: Secrets, clients: int, per_client: int, *, stop: Any = None, offset: int = 0) -> Outcome:
    """`clients` concurrent clients each posting `per_client` distinct submissions; answers kept for the scan."""
    import asyncio

    outcome = Outcome()

    async def one_client(client: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            for n in range(per_client):
                if stop is not None and stop.is_set():
                    return
                try:
                    response = await http.post("/api/labels", json=submission(client + offset, n))
                except httpx.TransportError:
                    outcome.transport_errors += 1
                    continue
                secrets.saw(response)
                if response.status_code in (200, 202):
                    outcome.accepted.append(response.json()["id"])
                elif response.status_code >= 500:
                    outcome.server_errors.append(response.status_code)
                else:
                    outcome.other.append((response.status_code, response.text[:200]))

    await asyncio.gather(*(one_client(c) for c in range(clients)))
    return outcome
