"""POST /api/labels and /api/annotations: every answer a labeling page can get."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from receiver.access.tokens import add_token
from tests.support.captured import captured_body, captured_posts, captured_requests
from tests.web.app.conftest import PAGE, ClientFactory, FakeClock

JSON = {"Content-Type": "application/json"}


def post(client: TestClient, body: object, path: str = "/api/labels", **headers: str) -> object:
    return client.post(path, content=json.dumps(body).encode(), headers={**JSON, **headers})


class TestCapturedRequests:
    @pytest.mark.parametrize("request_", captured_posts(), ids=lambda r: r.name)
    def test_captured_post_is_accepted_with_cors(self, client: TestClient, request_: object) -> None:
        """The page's own bytes and headers get 202 and the header the browser needs."""
        headers = {k: v for k, v in request_.headers if k.lower() not in ("host", "content-length", "connection")}
        response = client.post(request_.path, content=request_.body, headers=headers)
        assert response.status_code == 202
        assert response.headers["access-control-allow-origin"] == PAGE
        assert response.json()["status_url"] == f"/api/submissions/{response.json()['id']}"

    def test_captured_preflight_is_answered(self, client: TestClient) -> None:
        preflight = next(r for r in captured_requests() if r.method == "OPTIONS")
        headers = {k: v for k, v in preflight.headers if k.lower() not in ("host", "connection")}
        response = client.options(preflight.path, headers=headers)
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == PAGE
        assert "POST" in response.headers["access-control-allow-methods"]
        assert "content-type" in response.headers["access-control-allow-headers"].lower()


def test_both_paths_share_one_handler(client: TestClient) -> None:
    """A post to /api/annotations and a re-post to /api/labels are the same record."""
    first = post(client, captured_body(), "/api/annotations")
    second = post(client, captured_body(), "/api/labels")
    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json()["id"] == second.json()["id"]


def test_repost_names_the_existing_record(client: TestClient) -> None:
    first = post(client, captured_body())
    again = post(client, captured_body())
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.text.startswith('{"message":"Already received')


def test_first_hundred_characters_read_as_a_sentence(client: TestClient) -> None:
    """The page shows a volunteer the first 100 characters of the answer."""
    accepted = post(client, captured_body()).text[:100]
    assert accepted.startswith('{"message":"Thank you! Your labels for frame 178 were received')


def test_invalid_labels_get_422_with_every_problem(client: TestClient) -> None:
    body = captured_body()
    body["frame_width"], body["labels"][2]["pixel_x"] = 1920, 2000
    body["fps"] = True
    response = post(client, body)
    assert response.status_code == 422
    answer = response.json()
    assert answer["details"] == ["/fps: must be a number, not true (a boolean)", "/labels/2/pixel_x: 2000 is outside the frame (width 1920)"]
    assert answer["error"].startswith("Not saved, 2 problems to fix: /fps")
    assert {"pointer": "/labels/2/pixel_x", "message": "2000 is outside the frame (width 1920)"} in answer["problems"]
    assert response.headers["access-control-allow-origin"] == PAGE


@pytest.mark.parametrize(
    ("body", "phrase"),
    [
        (b"{nope", "not valid JSON"),
        (b'{"fps": NaN}', "NaN"),
        (b'{"a": "\xff"}', "UTF-8"),
        (b"[" * 10_000 + b"]" * 10_000, "nests too deeply"),
        (b'{"a": 1, "a": 1}', "appears twice"),
        (b"", "empty"),
    ],
)
def test_unparsable_body_gets_400_with_a_sentence(client: TestClient, body: bytes, phrase: str) -> None:
    response = client.post("/api/labels", content=body, headers=JSON)
    assert response.status_code == 400
    assert phrase in response.json()["error"]
    assert response.headers["access-control-allow-origin"] == PAGE


@pytest.mark.parametrize("document", [[], "labels", 42, None])
def test_body_that_is_not_an_object_gets_422(client: TestClient, document: object) -> None:
    response = post(client, document)
    assert response.status_code == 422
    assert response.json()["problems"][0]["pointer"] == ""


def test_oversized_body_gets_413(client: TestClient) -> None:
    response = client.post("/api/labels", content=b" " * 70_000, headers=JSON)
    assert response.status_code == 413
    assert "one frame's labels" in response.json()["error"]


def test_oversized_chunked_body_gets_413(client: TestClient) -> None:
    """A body without Content-Length is counted as it streams."""
    response = client.post("/api/labels", content=iter([b" " * 40_000, b" " * 40_000]), headers=JSON)
    assert response.status_code == 413


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_wrong_content_type_gets_415(client: TestClient, content_type: str) -> None:
    response = client.post("/api/labels", content=json.dumps(captured_body()), headers={"Content-Type": content_type})
    assert response.status_code == 415
    assert "application/json" in response.json()["error"]


def test_json_with_charset_is_accepted(client: TestClient) -> None:
    response = client.post("/api/labels", content=json.dumps(captured_body()), headers={"Content-Type": "application/json; charset=utf-8"})
    assert response.status_code == 202


def test_unknown_method_gets_405_with_a_sentence(client: TestClient) -> None:
    response = client.delete("/api/labels")
    assert response.status_code == 405
    assert "not allowed" in response.json()["error"]


def test_unknown_path_gets_404_pointing_to_the_endpoint(client: TestClient) -> None:
    response = client.get("/api/nothing")
    assert response.status_code == 404
    assert "/api/labels" in response.json()["error"]


class TestTokens:
    @pytest.fixture
    def token_client(self, make_client: ClientFactory, tmp_path: Path) -> tuple[TestClient, str]:
        tokens = tmp_path / "tokens.json"
        token = add_token(tokens, "lab-tool")
        return make_client(tokens_file=tokens), token

    def test_token_names_the_submitter(self, token_client: tuple[TestClient, str]) -> None:
        client, token = token_client
        response = post(client, captured_body(), Authorization=f"Bearer {token}")
        assert response.status_code == 202
        assert client.get(response.json()["status_url"]).json()["submitter"] == "lab-tool"

    def test_unknown_token_gets_403(self, token_client: tuple[TestClient, str]) -> None:
        client, token = token_client
        response = post(client, captured_body(), Authorization=f"Bearer {token}x")
        assert response.status_code == 403
        assert token not in response.text

    def test_malformed_authorization_gets_401(self, token_client: tuple[TestClient, str]) -> None:
        client, _ = token_client
        response = post(client, captured_body(), Authorization="Basic dXNlcjpwYXNz")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"

    def test_tokens_file_keeps_only_hashes(self, token_client: tuple[TestClient, str], tmp_path: Path) -> None:
        _, token = token_client
        assert token not in (tmp_path / "tokens.json").read_text()

    def test_token_mode_without_public_needs_a_token(self, make_client: ClientFactory) -> None:
        client = make_client(public=False)
        response = post(client, captured_body())
        assert response.status_code == 401


class TestRateLimit:
    def test_flooding_client_gets_429_with_retry_after(self, make_client: ClientFactory, clock: FakeClock) -> None:
        from receiver.settings import RateLimit

        client = make_client(rate_limit=RateLimit(3, 60.0))
        answers = []
        for frame in range(5):
            body = captured_body()
            body["frame_index"] = frame
            answers.append(post(client, body))
        assert [a.status_code for a in answers] == [202, 202, 202, 429, 429]
        assert answers[3].headers["retry-after"] == "20"
        assert answers[3].headers["access-control-allow-origin"] == PAGE
        clock.advance(20)
        assert post(client, captured_body()).status_code in (200, 202)

    def test_token_holders_are_not_limited(self, make_client: ClientFactory, tmp_path: Path) -> None:
        from receiver.settings import RateLimit

        token = add_token(tmp_path / "t.json", "tool")
        client = make_client(rate_limit=RateLimit(1, 60.0), tokens_file=tmp_path / "t.json")
        codes = [post(client, {**captured_body(), "frame_index": n}, Authorization=f"Bearer {token}").status_code for n in range(3)]
        assert codes == [202, 202, 202]

    def test_limit_zero_turns_it_off(self, make_client: ClientFactory) -> None:
        client = make_client(rate_limit=None)
        codes = {post(client, {**captured_body(), "frame_index": n}).status_code for n in range(20)}
        assert codes == {202}


class TestCors:
    def test_preflight_from_unlisted_origin_is_refused(self, client: TestClient) -> None:
        response = client.options(
            "/api/labels",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
        )
        assert response.status_code == 400
        assert "access-control-allow-origin" not in response.headers

    def test_listed_origin_is_allowed(self, make_client: ClientFactory) -> None:
        client = make_client(allowed_origins=("https://labels.example.org",))
        response = client.post("/api/labels", content=json.dumps(captured_body()), headers={**JSON, "Origin": "https://labels.example.org"})
        assert response.headers["access-control-allow-origin"] == "https://labels.example.org"

    def test_localhost_is_not_allowed_once_a_list_is_set(self, make_client: ClientFactory) -> None:
        client = make_client(allowed_origins=("https://labels.example.org",))
        response = post(client, captured_body())
        assert "access-control-allow-origin" not in response.headers


def test_labels_without_names_are_stored_with_the_skeletons_names(client: TestClient) -> None:
    """A page may leave names out: the record is built from the filled submission, so it is the same record as with names."""
    bare = captured_body()
    for label in bare["labels"]:
        del label["name"]
    first = post(client, bare)
    again = post(client, captured_body())
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]


def test_hostile_url_is_refused_at_its_pointer(client: TestClient) -> None:
    """The issue's example: a newline in video_url no longer yields a 202."""
    body = captured_body()
    body["video_url"] = "https://example.org/v.mp4\n\nCloses #1\n\n@octocat\n\nCo-authored-by: Mallory <m@example.org>"
    response = post(client, body)
    assert response.status_code == 422
    [problem] = response.json()["problems"]
    assert problem["pointer"] == "/video_url" and "U+000A" in problem["message"]


def test_an_unparseable_host_in_the_url_is_a_422_not_a_500(client: TestClient) -> None:
    """An unclosed IPv6 bracket made the URL parser raise inside validation."""
    body = captured_body()
    body["video_url"] = "https://[::1/video.mp4"
    response = post(client, body)
    assert response.status_code == 422
    assert [p["pointer"] for p in response.json()["problems"]] == ["/video_url"]
