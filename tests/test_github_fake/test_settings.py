"""The repository settings the fake keeps, shows back and (for deleting head branches) acts on."""

from __future__ import annotations

from tests.github_fake import FakeGitHub

from .conftest import CONTRIBUTOR_TOKEN, REPO, Api

R = f"/repos/{REPO}"


class TestAccess:
    def test_private_repository_is_not_found_without_a_role(self, fake: FakeGitHub, api: Api) -> None:
        """A private repository answers 404 to a login that has no role on it, as GitHub hides it."""
        fake.create_repository("owner/secret", private=True)
        assert api("GET", "/repos/owner/secret", token=CONTRIBUTOR_TOKEN).status_code == 404

    def test_role_shows_in_permissions(self, fake: FakeGitHub, api: Api) -> None:
        """A collaborator with the push role sees push but not admin."""
        fake.set_role(REPO, "contributor", "push")
        permissions = api.ok("GET", R, token=CONTRIBUTOR_TOKEN)["permissions"]
        assert permissions["push"] is True and permissions["admin"] is False

    def test_login_without_a_role_reads_a_public_repository_only(self, api: Api) -> None:
        """Without a role, a public repository's permissions say pull only."""
        permissions = api.ok("GET", R, token=CONTRIBUTOR_TOKEN)["permissions"]
        assert permissions == {"admin": False, "maintain": False, "push": False, "triage": False, "pull": True}

    def test_updating_a_repository_needs_admin(self, api: Api) -> None:
        """PATCH /repos by a non-admin is refused."""
        assert api("PATCH", R, json={"delete_branch_on_merge": True}, token=CONTRIBUTOR_TOKEN).status_code == 403


class TestDeleteBranchOnMerge:
    def test_merge_deletes_the_head_branch_when_set(self, fake: FakeGitHub, api: Api) -> None:
        """With delete_branch_on_merge the merged head branch is gone."""
        assert api.ok("PATCH", R, {"delete_branch_on_merge": True})["delete_branch_on_merge"] is True
        head = fake.refs(REPO)["refs/heads/main"]
        api.ok("POST", f"{R}/git/refs", {"ref": "refs/heads/topic", "sha": head})
        api.ok("PUT", f"{R}/contents/a.txt", {"message": "a", "content": "YQ==", "branch": "topic"})
        api.ok("POST", f"{R}/pulls", {"title": "t", "head": "topic", "base": "main"})
        api.ok("PUT", f"{R}/pulls/1/merge", {"merge_method": "squash"})
        assert "refs/heads/topic" not in fake.refs(REPO)


class TestRequiredChecks:
    def test_unprotected_branch_answers_branch_not_protected(self, api: Api) -> None:
        """GET protection of an unprotected branch is 404 "Branch not protected"."""
        response = api("GET", f"{R}/branches/main/protection")
        assert response.status_code == 404 and response.json()["message"] == "Branch not protected"

    def test_protection_lists_its_required_contexts(self, fake: FakeGitHub, api: Api) -> None:
        """Protection set through the fake shows its contexts in the protection and the branch."""
        fake.protect_branch(REPO, "main", ["validate"])
        assert api.ok("GET", f"{R}/branches/main/protection")["required_status_checks"]["contexts"] == ["validate"]
        assert api.ok("GET", f"{R}/branches/main")["protected"] is True

    def test_ruleset_on_the_default_branch_applies_to_it(self, fake: FakeGitHub, api: Api) -> None:
        """A ruleset targeting ~DEFAULT_BRANCH is among the rules for main, not for other branches."""
        fake.add_ruleset(REPO, ["~DEFAULT_BRANCH"], ["validate"])
        [rule] = api.ok("GET", f"{R}/rules/branches/main")
        assert rule["parameters"]["required_status_checks"] == [{"context": "validate"}]
        assert api.ok("GET", f"{R}/rules/branches/other") == []

    def test_control_route_protects_a_branch(self, fake: FakeGitHub, api: Api) -> None:
        """POST /_fake/protection sets the required checks."""
        api.ok("POST", "/_fake/protection", {"repo": REPO, "branch": "main", "contexts": ["validate"]})
        assert fake.state.repository(REPO).settings.protection == {"main": ("validate",)}


class TestActions:
    def test_workflow_permissions_default_to_read_and_can_be_set(self, api: Api) -> None:
        """New repositories give GITHUB_TOKEN read by default; PUT changes it."""
        assert api.ok("GET", f"{R}/actions/permissions/workflow")["default_workflow_permissions"] == "read"
        api.ok("PUT", f"{R}/actions/permissions/workflow", {"default_workflow_permissions": "write"})
        assert api.ok("GET", f"{R}/actions/permissions/workflow")["default_workflow_permissions"] == "write"

    def test_variable_is_created_updated_and_read(self, api: Api) -> None:
        """A variable is kept under its upper-case name and updated in place."""
        api.ok("POST", f"{R}/actions/variables", {"name": "receiver_gate_authors", "value": "a"})
        api.ok("PATCH", f"{R}/actions/variables/RECEIVER_GATE_AUTHORS", {"value": "b"})
        assert api.ok("GET", f"{R}/actions/variables/RECEIVER_GATE_AUTHORS")["value"] == "b"

    def test_creating_an_existing_variable_conflicts(self, api: Api) -> None:
        """POST of a name that exists is 409."""
        api.ok("POST", f"{R}/actions/variables", {"name": "X", "value": "a"})
        assert api("POST", f"{R}/actions/variables", json={"name": "X", "value": "b"}).status_code == 409

    def test_missing_variable_is_not_found(self, api: Api) -> None:
        """GET of an unknown variable is 404."""
        assert api("GET", f"{R}/actions/variables/NOPE").status_code == 404


class TestIdentityAndLimits:
    def test_authenticated_user_is_the_tokens_login(self, api: Api) -> None:
        """GET /user names the login the token authenticates as."""
        assert api.ok("GET", "/user", token=CONTRIBUTOR_TOKEN)["login"] == "contributor"

    def test_rate_limit_does_not_count_against_the_limit(self, api: Api) -> None:
        """Reading /rate_limit twice leaves the remaining budget unchanged."""
        first = api.ok("GET", "/rate_limit")["resources"]["core"]["remaining"]
        assert api.ok("GET", "/rate_limit")["resources"]["core"]["remaining"] == first
