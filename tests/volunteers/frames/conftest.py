"""The volunteer loop in-process: an app with configured videos, honest volunteers, and seeded choices.

Every test runs twice: on the SQLite journal, and on PostgreSQL, where the
apps a test starts share one database as receivers on several machines do.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from receiver.settings import Settings
from receiver.volunteers.sessions import SessionKeys
from receiver.volunteers.videos import Video
from receiver.web.app import create_app
from tests.support.captured import captured_body

VIDEO = Video(url="https://videos.example.org/mouse-1.mp4", fps=30.0, frames=50, width=1280, height=720)
OTHER = Video(url="https://videos.example.org/mouse-2.mp4", fps=25.0, frames=20, width=640, height=480)

def truth(video: Video, frame: int) -> list[tuple[float, float]]:
    """Where the six keypoints really are on a frame: fixed per video and frame, well inside it."""
    rng = random.Random(f"{video.url}#{frame}")
    return [(rng.uniform(100, video.width - 100), rng.uniform(100, video.height - 100)) for _ in range(6)]


def honest_label(video: Video, frame: int, volunteer: str, *, noise: float = 3.0, seed: int = 0) -> dict[str, Any]:
    """A submission of `frame` clicked a few pixels from the truth, as a careful volunteer would."""
    rng = random.Random(f"{volunteer}/{frame}/{seed}")
    body = captured_body()
    body.update(video_url=video.url, frame_index=frame, total_frames=video.frames, fps=video.fps, frame_width=video.width, frame_height=video.height)
    for label, (x, y) in zip(body["labels"], truth(video, frame)):
        label.update(placed=True, pixel_x=round(x + rng.gauss(0, noise), 1), pixel_y=round(y + rng.gauss(0, noise), 1))
    body["metadata"] = {"tool": "tests", "volunteer": volunteer}
    return body


def far_label(video: Video, frame: int, volunteer: str) -> dict[str, Any]:
    """A submission of `frame` whose every keypoint is far from the truth: it disagrees."""
    body = honest_label(video, frame, volunteer)
    for label in body["labels"]:
        label.update(pixel_x=(label["pixel_x"] + video.width / 2) % video.width, pixel_y=(label["pixel_y"] + video.height / 2) % video.height)
    return body


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "journal.sqlite3"


#: The session secret of the test apps, so a test can hand a volunteer a frame's lease as next-frame would.
SECRET = "volunteer-loop-tests-secret"


def address_of(name: str) -> str:
    """A client address of its own for each named volunteer (one network each)."""
    digest = hashlib.sha256(name.encode()).digest()
    return f"10.{digest[0]}.{digest[1]}.{digest[2]}"


class Volunteer:
    """A volunteer as the labeling page is one: a session the receiver issued, from an address of its own.

    `post` sends a label with the lease of its frame, as if next-frame had handed
    that frame to this session (the ticket is made with the apps' secret);
    `leased=False` sends it without one, as a page would for a frame nobody gave it.
    """

    def __init__(self, client: TestClient, name: str, token: str) -> None:
        self.name, self.token = name, token
        self.http = TestClient(client.app, client=(address_of(name), 50000))
        self.keys = SessionKeys(SECRET, lifetime=86400.0)
        self.pseudonym = self.keys.verify(token, time.time()).pseudonym

    def headers(self, **extra: str) -> dict[str, str]:
        return {"X-Volunteer-Session": self.token, **extra}

    def post(self, body: dict[str, Any], *, leased: bool = True, ticket: str | None = None) -> Any:
        """Send a label: with `ticket` (the lease next-frame gave), else with one made here when `leased`, else with none."""
        lease = {}
        if ticket is not None:
            lease = {"X-Volunteer-Lease": ticket}
        elif leased:
            session = self.keys.verify(self.token, time.time())
            lease = {"X-Volunteer-Lease": self.keys.ticket(session, body["video_url"], body["frame_index"], time.time() + 3600)}
        return self.http.post("/api/labels", json=body, headers=self.headers(**lease))

    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        return self.http.get(path, params=params, headers=self.headers())


class Apps:
    """Apps started on one journal, each with settings overridden by keywords (default: VIDEO, retire after 3, no rate limit)."""

    def __init__(self, tmp_path: Path, journal_path: Path, journal_url: str | None = None) -> None:
        self.tmp_path, self.journal_path, self.journal_url = tmp_path, journal_path, journal_url
        self.running: list[TestClient] = []
        self.entropy = itertools.count(1)
        self.sessions: dict[str, str] = {}

    def volunteer(self, client: TestClient, name: str) -> Volunteer:
        """The volunteer `name` talking to the app behind `client`; its session is asked for once and kept across restarts."""
        if name not in self.sessions:
            answer = TestClient(client.app, client=(address_of(name), 50000)).post("/api/sessions")
            assert answer.status_code == 201, answer.text
            self.sessions[name] = answer.json()["session"]
        return Volunteer(client, name, self.sessions[name])

    def pseudonym(self, name: str) -> str:
        return SessionKeys(SECRET, lifetime=86400.0).verify(self.sessions[name], time.time()).pseudonym

    def start(self, **overrides: Any) -> TestClient:
        base = Settings(
            local_repo=self.tmp_path / "data" / "annotations.git",
            journal=self.journal_path,
            journal_url=self.journal_url or "",
            rate_limit=None,
            session_limit=None,
            session_secret=SECRET,
            videos=(VIDEO,),
        )
        client = TestClient(create_app(replace(base, **overrides), entropy=lambda: next(self.entropy)))
        client.__enter__()
        self.running.append(client)
        return client

    def stop(self, client: TestClient) -> None:
        """End an app's lifespan (journal closed, worker stopped), as a restart would."""
        self.running.remove(client)
        client.__exit__(None, None, None)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def apps(tmp_path: Path, journal_path: Path, engine: str, request: pytest.FixtureRequest) -> Iterator[Apps]:
    url = request.getfixturevalue("postgres_cluster").database() if engine == "postgresql" else None
    started = Apps(tmp_path, journal_path, url)
    yield started
    for client in list(started.running):
        started.stop(client)
