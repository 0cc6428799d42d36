"""Fixtures of the adversarial suite: the profile, real servers that are scanned for leaks, and the run's report.

`--adversarial-profile=long` (when tests/adversarial is named on the command
line, since pytest reads this file's options only then) or
`ADVERSARIAL_PROFILE=long` (always) pushes harder; tests/adversarial/report.py
reports the run's counts, summed over xdist's workers. Every test that starts
a server or reads an answer through these fixtures fails at teardown if a
token, a traceback or a server path shows up.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from receiver.cli import main as receiver_cli
from tests.adversarial.harness import GITHUB_TOKEN, PROFILES, Profile, Secrets, Tally
from tests.adversarial.report import TALLY, profile_name
from tests.support.servers import FakeGitHubProcess, ReceiverProcess


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--adversarial-profile",
        choices=sorted(PROFILES),
        default=None,
        help="how hard the adversarial suite pushes (default: short, or ADVERSARIAL_PROFILE)",
    )


@pytest.fixture(scope="session")
def profile(pytestconfig: pytest.Config) -> Profile:
    return PROFILES[profile_name(pytestconfig)]


@pytest.fixture(scope="session")
def tally(pytestconfig: pytest.Config) -> Tally:
    return pytestconfig.stash[TALLY]


@pytest.fixture(scope="session")
def suite_token(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A tokens file made by `receiver tokens add`, and the token it printed once."""
    path = tmp_path_factory.mktemp("tokens") / "tokens.json"
    out = io.StringIO()
    assert receiver_cli(["tokens", "add", "suite-tool", "--file", str(path)], environ={}, out=out) == 0
    token = out.getvalue().split()[-1]
    assert token.startswith("rcv_")
    return path, token


@pytest.fixture
def secrets(suite_token: tuple[Path, str], tally: Tally, tmp_path: Path) -> Iterator[Secrets]:
    """Everything this test saw; at teardown, nothing secret may be in it."""
    seen = Secrets()
    seen.tokens.add(suite_token[1])
    seen.paths.update({tmp_path, tmp_path.resolve(), suite_token[0].parent})
    yield seen
    found = seen.findings()
    tally.add("secrets found", len(found))
    assert found == [], "\n".join(found[:20])


class Client(httpx.Client):
    """An httpx client whose every answer is kept for the secret scan and counted if it is a 5xx."""

    def __init__(self, secrets: Secrets, tally: Tally, **kwargs: object) -> None:
        super().__init__(timeout=30, **kwargs)  # type: ignore[arg-type]
        self._secrets, self._tally = secrets, tally
        self.server_errors: list[httpx.Response] = []
        #: Set by the one test where 503 is the right answer (the journal's disk is full).
        self.allow_503 = False

    def send(self, request: httpx.Request, **kwargs: object) -> httpx.Response:  # type: ignore[override]
        response = super().send(request, **kwargs)  # type: ignore[arg-type]
        response.read()
        self._secrets.saw(response)
        if response.status_code >= 500 and not (self.allow_503 and response.status_code == 503):
            self._tally.add("5xx")
            self.server_errors.append(response)
        return response


@pytest.fixture
def client(secrets: Secrets, tally: Tally) -> Iterator[Client]:
    with Client(secrets, tally) as http:
        yield http


StartReceiver = Callable[..., ReceiverProcess]


@pytest.fixture
def start_receiver(tmp_path: Path, secrets: Secrets, suite_token: tuple[Path, str]) -> Iterator[StartReceiver]:
    """Start `receiver serve` in tmp_path with the suite's GitHub token and tokens file; logs join the scan."""
    started: list[ReceiverProcess] = []

    def start(environ: dict[str, str] | None = None, *, port: int | None = None) -> ReceiverProcess:
        settings = {"GITHUB_TOKEN": GITHUB_TOKEN, "RECEIVER_TOKENS_FILE": str(suite_token[0]), **(environ or {})}
        server = ReceiverProcess(tmp_path / "srv", settings, port=port)
        started.append(server)
        if server.log_path not in secrets.logs:
            secrets.logs.append(server.log_path)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHubProcess]:
    """The project's GitHub fake, knowing the suite's token, with limits out of the way."""
    with FakeGitHubProcess(tmp_path, token=GITHUB_TOKEN) as fake:
        fake.control("POST", "limits", {"primary_per_hour": 1_000_000, "secondary_per_minute": 1_000_000, "secondary_per_hour": 1_000_000})
        yield fake
