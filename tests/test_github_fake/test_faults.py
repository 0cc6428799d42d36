"""Faults on demand: GitHub's errors, unreadable answers, slow answers and dropped connections."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from github import Github, GithubException, UnknownObjectException

from tests.github_fake import FakeGitHub, FakeServer, Fault
from tests.support.github_world import RULE_VIOLATION

from .conftest import REPO, Api

R = f"/repos/{REPO}"
HTML = "<html>unicorn</html>"
PATH_INVALID = {"resource": "Commit", "code": "custom", "field": "path", "message": "path is invalid"}


@pytest.fixture(params=["responses", "http"])
def any_gh(request: pytest.FixtureRequest) -> Github:
    """PyGithub through each way in: in-process via responses, and over a real socket."""
    github: Github = request.getfixturevalue("gh" if request.param == "responses" else "http_gh")
    return github


def refused(call: Any) -> GithubException:
    """The GithubException a PyGithub call raises (fails the test if it returns)."""
    with pytest.raises(GithubException) as caught:
        call()
    return caught.value


class TestServerErrors:
    @pytest.mark.parametrize(("status", "message"), [(502, "Server Error"), (503, "Service Unavailable")])
    def test_status_fault_answers_for_its_count_then_recovers(
        self, api: Api, fake: FakeGitHub, status: int, message: str
    ) -> None:
        """A status fault with count 2 fails two requests with GitHub's body, then answers normally."""
        fake.add_fault(Fault("status", status=status, count=2))
        first, second, third = (api("GET", R) for _ in range(3))
        assert (first.status_code, second.status_code, third.status_code) == (status, status, 200)
        assert first.json()["message"] == message

    def test_fault_before_the_write_leaves_state_alone(self, api: Api, fake: FakeGitHub) -> None:
        """A 502 on a write (default) does not apply it."""
        fake.add_fault(Fault("status", method="POST"))
        head = fake.refs(REPO)["refs/heads/main"]
        assert api("POST", f"{R}/git/refs", json={"ref": "refs/heads/x", "sha": head}).status_code == 502
        assert "refs/heads/x" not in fake.refs(REPO)

    def test_fault_after_the_write_applies_it(self, api: Api, fake: FakeGitHub) -> None:
        """after=True applies the write and still answers 502, so a blind retry meets "already exists"."""
        fake.add_fault(Fault("status", method="POST", after=True))
        head = fake.refs(REPO)["refs/heads/main"]
        assert api("POST", f"{R}/git/refs", json={"ref": "refs/heads/x", "sha": head}).status_code == 502
        assert fake.refs(REPO)["refs/heads/x"] == head
        assert api("POST", f"{R}/git/refs", json={"ref": "refs/heads/x", "sha": head}).status_code == 422

    def test_window_fault_applies_only_inside_the_window(self, api: Api, fake: FakeGitHub) -> None:
        """A fault for [now+10, now+20) on the fake clock hits only requests inside it."""
        now = fake.clock.now()
        fake.add_fault(Fault("status", status=503, count=None, start=now + 10, end=now + 20))
        statuses = []
        for _ in range(3):
            statuses.append(api("GET", R).status_code)
            fake.advance(10)
        assert statuses == [200, 503, 200]

    def test_path_pattern_limits_the_fault(self, api: Api, fake: FakeGitHub) -> None:
        """A fault with a path pattern leaves other routes alone."""
        fake.add_fault(Fault("status", path=r"/pulls$", count=None))
        assert api("GET", R).status_code == 200
        assert api("GET", f"{R}/pulls").status_code == 502


class TestSlowAndDropped:
    def test_delay_fault_sleeps_before_answering(self, api: Api, fake: FakeGitHub) -> None:
        """A delay fault calls the injected sleep (here the fake clock) and then answers."""
        before = fake.clock.now()
        fake.add_fault(Fault("delay", delay=7.5))
        assert api("GET", R).status_code == 200
        assert fake.clock.now() == before + 7.5

    def test_drop_in_process_raises_connection_error(self, api: Api, fake: FakeGitHub) -> None:
        """In responses mode a dropped connection is requests' ConnectionError."""
        fake.add_fault(Fault("drop"))
        with pytest.raises(requests.exceptions.ConnectionError):
            api("GET", R)
        assert api("GET", R).status_code == 200

    def test_drop_over_http_closes_the_socket(self, server: FakeServer, fake: FakeGitHub) -> None:
        """Over real HTTP a dropped connection closes the socket without an answer."""
        fake.add_fault(Fault("drop"))
        client = Api(server.url)
        with pytest.raises(requests.exceptions.ConnectionError):
            client("GET", R)
        assert client("GET", R).status_code == 200
        assert [entry.fault for entry in fake.requests()] == ["drop", None]

    def test_unknown_fault_kind_is_refused(self) -> None:
        """A misspelt fault fails when made, not silently later."""
        with pytest.raises(ValueError, match="unknown fault kind"):
            Fault("explode")  # type: ignore[arg-type]


class TestGitHubErrors:
    def test_rule_violation_reaches_pygithub_with_message_and_errors(self, any_gh: Github, fake: FakeGitHub) -> None:
        """A 422 rule violation on contents PUT is a GithubException with GitHub's message and errors."""
        fake.add_fault(Fault(**RULE_VIOLATION))
        error = refused(lambda: any_gh.get_repo(REPO).create_file("a.txt", "m", "x"))
        assert (error.status, error.data["message"]) == (422, "Repository rule violations found")
        assert error.data["errors"] == [{"message": "Cannot update this protected ref."}]
        assert "a.txt" not in fake.files(REPO)

    def test_validation_failed_carries_field_errors(self, any_gh: Github, fake: FakeGitHub) -> None:
        """A 422 with GitHub's resource/code/field errors hands them to PyGithub as given."""
        fake.add_fault(Fault("status", status=422, message="Validation Failed", errors=[PATH_INVALID]))
        error = refused(lambda: any_gh.get_repo(REPO))
        assert (error.status, error.data["message"], error.data["errors"]) == (422, "Validation Failed", [PATH_INVALID])

    def test_empty_repository_conflict_says_so(self, any_gh: Github, fake: FakeGitHub) -> None:
        """A 409 with GitHub's "Git Repository is empty." message is a plain GithubException."""
        fake.add_fault(Fault("status", status=409, message="Git Repository is empty."))
        error = refused(lambda: any_gh.get_repo(REPO))
        assert (type(error), error.status, error.data["message"]) == (GithubException, 409, "Git Repository is empty.")

    def test_not_found_is_pygithubs_unknown_object(self, any_gh: Github, fake: FakeGitHub) -> None:
        """A 404 fault reads as PyGithub's UnknownObjectException, as a missing object would."""
        fake.add_fault(Fault("status", status=404))
        error = refused(lambda: any_gh.get_repo(REPO))
        assert (type(error), error.status, error.data["message"]) == (UnknownObjectException, 404, "Not Found")

    def test_forbidden_without_retry_after_has_no_retry_after(self, any_gh: Github, fake: FakeGitHub) -> None:
        """A bare 403 is "Forbidden" with no retry-after header (a refusal, not a limit)."""
        fake.add_fault(Fault("status", status=403))
        error = refused(lambda: any_gh.get_repo(REPO))
        assert (error.status, error.data["message"]) == (403, "Forbidden")
        assert error.headers is not None and "retry-after" not in error.headers

    @pytest.mark.parametrize(("status", "message"), [(403, "Forbidden"), (429, "Too Many Requests")])
    def test_retry_after_header_reaches_pygithub(
        self, any_gh: Github, fake: FakeGitHub, status: int, message: str
    ) -> None:
        """A 403 or 429 fault with headers {"retry-after": "60"} gives PyGithub that header."""
        fake.add_fault(Fault("status", status=status, headers={"retry-after": "60"}))
        error = refused(lambda: any_gh.get_repo(REPO))
        assert error.headers is not None
        assert (error.status, error.data["message"], error.headers["retry-after"]) == (status, message, "60")

    @pytest.mark.parametrize(
        ("status", "message"),
        [
            (400, "Problems parsing JSON"),
            (401, "Bad credentials"),
            (403, "Forbidden"),
            (404, "Not Found"),
            (409, "Conflict"),
            (410, "Gone"),
            (422, "Validation Failed"),
            (429, "Too Many Requests"),
            (500, "Server Error"),
            (503, "Service Unavailable"),
            (499, "Client Error"),
            (599, "Server Error"),
        ],
    )
    def test_default_message_is_githubs_usual_one(self, api: Api, fake: FakeGitHub, status: int, message: str) -> None:
        """Without a message, the body says what GitHub usually says for the status."""
        fake.add_fault(Fault("status", status=status))
        answer = api("GET", R)
        assert (answer.status_code, answer.json()["message"]) == (status, message)

    def test_body_leaves_errors_out_unless_given(self, api: Api, fake: FakeGitHub) -> None:
        """Like GitHub, a body without errors has only message and documentation_url."""
        fake.add_fault(Fault("status", status=409))
        assert set(api("GET", R).json()) == {"message", "documentation_url"}

    def test_documentation_url_is_the_one_given(self, api: Api, fake: FakeGitHub) -> None:
        """A fault's documentation_url replaces the docs root in the body."""
        url = "https://docs.github.com/rest/repos/contents#create-or-update-file-contents"
        fake.add_fault(Fault("status", status=409, documentation_url=url))
        assert api("GET", R).json()["documentation_url"] == url

    def test_fault_headers_win_over_the_usual_ones(self, api: Api, fake: FakeGitHub) -> None:
        """A fault can play its own x-ratelimit-* headers (the fake's are replaced)."""
        fake.add_fault(Fault("status", status=403, headers={"X-RateLimit-Remaining": "0"}))
        assert api("GET", R).headers["x-ratelimit-remaining"] == "0"

    def test_client_error_after_the_write_applies_it(self, any_gh: Github, fake: FakeGitHub) -> None:
        """after=True with a 422 writes the file and still answers 422."""
        fake.add_fault(Fault("status", status=422, method="PUT", after=True))
        error = refused(lambda: any_gh.get_repo(REPO).create_file("a.txt", "m", "x"))
        assert error.status == 422
        assert fake.files(REPO)["a.txt"] == b"x"

    def test_log_records_the_played_status(self, api: Api, fake: FakeGitHub) -> None:
        """The request log keeps a faulted answer's status and the fault's kind."""
        fake.add_fault(Fault("status", status=429, headers={"retry-after": "60"}))
        api("GET", R)
        assert [(entry.status, entry.fault) for entry in fake.requests()] == [(429, "status")]


class TestUnreadableAnswers:
    def test_body_fault_answers_the_raw_text_as_html(self, api: Api, fake: FakeGitHub) -> None:
        """A body fault answers 200 with its text, Content-Type text/html by default."""
        fake.add_fault(Fault("body", body=HTML))
        answer = api("GET", R)
        assert (answer.status_code, answer.text, answer.headers["content-type"]) == (
            200,
            HTML,
            "text/html; charset=utf-8",
        )

    def test_body_fault_uses_the_content_type_given(self, api: Api, fake: FakeGitHub) -> None:
        """content_type sets the answer's Content-Type, e.g. JSON that is cut short."""
        fake.add_fault(Fault("body", body='{"sha": 1', content_type="application/json; charset=utf-8"))
        answer = api("GET", R)
        assert (answer.text, answer.headers["content-type"]) == ('{"sha": 1', "application/json; charset=utf-8")

    def test_pygithub_takes_html_as_an_object_without_fields(self, any_gh: Github, fake: FakeGitHub) -> None:
        """PyGithub does not raise on a 200 HTML answer: the object's raw_data is {"data": html}, its fields None."""
        repo = any_gh.get_repo(REPO)
        fake.add_fault(Fault("body", body=HTML, path="/git/ref/"))
        ref = repo.get_git_ref("heads/main")
        assert ref.raw_data["data"] == HTML
        assert ref.object is None

    def test_pygithub_raises_json_error_on_cut_json(self, any_gh: Github, fake: FakeGitHub) -> None:
        """PyGithub lets json's JSONDecodeError escape (not a GithubException) when JSON is cut short."""
        fake.add_fault(Fault("body", body='{"sha": 1', content_type="application/json"))
        with pytest.raises(json.JSONDecodeError):
            any_gh.get_repo(REPO)

    def test_pygithub_keeps_an_html_error_page_as_data(self, any_gh: Github, fake: FakeGitHub) -> None:
        """A 502 HTML page is a GithubException whose data is {"data": html}, with no message."""
        fake.add_fault(Fault("body", status=502, body=HTML))
        error = refused(lambda: any_gh.get_repo(REPO))
        assert (error.status, error.data) == (502, {"data": HTML})

    def test_unreadable_answer_after_the_write_applies_it(self, any_gh: Github, fake: FakeGitHub) -> None:
        """after=True with an HTML 200 writes the file; PyGithub's create_file then fails with KeyError."""
        fake.add_fault(Fault("body", body=HTML, method="PUT", after=True))
        with pytest.raises(KeyError, match="content"):
            any_gh.get_repo(REPO).create_file("a.txt", "m", "x")
        assert fake.files(REPO)["a.txt"] == b"x"

    def test_log_records_the_body_fault(self, api: Api, fake: FakeGitHub) -> None:
        """The request log keeps a body fault's status and kind."""
        fake.add_fault(Fault("body", status=503, body=HTML))
        api("GET", R)
        assert [(entry.status, entry.fault) for entry in fake.requests()] == [(503, "body")]


class TestRefusedFaults:
    @pytest.mark.parametrize("status", [200, 302, 399, 600, True, "422"])
    def test_status_fault_outside_4xx_5xx_is_refused(self, status: Any) -> None:
        """A status fault takes only an int from 400 to 599."""
        with pytest.raises(ValueError, match="4xx or 5xx"):
            Fault("status", status=status)

    @pytest.mark.parametrize("status", [100, 199, 600])
    def test_body_fault_outside_2xx_5xx_is_refused(self, status: int) -> None:
        """A body fault takes only a status from 200 to 599."""
        with pytest.raises(ValueError, match="2xx to 5xx"):
            Fault("body", status=status, body=HTML)

    @pytest.mark.parametrize(
        "fields",
        [
            {"kind": "delay", "message": "m"},
            {"kind": "drop", "status": 502},
            {"kind": "status", "body": HTML},
            {"kind": "body", "errors": []},
        ],
    )
    def test_field_the_kind_does_not_take_is_refused(self, fields: dict[str, Any]) -> None:
        """A field that would be ignored by the fault's kind is an error, not silence."""
        with pytest.raises(ValueError, match="takes no"):
            Fault(**fields)

    def test_header_values_must_be_strings(self) -> None:
        """headers={"retry-after": 60} is refused: HTTP header values are text."""
        with pytest.raises(ValueError, match="string values"):
            Fault("status", status=429, headers={"retry-after": 60})  # type: ignore[dict-item]

    def test_errors_must_be_a_list_of_objects(self) -> None:
        """errors must be GitHub's list of objects, not a bare string."""
        with pytest.raises(ValueError, match="list of objects"):
            Fault("status", status=422, errors="path is invalid")  # type: ignore[arg-type]
