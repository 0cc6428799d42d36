"""`receiver doctor` against the GitHub fake: each check fails with its sentence when its setting is wrong."""

from __future__ import annotations

import io
import json

from receiver.datarepo.doctor import run_doctor
from receiver.datarepo.layout import Pin, render, shipped_workflows
from tests.github_fake import FakeGitHub, Fault
from tests.support.github_world import REPO, pygithub

from .conftest import PIN, Doctor


def line(out: str, name: str) -> str:
    """The report's line for one check."""
    return next(text for text in out.splitlines() if text.split(" ", 1)[1].startswith(f"{name}:"))


class TestAllSet:
    def test_fully_set_up_repository_passes_every_check(self, fake: FakeGitHub, doctor: Doctor) -> None:
        """A repository made by init with every setting made: all pass, exit 0."""
        result = doctor()
        assert result.code == 0
        assert "10 of 10 checks pass" in result.out and "FAIL" not in result.out

    def test_json_format_parses(self, fake: FakeGitHub, doctor: Doctor) -> None:
        """--format json is one document naming the repository and every check."""
        document = json.loads(doctor("--format", "json").out)
        assert document["repository"] == REPO and document["passed"] is True
        assert [c["name"] for c in document["checks"]][:3] == ["repository", "write access", "workflows"]

    def test_projects_own_workflows_pass(self, fake: FakeGitHub, doctor: Doctor) -> None:
        """The receiver's own repository as the data repository: its workflow files are accepted too."""
        for name, data in shipped_workflows().items():
            _replace(fake, f".github/workflows/{name}", data)
        assert line(doctor().out, "workflows").startswith("PASS workflows:")

    def test_doctor_changes_nothing(self, fake: FakeGitHub, doctor: Doctor) -> None:
        """Only reads are sent."""
        doctor()
        assert {entry.method for entry in fake.requests()} == {"GET"}


class TestEachCheckFails:
    def test_unreadable_repository_says_so_without_a_traceback(self, fake: FakeGitHub, doctor: Doctor) -> None:
        """A token that cannot see the repository: its sentence, exit 1."""
        fake.create_repository("owner/secret", private=True)
        result = doctor(repository="owner/secret")
        assert result.code == 1 and "Traceback" not in result.out + result.err
        assert "FAIL repository: the token cannot read owner/secret: 404 Not Found; check RECEIVER_GITHUB_REPOSITORY and that the token has access" in result.out

    def test_bad_credentials_say_so(self, fake: FakeGitHub, doctor: Doctor) -> None:
        """An unknown token: GitHub refused the credentials."""
        result = doctor(token="nope")
        assert result.code == 1 and "FAIL repository: GitHub refused the credentials: 401 Bad credentials; check GITHUB_TOKEN" in result.out

    def test_read_only_identity_fails_write_access(self, fake: FakeGitHub, doctor: Doctor) -> None:
        """A receiver that may only read cannot deliver."""
        fake.set_role(REPO, "pose-receiver", "pull")
        assert line(doctor().out, "write access") == (
            "FAIL write access: pose-receiver can only read owner/data (permissions.push is false); "
            "give the receiver's token or GitHub App write access to contents and pull requests on the repository"
        )

    def test_missing_workflow_fails(self, fake: FakeGitHub, doctor: Doctor) -> None:
        """A data repository without the auto-merge workflow."""
        _remove(fake, ".github/workflows/automerge.yml")
        assert line(doctor().out, "workflows").startswith("FAIL workflows: automerge.yml is missing from .github/workflows on main; commit this version's workflows")

    def test_changed_workflow_fails(self, fake: FakeGitHub, doctor: Doctor) -> None:
        """A workflow edited by hand is not this version's."""
        _replace(fake, ".github/workflows/validate.yml", b"name: Validate annotations\n")
        assert line(doctor().out, "workflows").startswith("FAIL workflows: validate.yml differs from this version's;")

    def test_unprotected_default_branch_fails(self, fake: FakeGitHub, doctor: Doctor) -> None:
        """No protection or ruleset requiring validate."""
        fake.protect_branch(REPO, "main", None)
        assert line(doctor().out, "required check") == (
            "FAIL required check: main does not require the validate check, so a failing validation does not block a merge; "
            "add branch protection or a ruleset on main that requires the status check 'validate'"
        )

    def test_ruleset_requiring_validate_passes(self, fake: FakeGitHub, doctor: Doctor) -> None:
        """A ruleset instead of branch protection is enough."""
        fake.protect_branch(REPO, "main", None)
        fake.add_ruleset(REPO, ["~DEFAULT_BRANCH"], ["validate"])
        assert line(doctor().out, "required check") == "PASS required check: main requires the validate check (a ruleset)"

    def test_kept_head_branches_fail(self, fake: FakeGitHub, doctor: Doctor) -> None:
        """delete_branch_on_merge off."""
        fake.state.repository(REPO).settings.delete_branch_on_merge = False
        assert line(doctor().out, "delete head branches") == (
            "FAIL delete head branches: merged annotations/ branches are kept (delete_branch_on_merge is off); "
            "turn on Settings → General → Automatically delete head branches"
        )

    def test_read_only_actions_with_foreign_workflows_fail(self, fake: FakeGitHub, doctor: Doctor) -> None:
        """Default read permissions matter once the workflows are not the ones that declare their own."""
        _replace(fake, ".github/workflows/automerge.yml", b"name: merge\n")
        assert line(doctor().out, "actions permissions").startswith(
            "FAIL actions permissions: workflows get read permissions by default and the workflows are not this version's;"
        )

    def test_write_actions_pass_whatever_the_workflows(self, fake: FakeGitHub, doctor: Doctor) -> None:
        """Read and write by default passes on its own."""
        _replace(fake, ".github/workflows/automerge.yml", b"name: merge\n")
        fake.state.repository(REPO).settings.default_workflow_permissions = "write"
        assert line(doctor().out, "actions permissions").startswith("PASS actions permissions:")

    def test_gate_authors_without_the_receiver_fail(self, fake: FakeGitHub, doctor: Doctor) -> None:
        """The variable names someone else, so the gate would refuse every receiver PR."""
        fake.state.set_variable(fake.state.repository(REPO), "RECEIVER_GATE_AUTHORS", "someone-else", create=False)
        assert line(doctor().out, "gate authors") == (
            "FAIL gate authors: RECEIVER_GATE_AUTHORS is 'someone-else' and does not name pose-receiver, so the gate will not merge the receiver's pull requests; "
            "set the repository variable RECEIVER_GATE_AUTHORS to pose-receiver (Settings → Secrets and variables → Actions → Variables)"
        )

    def test_unset_gate_authors_trusts_the_default_login(self, fake: FakeGitHub, doctor: Doctor) -> None:
        """Without the variable the workflow's default pose-receiver applies."""
        fake.state.repository(REPO).settings.variables.clear()
        assert line(doctor().out, "gate authors") == "PASS gate authors: the gate merges pull requests by pose-receiver"

    def test_different_schema_fails(self, fake: FakeGitHub, doctor: Doctor) -> None:
        """A skeleton edited in the data repository is not the receiver's."""
        _replace(fake, "schemas/skeleton.json", b"{}\n")
        assert line(doctor().out, "schemas").startswith("FAIL schemas: schemas/ on main differs from the receiver's (different: skeleton.json);")

    def test_extra_schema_fails(self, fake: FakeGitHub, doctor: Doctor) -> None:
        """A schema the receiver does not have is named."""
        _replace(fake, "schemas/extra.json", b"{}\n")
        assert "not the receiver's: extra.json" in line(doctor().out, "schemas")

    def test_low_rate_limit_warns(self, fake: FakeGitHub, doctor: Doctor) -> None:
        """Few requests left this hour: a warning, not a failure."""
        fake.set_limits(primary_per_hour=100)
        result = doctor()
        assert line(result.out, "rate limit").startswith("WARN rate limit:") and result.code == 0


def doctor_with(moderation: str | None) -> str:
    """The report of `run_doctor` told the receiver's own RECEIVER_MODERATION (None: not told)."""
    out = io.StringIO()
    run_doctor(pygithub(), REPO, out, moderation=moderation)
    return out.getvalue()


def set_moderation(fake: FakeGitHub, value: str) -> None:
    """The repository variable RECEIVER_MODERATION, as `gh variable set` makes it."""
    fake.state.set_variable(fake.state.repository(REPO), "RECEIVER_MODERATION", value, create=True)


class TestModeration:
    def test_receiver_in_review_with_the_repository_not_in_moderation_fails_with_the_command(self, fake: FakeGitHub) -> None:
        """Review on the receiver, no variable on the repository: fail, and say exactly what to set."""
        assert line(doctor_with("review"), "moderation") == (
            "FAIL moderation: the receiver asks for review (RECEIVER_MODERATION=review) but the repository variable RECEIVER_MODERATION is not review, "
            "so the gate merges a pull request whose needs-review label is written late; "
            "run `gh variable set RECEIVER_MODERATION --body review --repo owner/data` (or Settings → Secrets and variables → Actions → Variables) "
            "before the receiver opens more pull requests"
        )

    def test_receiver_and_repository_both_in_review_pass(self, fake: FakeGitHub) -> None:
        """The variable set to review: pass, naming the command that merges."""
        set_moderation(fake, "review")
        assert line(doctor_with("review"), "moderation").startswith("PASS moderation: the repository is in moderation (RECEIVER_MODERATION=review)")

    def test_repository_in_moderation_with_an_auto_receiver_fails(self, fake: FakeGitHub) -> None:
        """The receiver labels nothing, so approve would refuse every PR and the gate merge none."""
        set_moderation(fake, "review")
        report = line(doctor_with("auto"), "moderation")
        assert report.startswith("FAIL moderation: the repository is in moderation") and "gh variable delete RECEIVER_MODERATION" in report

    def test_a_misspelt_variable_fails(self, fake: FakeGitHub) -> None:
        """A value the gate stops on is a failure whatever the receiver's setting."""
        set_moderation(fake, "reviw")
        assert line(doctor_with(None), "moderation").startswith("FAIL moderation: RECEIVER_MODERATION is 'reviw', neither 'auto' nor 'review'")

    def test_an_unreadable_variable_fails_with_what_to_check(self, fake: FakeGitHub) -> None:
        """GitHub refusing the variables read: fail, and the command for a review receiver."""
        fake.add_fault(Fault("status", status=403, message="Resource not accessible by integration", method="GET", path=r"/actions/variables/RECEIVER_MODERATION$"))
        report = line(doctor_with("review"), "moderation")
        assert report.startswith("FAIL moderation: cannot read the variable RECEIVER_MODERATION: 403 Resource not accessible by integration")
        assert "gh variable set RECEIVER_MODERATION --body review" in report

    def test_without_the_receivers_setting_the_repositorys_is_reported(self, fake: FakeGitHub) -> None:
        """Not told the receiver's setting: the repository's moderation is shown and passes."""
        assert line(doctor_with(None), "moderation") == "PASS moderation: the gate merges valid receiver pull requests (RECEIVER_MODERATION is not set)"


class TestPin:
    def test_a_workflow_pinned_to_a_branch_fails_with_the_command_that_pins_a_commit(self, fake: FakeGitHub, doctor: Doctor) -> None:
        """init's file, but checking out the branch main: fail, naming the moving ref and the init command to run."""
        _replace(fake, ".github/workflows/validate.yml", render("validate.yml", Pin("lab/pose-receiver", "main", named="main")))
        result = doctor()
        assert result.code == 1
        assert line(result.out, "workflows") == (
            "FAIL workflows: validate.yml checks out lab/pose-receiver at 'main', a tag or branch that can move, not a commit id; "
            "run `receiver init PATH --force --receiver-repo lab/pose-receiver --receiver-ref main` in a checkout of the data repository "
            "(it pins the commit that ref names now) and commit its .github/workflows to the default branch"
        )

    def test_an_earlier_init_file_pinned_to_a_tag_fails_the_same_way(self, fake: FakeGitHub, doctor: Doctor) -> None:
        """A file written before pins were commits (`ref: v0.1.0`, no comment) is named as a moving pin, not just as different."""
        pinned = render("automerge.yml", PIN).replace(f"ref: {PIN.commit} # v0.1.0".encode(), b"ref: v0.1.0")
        _replace(fake, ".github/workflows/automerge.yml", pinned)
        assert "automerge.yml checks out lab/pose-receiver at 'v0.1.0', a tag or branch that can move" in line(doctor().out, "workflows")

    def test_a_commit_pin_passes_and_is_named(self, fake: FakeGitHub, doctor: Doctor) -> None:
        """The init repository's pin is shown with the tag it was asked for and its commit."""
        assert f"receiver init's, pinned to lab/pose-receiver@v0.1.0, commit {PIN.commit}" in line(doctor().out, "workflows")


def _replace(fake: FakeGitHub, path: str, data: bytes) -> None:
    """Commit `data` at `path` on main, as a maintainer editing the data repository."""
    repo = fake.state.repository(REPO)
    existing = fake.state.files(repo.refs["refs/heads/main"]).get(path)
    fake.state.put_file(repo, fake.state.user("owner"), path, data, "edit", None, None if existing is None else existing[1], None, None)


def _remove(fake: FakeGitHub, path: str) -> None:
    """Commit the removal of `path` on main."""
    from tests.github_fake.state import TreeInput

    repo = fake.state.repository(REPO)
    head = repo.refs["refs/heads/main"]
    commit = fake.state.objects.commit(head)
    assert commit is not None
    tree = fake.state.create_tree(commit.tree, [TreeInput(path, "100644", "blob", delete=True)])
    repo.refs["refs/heads/main"] = fake.state.create_commit(fake.state.user("owner"), "remove", tree, [head])


def test_missing_settings_are_a_usage_error() -> None:
    """Without a repository or credentials doctor says what to set and exits 2."""
    import io

    from receiver.cli import main

    err = io.StringIO()
    assert main(["doctor"], environ={}, out=io.StringIO(), err=err) == 2
    assert "RECEIVER_GITHUB_REPOSITORY" in err.getvalue()
