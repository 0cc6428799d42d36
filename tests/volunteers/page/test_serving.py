"""The receiver serves the page and the skeleton; `receiver page build` writes the page for a static host."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from receiver.cli import main
from receiver.contract.schemas import load_skeleton
from receiver.settings import Settings
from receiver.web.app import create_app
from receiver.web.labeling import PAGE_DIR


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(local_repo=tmp_path / "data" / "annotations.git")
    with TestClient(create_app(settings)) as running:
        yield running


class TestServed:
    def test_label_is_the_page_with_its_modules_from_the_receiver(self, client: TestClient) -> None:
        """GET /label answers the labeling page, loading its module from /page/."""
        answer = client.get("/label")
        assert answer.status_code == 200
        assert '<script type="module" src="/page/label.js"></script>' in answer.text
        assert "{{assets}}" not in answer.text

    def test_review_is_the_review_view(self, client: TestClient) -> None:
        """GET /review/{id} answers the review view, whatever the id (the page asks the API)."""
        answer = client.get("/review/0123456789abcdef0123456789abcdef")
        assert answer.status_code == 200
        assert '<script type="module" src="/page/review.js"></script>' in answer.text

    def test_modules_are_served_as_javascript(self, client: TestClient) -> None:
        """Each ES module is served as it is, as JavaScript."""
        for module in sorted(PAGE_DIR.glob("*.js")):
            answer = client.get(f"/page/{module.name}")
            assert answer.status_code == 200
            assert answer.headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript")
            assert answer.text == module.read_text(encoding="utf-8")

    def test_skeleton_lists_the_keypoints_and_edges_of_the_skeleton_file(self, client: TestClient) -> None:
        """GET /api/skeleton is the skeleton file's keypoints in order, and its edges."""
        skeleton = load_skeleton()
        body = client.get("/api/skeleton").json()
        assert [k["id"] for k in body["keypoints"]] == [k.id for k in skeleton.keypoints]
        assert [tuple(e) for e in body["edges"]] == list(skeleton.edges)


class TestBuild:
    def test_build_writes_the_page_posting_to_the_receiver_url(self, tmp_path: Path) -> None:
        """`receiver page build DIR --receiver-url URL` writes index.html, review.html, the modules and a config naming URL."""
        out = io.StringIO()
        code = main(["page", "build", str(tmp_path / "site"), "--receiver-url", "https://labels.example.org/"], out=out, err=io.StringIO())
        site = tmp_path / "site"
        assert code == 0
        assert '<script type="module" src="./label.js"></script>' in (site / "index.html").read_text()
        assert '<script type="module" src="./review.js"></script>' in (site / "review.html").read_text()
        assert 'receiverUrl: "https://labels.example.org"' in (site / "config.js").read_text()
        assert {p.name for p in PAGE_DIR.glob("*.js")} <= {p.name for p in site.iterdir()}

    def test_build_refuses_a_receiver_url_that_is_not_http(self, tmp_path: Path) -> None:
        """A receiver URL without http(s) is a usage error that says what is expected."""
        err = io.StringIO()
        code = main(["page", "build", str(tmp_path / "site"), "--receiver-url", "labels.example.org"], out=io.StringIO(), err=err)
        assert code == 2
        assert "--receiver-url must be an http(s) address" in err.getvalue()
        assert not (tmp_path / "site").exists()
