"""`receiver doctor` acting as a GitHub App: the gate must name the app's bot, which `GET /user` cannot tell.

An installation's token is refused `GET /user` (403, "Resource not accessible
by integration"); the doctor asks `GET /app` with the app's own JWT for its
slug instead, and checks RECEIVER_GATE_AUTHORS against `<slug>[bot]`.
"""

from __future__ import annotations

import io
from pathlib import Path

from receiver.cli import main
from tests.github_fake import FakeGitHub
from tests.stores.test_github_app import pem_pair
from tests.support.github_world import BASE, REPO

from .conftest import Run
from .test_doctor import line

APP_ID, INSTALLATION, BOT = 4242, 77, "pose-labels[bot]"


def doctor_as_app(tmp_path: Path, private_key: str) -> Run:
    key_file = tmp_path / "app.pem"
    key_file.write_text(private_key)
    environ = {
        "RECEIVER_GITHUB_REPOSITORY": REPO,
        "RECEIVER_GITHUB_API_URL": BASE,
        "RECEIVER_GITHUB_APP_ID": str(APP_ID),
        "RECEIVER_GITHUB_APP_INSTALLATION_ID": str(INSTALLATION),
        "RECEIVER_GITHUB_APP_PRIVATE_KEY_FILE": str(key_file),
    }
    out, err = io.StringIO(), io.StringIO()
    code = main(["doctor"], environ=environ, out=out, err=err)
    print(out.getvalue() + err.getvalue())
    return Run(code, out.getvalue(), err.getvalue())


def as_app(fake: FakeGitHub, gate_authors: str) -> str:
    private, public = pem_pair()
    fake.add_app(APP_ID, public, INSTALLATION, BOT)
    fake.set_role(REPO, BOT, "push")
    fake.state.set_variable(fake.state.repository(REPO), "RECEIVER_GATE_AUTHORS", gate_authors, create=False)
    return private


def test_gate_naming_the_apps_bot_passes(fake: FakeGitHub, tmp_path: Path) -> None:
    private = as_app(fake, BOT)
    result = doctor_as_app(tmp_path, private)
    assert line(result.out, "gate authors") == f"PASS gate authors: the gate merges pull requests by {BOT}"
    assert line(result.out, "write access").startswith("PASS write access")


def test_gate_naming_someone_else_fails_naming_the_apps_bot(fake: FakeGitHub, tmp_path: Path) -> None:
    private = as_app(fake, "pose-receiver")
    assert line(doctor_as_app(tmp_path, private).out, "gate authors").startswith(
        f"FAIL gate authors: RECEIVER_GATE_AUTHORS is 'pose-receiver' and does not name {BOT}"
    )


def test_key_of_another_app_is_reported_as_refused_credentials(fake: FakeGitHub, tmp_path: Path) -> None:
    as_app(fake, BOT)
    stranger, _ = pem_pair()
    result = doctor_as_app(tmp_path, stranger)
    assert result.code == 1 and "Traceback" not in result.out + result.err
    assert line(result.out, "repository").startswith("FAIL repository: GitHub refused the credentials: 401")
