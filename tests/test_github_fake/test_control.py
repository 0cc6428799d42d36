"""Driving the fake from another process: control endpoints under /_fake/ and the module's CLI."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from github import Github, GithubException

from tests.github_fake import FakeGitHub, FakeServer

from .conftest import OWNER_TOKEN, REPO, Api, pygithub

ROOT = Path(__file__).resolve().parents[2]
PATH_INVALID = {"resource": "Commit", "code": "custom", "field": "path", "message": "path is invalid"}


def call(url: str, method: str = "GET", body: Any = None, token: str | None = None) -> tuple[int, Any]:
    """Plain urllib (what another process would use), so no responses mock is involved."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if token is not None:
        request.add_header("authorization", f"token {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class TestControlEndpoints:
    def test_state_lists_refs_files_and_pulls(self, server: FakeServer) -> None:
        """GET /_fake/state returns the branch's files (base64), refs and PRs."""
        status, state = call(f"{server.url}/_fake/state?repo={REPO}")
        assert status == 200
        assert base64.b64decode(state["files"]["README.md"]) == b"# data\n"
        assert set(state["refs"]) == {"refs/heads/main"}
        assert state["pulls"] == []

    def test_tokens_and_forks_set_up_a_fork_pull(self, server: FakeServer, fake: FakeGitHub) -> None:
        """POST /_fake/tokens and /_fake/forks let another process open a fork PR."""
        call(f"{server.url}/_fake/tokens", "POST", {"token": "t2", "login": "volunteer"})
        assert (
            call(f"{server.url}/_fake/forks", "POST", {"repo": REPO, "owner": "volunteer"})[1]["full_name"]
            == "volunteer/data"
        )
        api = Api(server.url, token="t2")
        head = fake.refs("volunteer/data")["refs/heads/main"]
        api.ok("POST", "/repos/volunteer/data/git/refs", {"ref": "refs/heads/x", "sha": head})
        api.ok("PUT", "/repos/volunteer/data/contents/x.txt", {"message": "m", "content": "eA==", "branch": "x"})
        pull = api.ok("POST", f"/repos/{REPO}/pulls", {"title": "t", "head": "volunteer:x", "base": "main"})
        assert (pull["user"]["login"], pull["head"]["repo"]["full_name"]) == ("volunteer", "volunteer/data")

    def test_faults_limits_and_clock(self, server: FakeServer) -> None:
        """Faults, limits and the clock are set over HTTP, and the log shows their effect."""
        call(f"{server.url}/_fake/faults", "POST", {"kind": "status", "status": 503, "count": 1})
        assert call(f"{server.url}/repos/{REPO}", token=OWNER_TOKEN)[0] == 503
        call(f"{server.url}/_fake/limits", "POST", {"secondary_per_minute": 1})
        blob = {"content": "x"}
        assert call(f"{server.url}/repos/{REPO}/git/blobs", "POST", blob, OWNER_TOKEN)[0] == 201
        assert call(f"{server.url}/repos/{REPO}/git/blobs", "POST", blob, OWNER_TOKEN)[0] == 403
        before = call(f"{server.url}/_fake/clock")[1]["now"]
        assert call(f"{server.url}/_fake/clock", "POST", {"advance": 60})[1]["now"] == before + 60
        assert call(f"{server.url}/repos/{REPO}/git/blobs", "POST", blob, OWNER_TOKEN)[0] == 201
        log = call(f"{server.url}/_fake/log")[1]
        assert [(e["status"], e["content_creating"]) for e in log] == [
            (503, False),
            (201, True),
            (403, True),
            (201, True),
        ]

    def test_objects_export_every_git_object(self, server: FakeServer, fake: FakeGitHub) -> None:
        """GET /_fake/objects has each object's type and body."""
        objects = call(f"{server.url}/_fake/objects")[1]
        head = fake.refs(REPO)["refs/heads/main"]
        assert objects[head]["type"] == "commit"
        assert base64.b64decode(objects[head]["body"]).startswith(b"tree ")

    def test_unknown_control_route_is_404_naming_it(self, server: FakeServer) -> None:
        """A control route that does not exist says so."""
        status, body = call(f"{server.url}/_fake/nope")
        assert status == 404 and "unmodelled control route" in body["message"]

    def test_bad_control_request_is_422(self, server: FakeServer) -> None:
        """A fault with an unknown kind is refused with 422, not a crash."""
        status, body = call(f"{server.url}/_fake/faults", "POST", {"kind": "explode"})
        assert status == 422 and "unknown fault kind" in body["message"]


class TestFaultJson:
    def test_status_fault_json_plays_message_errors_and_headers(self, server: FakeServer) -> None:
        """A status fault posted as JSON answers its status, GitHub-shaped body and extra headers."""
        fault = {"kind": "status", "status": 422, "errors": [PATH_INVALID], "headers": {"x-fake-note": "n"}}
        call(f"{server.url}/_fake/faults", "POST", fault)
        answer = Api(server.url)("GET", f"/repos/{REPO}")
        assert (answer.status_code, answer.headers["x-fake-note"]) == (422, "n")
        assert answer.json() == {
            "message": "Validation Failed",
            "errors": [PATH_INVALID],
            "documentation_url": "https://docs.github.com/rest",
        }

    def test_body_fault_json_plays_the_raw_text(self, server: FakeServer) -> None:
        """A body fault posted as JSON answers its text with its status."""
        call(f"{server.url}/_fake/faults", "POST", {"kind": "body", "status": 200, "body": "<html>unicorn</html>"})
        answer = Api(server.url)("GET", f"/repos/{REPO}")
        assert (answer.status_code, answer.text) == (200, "<html>unicorn</html>")

    def test_posted_fault_is_answered_as_made(self, server: FakeServer) -> None:
        """POST /_fake/faults echoes the fault with its defaults filled and header names lower-cased."""
        status, fault = call(f"{server.url}/_fake/faults", "POST", {"kind": "status", "headers": {"Retry-After": "60"}})
        assert (status, fault["status"], fault["headers"]) == (201, 502, {"retry-after": "60"})

    def test_status_outside_4xx_5xx_is_422(self, server: FakeServer) -> None:
        """A status fault for a 2xx is refused, naming the allowed range."""
        status, body = call(f"{server.url}/_fake/faults", "POST", {"kind": "status", "status": 200})
        assert status == 422 and "4xx or 5xx (400-599)" in body["message"]

    def test_unknown_fault_field_is_422(self, server: FakeServer) -> None:
        """A misspelt field is refused, naming it."""
        status, body = call(f"{server.url}/_fake/faults", "POST", {"kind": "status", "retry_after": "60"})
        assert status == 422 and "retry_after" in body["message"]

    def test_log_lists_faulted_answers_with_their_status(self, server: FakeServer) -> None:
        """GET /_fake/log shows each faulted answer's status and fault kind."""
        call(f"{server.url}/_fake/faults", "POST", {"kind": "status", "status": 404})
        call(f"{server.url}/_fake/faults", "POST", {"kind": "body", "status": 502, "body": "<html>"})
        api = Api(server.url)
        for _ in range(3):
            api("GET", f"/repos/{REPO}")
        log = call(f"{server.url}/_fake/log")[1]
        assert [(e["status"], e["fault"]) for e in log] == [(404, "status"), (502, "body"), (200, None)]


@contextmanager
def _cli_process() -> Iterator[str]:
    """`python -m tests.github_fake` on a free port; ready when it prints its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.github_fake", "--port", "0", "--repo", "acme/labels", "--token", "T"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    try:
        assert line.startswith("fake github listening on "), line
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


@pytest.fixture
def subprocess_url() -> Iterator[str]:
    with _cli_process() as url:
        yield url


def test_module_cli_serves_the_repository_with_the_token(subprocess_url: str) -> None:
    """The CLI creates the repo with a README on main and accepts the token as the owner."""
    status, repo = call(f"{subprocess_url}/repos/acme/labels", token="T")
    assert (status, repo["full_name"], repo["default_branch"]) == (200, "acme/labels", "main")
    assert call(f"{subprocess_url}/repos/acme/labels", token="wrong")[0] == 401


#: The faults the project's tests play, as they post them, and what PyGithub then reports.
EXAMPLES: list[tuple[dict[str, Any], int, str, str | None]] = [
    (
        {
            "kind": "status",
            "status": 422,
            "message": "Repository rule violations found",
            "errors": [{"message": "Cannot update this protected ref."}],
            "method": "PUT",
            "path": "/contents/",
            "count": None,
        },
        422,
        "Repository rule violations found",
        None,
    ),
    (
        {"kind": "status", "status": 422, "message": "Validation Failed", "errors": [PATH_INVALID]},
        422,
        "Validation Failed",
        None,
    ),
    ({"kind": "status", "status": 409, "message": "Git Repository is empty."}, 409, "Git Repository is empty.", None),
    ({"kind": "status", "status": 404}, 404, "Not Found", None),
    ({"kind": "status", "status": 403}, 403, "Forbidden", None),
    ({"kind": "status", "status": 403, "headers": {"retry-after": "60"}}, 403, "Forbidden", "60"),
    ({"kind": "status", "status": 429, "headers": {"retry-after": "60"}}, 429, "Too Many Requests", "60"),
]


@pytest.fixture(scope="module")
def cli_url() -> Iterator[str]:
    """One CLI process for the example tests (each clears its faults)."""
    with _cli_process() as url:
        yield url


@pytest.fixture
def cli_gh(cli_url: str) -> Iterator[Github]:
    github = pygithub(cli_url, "T")
    yield github
    github.close()
    call(f"{cli_url}/_fake/faults", "DELETE")


@pytest.mark.parametrize(("fault", "status", "message", "retry_after"), EXAMPLES)
def test_cli_process_plays_example_fault_to_pygithub(
    cli_url: str, cli_gh: Github, fault: dict[str, Any], status: int, message: str, retry_after: str | None
) -> None:
    """Each example fault posted to the CLI process reaches PyGithub's GithubException as posted."""
    repo = cli_gh.get_repo("acme/labels")
    call(f"{cli_url}/_fake/faults", "POST", fault)
    with pytest.raises(GithubException) as caught:
        repo.create_file("a.txt", "m", "x")
    error = caught.value
    assert error.headers is not None
    assert (error.status, error.data["message"], error.data.get("errors"), error.headers.get("retry-after")) == (
        status,
        message,
        fault.get("errors"),
        retry_after,
    )


def test_cli_process_plays_html_to_pygithub(cli_url: str, cli_gh: Github) -> None:
    """The body example posted to the CLI process gives PyGithub a ref whose raw_data is the HTML."""
    repo = cli_gh.get_repo("acme/labels")
    call(f"{cli_url}/_fake/faults", "POST", {"kind": "body", "status": 200, "body": "<html>unicorn</html>"})
    ref = repo.get_git_ref("heads/main")
    assert ref.raw_data["data"] == "<html>unicorn</html>"
    assert ref.object is None
