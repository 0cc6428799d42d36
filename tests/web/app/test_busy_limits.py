"""A limit check that cannot get its turn in time refuses the submission as busy (503), never as the client's fault."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from receiver.access.limitstate import Refusal
from receiver.settings import Settings
from receiver.web.app import create_app
from tests.support.captured import captured_body


class BusyLimits:
    """Limits whose every check timed out waiting for its turn."""

    active = True
    local = True

    def open(self) -> BusyLimits:
        return self

    def close(self) -> None: ...

    def admit(self, key: str, now: float) -> Refusal | None:
        return Refusal("busy", 2.0)


def test_a_busy_limit_check_is_503_with_retry_after_and_keeps_nothing(tmp_path: Path) -> None:
    """503, Retry-After, a sentence saying nothing was saved and to submit again; the journal holds nothing."""
    with TestClient(create_app(Settings(local_repo=tmp_path / "data" / "annotations.git"))) as client:
        client.app.state.receiver.limits = BusyLimits()  # type: ignore[attr-defined]
        answer = client.post("/api/labels", json=captured_body())
        listing = client.get("/api/annotations").json()
    assert answer.status_code == 503 and answer.headers["retry-after"] == "2"
    assert answer.json()["error"] == "The receiver is too busy to check its limits; nothing was saved. Submit again in 2 s."
    assert listing["count"] == 0
