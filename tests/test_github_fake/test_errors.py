"""GitHub's documented error answers, each produced by the calls that produce it on GitHub."""

from __future__ import annotations

import base64

import pytest

from tests.github_fake import FakeGitHub
from tests.github_fake.errors import DOCS

from .conftest import REPO, Api, ModelCheck

R = f"/repos/{REPO}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _branch(api: Api, fake: FakeGitHub, name: str = "topic") -> str:
    head = fake.refs(REPO)["refs/heads/main"]
    api.ok("POST", f"{R}/git/refs", {"ref": f"refs/heads/{name}", "sha": head})
    return head


def _commit_file(api: Api, branch: str, path: str, data: bytes) -> str:
    put = api.ok("PUT", f"{R}/contents/{path}", {"message": f"write {path}", "content": _b64(data), "branch": branch})
    sha: str = put["commit"]["sha"]
    return sha


class TestAuthentication:
    def test_bad_token_is_401_bad_credentials(self, api: Api) -> None:
        """An unknown token gets 401 with GitHub's exact body and the rate-limit headers."""
        response = api("GET", R, token="nope")
        assert response.status_code == 401
        assert response.json() == {
            "message": "Bad credentials",
            "documentation_url": "https://docs.github.com/rest",
            "status": "401",
        }
        assert "x-ratelimit-limit" in response.headers

    def test_bearer_scheme_is_accepted(self, api: Api) -> None:
        """`Authorization: Bearer X` authenticates like `token X`."""
        response = api.session.get(f"{api.base_url}{R}", headers={"authorization": "Bearer owner-token"})
        assert response.status_code == 200

    def test_missing_token_is_401_requires_authentication(self, api: Api) -> None:
        """No Authorization header gets 401 "Requires authentication" (repositories here need a token)."""
        response = api("GET", R, token=None)
        assert (response.status_code, response.json()["message"]) == (401, "Requires authentication")


class TestNotFound:
    def test_unknown_repository_is_404(self, api: Api, schema: ModelCheck) -> None:
        """A repository that does not exist answers 404 "Not Found"."""
        response = api("GET", "/repos/owner/missing")
        assert response.status_code == 404
        assert response.json() == {"message": "Not Found", "documentation_url": DOCS}

    def test_missing_ref_is_404(self, api: Api) -> None:
        """GET git/ref of a branch that does not exist answers 404."""
        assert api("GET", f"{R}/git/ref/heads/nope").status_code == 404

    def test_unmodelled_route_is_404_naming_itself(self, api: Api, fake: FakeGitHub) -> None:
        """A route the fake does not model answers 404 naming it and is flagged in the log."""
        response = api("GET", f"{R}/releases")
        assert response.status_code == 404
        assert response.headers["x-fake-unmodelled"] == f"GET {R}/releases"
        assert [e.path for e in fake.unmodelled()] == [f"{R}/releases"]


class TestRefs:
    def test_creating_an_existing_ref_is_422(self, api: Api, fake: FakeGitHub) -> None:
        """POST git/refs for a ref that exists answers 422 "Reference already exists"."""
        head = _branch(api, fake)
        response = api("POST", f"{R}/git/refs", json={"ref": "refs/heads/topic", "sha": head})
        assert response.status_code == 422
        assert response.json()["message"] == "Reference already exists"
        assert response.json()["documentation_url"].startswith("https://docs.github.com/")

    def test_non_fast_forward_update_is_422(self, api: Api, fake: FakeGitHub) -> None:
        """PATCH a ref back to an ancestor without force answers 422 "Update is not a fast forward"."""
        start = _branch(api, fake)
        _commit_file(api, "topic", "a.txt", b"a")
        response = api("PATCH", f"{R}/git/refs/heads/topic", json={"sha": start})
        assert (response.status_code, response.json()["message"]) == (422, "Update is not a fast forward")

    def test_forced_update_moves_the_ref_back(self, api: Api, fake: FakeGitHub) -> None:
        """The same update with force=true succeeds and moves the ref."""
        start = _branch(api, fake)
        _commit_file(api, "topic", "a.txt", b"a")
        response = api("PATCH", f"{R}/git/refs/heads/topic", json={"sha": start, "force": True})
        assert response.status_code == 200
        assert fake.refs(REPO)["refs/heads/topic"] == start

    def test_deleting_a_ref_twice_is_422(self, api: Api, fake: FakeGitHub) -> None:
        """DELETE answers 204, then 422 "Reference does not exist"."""
        _branch(api, fake)
        assert api("DELETE", f"{R}/git/refs/heads/topic").status_code == 204
        response = api("DELETE", f"{R}/git/refs/heads/topic")
        assert (response.status_code, response.json()["message"]) == (422, "Reference does not exist")


class TestContents:
    def test_updating_without_sha_is_422(self, api: Api, fake: FakeGitHub) -> None:
        """PUT over an existing file without sha answers 422 'Invalid request. "sha" wasn't supplied.'."""
        _branch(api, fake)
        _commit_file(api, "topic", "a.txt", b"a")
        response = api("PUT", f"{R}/contents/a.txt", json={"message": "m", "content": _b64(b"b"), "branch": "topic"})
        assert response.status_code == 422
        assert response.json()["message"] == 'Invalid request.\n\n"sha" wasn\'t supplied.'

    def test_updating_with_a_stale_sha_is_409(self, api: Api, fake: FakeGitHub) -> None:
        """PUT with a sha that is not the file's blob answers 409 "<path> does not match <sha>"."""
        _branch(api, fake)
        _commit_file(api, "topic", "a.txt", b"a")
        stale = "0" * 40
        body = {"message": "m", "content": _b64(b"b"), "branch": "topic", "sha": stale}
        response = api("PUT", f"{R}/contents/a.txt", json=body)
        assert (response.status_code, response.json()["message"]) == (409, f"a.txt does not match {stale}")

    def test_updating_with_the_right_sha_is_200(self, api: Api, fake: FakeGitHub) -> None:
        """PUT with the current blob sha updates the file and answers 200."""
        _branch(api, fake)
        put = api.ok("PUT", f"{R}/contents/a.txt", {"message": "m", "content": _b64(b"a"), "branch": "topic"})
        body = {"message": "m", "content": _b64(b"b"), "branch": "topic", "sha": put["content"]["sha"]}
        assert api("PUT", f"{R}/contents/a.txt", json=body).status_code == 200
        assert fake.files(REPO, "topic")["a.txt"] == b"b"

    def test_missing_file_is_404(self, api: Api) -> None:
        """GET contents of a path that does not exist answers 404."""
        assert api("GET", f"{R}/contents/nope.txt").status_code == 404


class TestPulls:
    def test_second_pull_for_the_same_head_is_422(self, api: Api, fake: FakeGitHub, schema: ModelCheck) -> None:
        """Opening a PR for a head that has one answers 422 with "A pull request already exists for owner:topic."."""
        _branch(api, fake)
        _commit_file(api, "topic", "a.txt", b"a")
        api.ok("POST", f"{R}/pulls", {"title": "t", "head": "topic", "base": "main"})
        response = api("POST", f"{R}/pulls", json={"title": "t", "head": "topic", "base": "main"})
        assert response.status_code == 422
        body = response.json()
        assert body["message"] == "Validation Failed"
        assert body["errors"] == [
            {"resource": "PullRequest", "code": "custom", "message": "A pull request already exists for owner:topic."}
        ]
        schema("ValidationError", body)

    def test_pull_without_commits_is_422(self, api: Api, fake: FakeGitHub) -> None:
        """A head with nothing new answers 422 "No commits between main and topic"."""
        _branch(api, fake)
        response = api("POST", f"{R}/pulls", json={"title": "t", "head": "topic", "base": "main"})
        assert response.status_code == 422
        assert response.json()["errors"][0]["message"] == "No commits between main and topic"

    def test_merge_with_a_stale_head_sha_is_409(self, api: Api, fake: FakeGitHub) -> None:
        """Merging with sha of an older head answers 409 "Head branch was modified. ..."."""
        _branch(api, fake)
        old_head = _commit_file(api, "topic", "a.txt", b"a")
        api.ok("POST", f"{R}/pulls", {"title": "t", "head": "topic", "base": "main"})
        _commit_file(api, "topic", "b.txt", b"b")
        response = api("PUT", f"{R}/pulls/1/merge", json={"sha": old_head})
        assert response.status_code == 409
        assert response.json()["message"] == "Head branch was modified. Review and try the merge again."
        assert fake.pulls(REPO)[0].state == "open"

    def test_conflicting_pull_is_405_not_mergeable(self, api: Api, fake: FakeGitHub) -> None:
        """When main changed the same file differently, merging answers 405 "Pull Request is not mergeable"."""
        _branch(api, fake)
        _commit_file(api, "topic", "a.txt", b"topic")
        api.ok("POST", f"{R}/pulls", {"title": "t", "head": "topic", "base": "main"})
        _commit_file(api, "main", "a.txt", b"main")
        assert api.ok("GET", f"{R}/pulls/1")["mergeable"] is False
        response = api("PUT", f"{R}/pulls/1/merge", json={"merge_method": "squash"})
        assert (response.status_code, response.json()["message"]) == (405, "Pull Request is not mergeable")

    def test_merging_twice_is_405(self, api: Api, fake: FakeGitHub) -> None:
        """A merged PR cannot be merged again."""
        _branch(api, fake)
        _commit_file(api, "topic", "a.txt", b"a")
        api.ok("POST", f"{R}/pulls", {"title": "t", "head": "topic", "base": "main"})
        api.ok("PUT", f"{R}/pulls/1/merge", {})
        assert api("PUT", f"{R}/pulls/1/merge", json={}).status_code == 405

    def test_files_list_added_modified_removed_renamed(self, api: Api, fake: FakeGitHub) -> None:
        """pulls/{n}/files reports each kind of change with its status."""
        api.ok("PUT", f"{R}/contents/old.txt", {"message": "m", "content": _b64(b"same\n")})
        api.ok("PUT", f"{R}/contents/gone.txt", {"message": "m", "content": _b64(b"bye\n")})
        head = _branch(api, fake)
        base_tree = api.ok("GET", f"{R}/git/commits/{fake.refs(REPO)['refs/heads/main']}")["tree"]["sha"]
        blob = api.ok("GET", f"{R}/contents/old.txt")["sha"]
        tree = api.ok(
            "POST",
            f"{R}/git/trees",
            {
                "base_tree": base_tree,
                "tree": [
                    {"path": "old.txt", "mode": "100644", "type": "blob", "sha": None},
                    {"path": "new-name.txt", "mode": "100644", "type": "blob", "sha": blob},
                    {"path": "gone.txt", "mode": "100644", "type": "blob", "sha": None},
                    {"path": "README.md", "mode": "100644", "type": "blob", "content": "changed\n"},
                    {"path": "added.txt", "mode": "100644", "type": "blob", "content": "new\n"},
                ],
            },
        )
        main = fake.refs(REPO)["refs/heads/main"]
        assert head == main
        commit = api.ok("POST", f"{R}/git/commits", {"message": "m", "tree": tree["sha"], "parents": [main]})
        api.ok("PATCH", f"{R}/git/refs/heads/topic", {"sha": commit["sha"]})
        api.ok("POST", f"{R}/pulls", {"title": "t", "head": "topic", "base": "main"})
        files = {f["filename"]: (f["status"], f.get("previous_filename")) for f in api.ok("GET", f"{R}/pulls/1/files")}
        assert files == {
            "README.md": ("modified", None),
            "added.txt": ("added", None),
            "gone.txt": ("removed", None),
            "new-name.txt": ("renamed", "old.txt"),
        }


@pytest.mark.parametrize("number", [1, 2])
def test_labels_on_a_missing_issue_are_404(api: Api, number: int) -> None:
    """Labels and comments on issue numbers with no PR answer 404."""
    assert api("POST", f"{R}/issues/{number}/labels", json={"labels": ["x"]}).status_code == 404
    assert api("GET", f"{R}/issues/{number}/comments").status_code == 404
