"""The read side: submission status, listing, health, the API description."""

from __future__ import annotations

import json

import jsonschema
import pytest
from starlette.testclient import TestClient

from receiver.contract.schemas import SUBMISSION, load_schema
from tests.support.captured import captured_body

JSON = {"Content-Type": "application/json"}


def submit(client: TestClient, **changes: object) -> dict:
    body = {**captured_body(), **changes}
    return client.post("/api/labels", content=json.dumps(body), headers=JSON).json()


def test_status_of_unknown_id_is_404(client: TestClient) -> None:
    assert client.get("/api/submissions/" + "0" * 32).status_code == 404
    assert client.get("/api/submissions/../../etc").status_code == 404


def test_status_shows_path_and_state(client: TestClient) -> None:
    accepted = submit(client)
    status = client.get(accepted["status_url"]).json()
    assert status["id"] == accepted["id"]
    assert status["status"] in ("queued", "delivered")
    assert status["path"].startswith("annotations/") and status["path"].endswith(f"{accepted['id']}.json")


def test_listing_pages_and_filters_by_video(client: TestClient) -> None:
    for frame in range(5):
        submit(client, frame_index=frame)
    submit(client, video_url="https://videos.example.org/other.mp4")
    page = client.get("/api/annotations", params={"per_page": 2, "page": 2}).json()
    assert page["count"] == 6 and len(page["annotations"]) == 2
    assert [a["frame_index"] for a in page["annotations"]] == [2, 3]
    other = client.get("/api/annotations", params={"video_url": "https://videos.example.org/other.mp4"}).json()
    assert other["count"] == 1


@pytest.mark.parametrize("query", [{"page": "0"}, {"per_page": "x"}, {"per_page": "100000"}, {"page": "²"}, {"per_page": "٣"}])
def test_bad_paging_gets_400(client: TestClient, query: dict[str, str]) -> None:
    response = client.get("/api/annotations", params=query)
    assert response.status_code == 400
    assert "whole number" in response.json()["error"]


def test_health_reports_backlog_and_store(client: TestClient) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert {"backlog", "queued", "delivered", "failed"} <= set(health["journal"])
    assert health["store"]["name"] == "local"


def test_openapi_embeds_the_submission_schema(client: TestClient) -> None:
    """The API description is generated from schemas/, not restated."""
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    submission = document["components"]["schemas"]["Submission"]
    assert submission["required"] == load_schema(SUBMISSION)["required"]
    resolver_root = {"components": document["components"], **submission}
    jsonschema.Draft202012Validator(resolver_root).validate(captured_body())


def test_openapi_label_carries_the_schemas_visible_flag(client: TestClient) -> None:
    """The optional visible flag of a label reaches the API description from schemas/, not restated."""
    label = client.get("/openapi.json").json()["components"]["schemas"]["Label"]
    assert label["properties"]["visible"] == load_schema(SUBMISSION)["$defs"]["label"]["properties"]["visible"]
    assert "visible" not in label["required"]


def test_docs_page_serves_its_assets_locally(client: TestClient) -> None:
    """/docs works offline: the interactive page's script is served by the receiver itself."""
    page = client.get("/docs")
    assert page.status_code == 200 and "/openapi.json" in page.text
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_root_redirects_to_docs(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code in (302, 307) and response.headers["location"] == "/docs"
