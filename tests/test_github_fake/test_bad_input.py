"""Bad input gets GitHub's answers (400 or 422 with a message), never a traceback."""

from __future__ import annotations

import pytest

from tests.github_fake import FakeGitHub

from .conftest import REPO, Api

R = f"/repos/{REPO}"


def test_malformed_json_is_400_problems_parsing_json(api: Api) -> None:
    """A body that is not JSON answers 400 "Problems parsing JSON"."""
    response = api("POST", f"{R}/git/blobs", data=b"{not json")
    assert (response.status_code, response.json()["message"]) == (400, "Problems parsing JSON")


def test_json_that_is_not_an_object_is_400(api: Api) -> None:
    """A JSON array where an object is expected answers 400."""
    assert api("POST", f"{R}/git/refs", json=["x"]).status_code == 400


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/git/refs", {"sha": "0" * 40}, "ref"),
        ("/git/blobs", {}, "content"),
        ("/git/commits", {"message": "m"}, "tree"),
        ("/contents/a.txt", {"content": "eA=="}, "message"),
        ("/pulls", {"title": "t", "base": "main"}, "head"),
    ],
)
def test_missing_field_is_422_naming_it(api: Api, path: str, body: dict[str, str], field: str) -> None:
    """A request without a required field answers 422 'Invalid request. "<field>" wasn't supplied.'."""
    response = api("POST" if not path.startswith("/contents") else "PUT", f"{R}{path}", json=body)
    assert response.status_code == 422
    assert response.json()["message"] == f'Invalid request.\n\n"{field}" wasn\'t supplied.'


def test_wrong_type_is_422(api: Api) -> None:
    """A number where a string is expected answers 422 naming the property."""
    response = api("POST", f"{R}/git/blobs", json={"content": 5})
    assert response.status_code == 422
    assert "properties/content" in response.json()["message"]


def test_invalid_base64_content_is_422(api: Api) -> None:
    """Contents PUT with content that is not base64 answers 422."""
    response = api("PUT", f"{R}/contents/a.txt", json={"message": "m", "content": "@@not base64@@"})
    assert (response.status_code, response.json()["message"]) == (422, "content is not valid Base64")


def test_invalid_base64_blob_is_422(api: Api) -> None:
    """A base64 blob that does not decode answers 422."""
    assert api("POST", f"{R}/git/blobs", json={"content": "!!!", "encoding": "base64"}).status_code == 422


# Dots are percent-encoded: requests would otherwise resolve ".." before sending.
@pytest.mark.parametrize("path", ["%2E%2E/escape.txt", "a/%2E%2E/b.txt", "a//b.txt", ".git/config"])
def test_contents_path_git_refuses_is_422(api: Api, fake: FakeGitHub, path: str) -> None:
    """Contents PUT to a path with '..', an empty component or .git answers 422 and writes nothing."""
    before = fake.refs(REPO)
    response = api("PUT", f"{R}/contents/{path}", json={"message": "m", "content": "eA=="})
    assert response.status_code == 422
    assert "path" in response.json()["message"]
    assert fake.refs(REPO) == before


def test_tree_path_with_dotdot_is_422(api: Api) -> None:
    """A tree entry with '..' answers 422 "tree.path ..."."""
    entry = {"path": "../x", "mode": "100644", "type": "blob", "content": "x"}
    response = api("POST", f"{R}/git/trees", json={"tree": [entry]})
    assert response.status_code == 422
    assert response.json()["message"].startswith("tree.path")


@pytest.mark.parametrize(
    "ref",
    [
        "refs/heads/a..b",
        "refs/heads/a b",
        "refs/heads/x.lock",
        "refs/heads/.hidden",
        "refs/heads/a~1",
        "refs/heads/a@{b",
        "refs/heads/end.",
    ],
)
def test_ref_name_git_refuses_is_422(api: Api, fake: FakeGitHub, ref: str) -> None:
    """A ref name `git check-ref-format` refuses answers 422 "<ref> is not a valid ref name."."""
    head = fake.refs(REPO)["refs/heads/main"]
    response = api("POST", f"{R}/git/refs", json={"ref": ref, "sha": head})
    assert (response.status_code, response.json()["message"]) == (422, f"{ref} is not a valid ref name.")


def test_ref_without_refs_prefix_is_422(api: Api, fake: FakeGitHub) -> None:
    """A ref not starting refs/ with two slashes answers 422 as GitHub does."""
    head = fake.refs(REPO)["refs/heads/main"]
    response = api("POST", f"{R}/git/refs", json={"ref": "heads/x", "sha": head})
    assert response.status_code == 422
    assert response.json()["message"] == "Reference name must contain at least three slash-separated components."


def test_ref_to_unknown_object_is_422(api: Api) -> None:
    """Creating a ref to an object that does not exist answers 422 "Object does not exist"."""
    response = api("POST", f"{R}/git/refs", json={"ref": "refs/heads/x", "sha": "1" * 40})
    assert (response.status_code, response.json()["message"]) == (422, "Object does not exist")


def test_ref_under_an_existing_branch_name_is_422(api: Api, fake: FakeGitHub) -> None:
    """refs/heads/main/x cannot exist beside refs/heads/main: 422 "Reference update failed"."""
    head = fake.refs(REPO)["refs/heads/main"]
    response = api("POST", f"{R}/git/refs", json={"ref": "refs/heads/main/x", "sha": head})
    assert (response.status_code, response.json()["message"]) == (422, "Reference update failed")


def test_tree_entry_with_bad_sha_is_422(api: Api) -> None:
    """A tree entry whose sha is not hex answers 422."""
    entry = {"path": "x", "mode": "100644", "type": "blob", "sha": "zz"}
    assert api("POST", f"{R}/git/trees", json={"tree": [entry]}).status_code == 422


def test_commit_with_missing_tree_is_422(api: Api) -> None:
    """A commit naming a tree that does not exist answers 422."""
    response = api("POST", f"{R}/git/commits", json={"message": "m", "tree": "2" * 40})
    assert (response.status_code, response.json()["message"]) == (422, "Tree SHA does not exist")
