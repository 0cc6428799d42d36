"""The fake's model of GitHub: users, repositories, refs, git objects, pulls.

Everything here is plain Python state and the rules GitHub applies to it
(fast-forward checks, the contents API's ``sha`` precondition, merging a pull
request, when a pull request already exists). Operations take and return
values and raise ``errors.ApiError`` subclasses carrying GitHub's messages;
they never see an HTTP request or build a response body (``shapes.py`` does).

Settings a data repository's maintainer makes are kept as values and shown
back (``RepositorySettings``: branch protection's and rulesets' required
checks, deleting head branches on merge, Actions' default workflow
permissions and variables); of them only ``delete_branch_on_merge`` acts.
Roles are kept per login and shown in a repository's ``permissions``; a
private repository answers 404 to a login without one, as GitHub hides it.

Not enforced: write permissions (every known token may write to every
repository it can see), branch protection and rulesets on pushes and
merges, annotated tags, reviews, issues that are not pull requests,
line-level merges (see ``history.py``).
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from . import history
from .clock import Clock
from .errors import (
    Conflict,
    MethodNotAllowed,
    NotFound,
    Unprocessable,
    validation_failed,
)
from .gitobjects import (
    MODE_EXECUTABLE,
    MODE_FILE,
    MODE_SUBMODULE,
    MODE_SYMLINK,
    MODE_TREE,
    Blob,
    Commit,
    ObjectStore,
    Signature,
    entry_type,
)
from .refnames import path_problem, refname_problem

__all__ = [
    "Comment",
    "Comparison",
    "GitHubState",
    "ListingCaps",
    "Label",
    "ROLES",
    "RepositorySettings",
    "Ruleset",
    "Variable",
    "PullRequest",
    "Repository",
    "TreeInput",
    "User",
    "iso8601",
]

_MODES = (MODE_FILE, MODE_EXECUTABLE, MODE_SYMLINK, MODE_SUBMODULE, MODE_TREE)


def iso8601(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class User:
    login: str
    id: int

    @property
    def email(self) -> str:
        return f"{self.id}+{self.login}@users.noreply.github.com"


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None


@dataclass
class Comment:
    id: int
    body: str
    user: str
    created_at: float
    updated_at: float


@dataclass
class PullRequest:
    number: int
    id: int
    title: str
    body: str | None
    user: str
    base_repo: str
    head_repo: str
    head_ref: str
    base_ref: str
    head_sha: str
    base_sha: str
    created_at: float
    updated_at: float
    state: str = "open"
    closed_at: float | None = None
    merged_at: float | None = None
    merge_commit_sha: str | None = None
    merged_by: str | None = None
    labels: list[str] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    draft: bool = False

    @property
    def merged(self) -> bool:
        return self.merged_at is not None

    @property
    def from_fork(self) -> bool:
        return self.head_repo != self.base_repo


#: A collaborator's role, weakest first, as GitHub names them in a repository's ``permissions``.
ROLES = ("pull", "triage", "push", "maintain", "admin")


@dataclass
class Variable:
    """An Actions configuration variable of a repository."""

    name: str
    value: str
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class Ruleset:
    """An active repository ruleset reduced to what the fake shows: the branches it targets and the checks it requires."""

    id: int
    branches: tuple[str, ...]
    required_checks: tuple[str, ...]


@dataclass
class RepositorySettings:
    """What a maintainer sets on a repository, as the settings endpoints show it."""

    delete_branch_on_merge: bool = False
    #: Branch name -> status check contexts its branch protection requires (a protected branch may require none).
    protection: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rulesets: list[Ruleset] = field(default_factory=list)
    #: "read" or "write": what GITHUB_TOKEN gets when a workflow declares no permissions (new repositories: read).
    default_workflow_permissions: str = "read"
    can_approve_pull_request_reviews: bool = False
    variables: dict[str, Variable] = field(default_factory=dict)
    #: Login -> role; a login without one sees a public repository read-only in ``permissions`` (owner: admin).
    roles: dict[str, str] = field(default_factory=dict)


@dataclass
class Repository:
    id: int
    owner: str
    name: str
    default_branch: str
    created_at: float
    updated_at: float
    parent: str | None = None
    private: bool = False
    description: str | None = None
    refs: dict[str, str] = field(default_factory=dict)
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)
    next_number: int = 1
    settings: RepositorySettings = field(default_factory=RepositorySettings)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True)
class TreeInput:
    """One entry of a create-tree request, already decoded from JSON."""

    path: str
    mode: str
    type: str
    sha: str | None = None
    content: bytes | None = None
    delete: bool = False


@dataclass
class ListingCaps:
    """The most files GitHub's file listings return; tests lower them to reach the cap cheaply.

    Compare: "The list of changed files is only shown on the first page of
    results, and it includes up to 300 changed files for the entire
    comparison" (https://docs.github.com/rest/commits/commits#compare-two-commits).
    Pull request files: "Responses include a maximum of 3000 files"
    (https://docs.github.com/rest/pulls/pulls#list-pull-requests-files).
    Neither answer says it was cut; only a count elsewhere (a pull's
    ``changed_files``) shows it.
    """

    compare_files: int = 300
    pull_files: int = 3000


@dataclass(frozen=True)
class Comparison:
    """``base...head``: what the head has that the merge base of the two lacks."""

    base: str
    head: str
    merge_base: str
    #: Commits reachable from head but not from base, parents before children.
    ahead: list[str]
    behind_by: int
    changes: list[history.Change]

    @property
    def status(self) -> str:
        if not self.ahead and not self.behind_by:
            return "identical"
        if not self.behind_by:
            return "ahead"
        return "behind" if not self.ahead else "diverged"


@dataclass(frozen=True)
class _Identity:
    name: str
    email: str
    date: float | None = None


class GitHubState:
    """All repositories, users and objects of one fake GitHub; thread safe via ``lock``."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.objects = ObjectStore()
        self.lock = threading.RLock()
        self._users: dict[str, User] = {}
        self._tokens: dict[str, str] = {}
        self._apps: dict[int, bytes] = {}
        self._app_slugs: dict[int, str] = {}
        self._installations: dict[int, tuple[int, str]] = {}
        #: Logins that act for an app installation (what `GET /user` refuses).
        self._bots: set[str] = set()
        self._repos: dict[str, Repository] = {}
        self._next_id = 1000
        self.caps = ListingCaps()

    # -- ids, users, tokens ------------------------------------------------

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def add_user(self, login: str) -> User:
        if login not in self._users:
            self._users[login] = User(login, self._new_id())
        return self._users[login]

    def user(self, login: str) -> User:
        return self.add_user(login)

    def add_token(self, token: str, login: str) -> User:
        """Make ``token`` authenticate as ``login`` (creating the user)."""
        user = self.add_user(login)
        self._tokens[token] = login
        return user

    def user_for_token(self, token: str) -> User | None:
        login = self._tokens.get(token)
        return None if login is None else self._users[login]

    # -- GitHub Apps -------------------------------------------------------

    def add_app(self, app_id: int, public_key_pem: bytes, installation_id: int, login: str) -> None:
        """A GitHub App whose installation `installation_id` acts as `login` (e.g. "my-app[bot]")."""
        self._apps[app_id] = public_key_pem
        self._app_slugs[app_id] = login.removesuffix("[bot]")
        self._installations[installation_id] = (app_id, login)
        self._bots.add(login)
        self.add_user(login)

    def app_for_jwt(self, token: str) -> int | None:
        """The app id whose private key signed this JWT (RS256, `iss` = app id, at most 10 minutes long), or None.

        https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app
        """
        import jwt

        try:
            claims = jwt.decode(token, options={"verify_signature": False})
            app_id = int(claims["iss"])
            key = self._apps[app_id]
            # The fake's clock is not the signer's: check the signature and the lifetime, not the wall time.
            checked = jwt.decode(token, key, algorithms=["RS256"], options={"verify_exp": False, "verify_iat": False})
            if int(checked["exp"]) - int(checked["iat"]) > 600:
                return None
        except (jwt.PyJWTError, KeyError, ValueError, TypeError):
            return None
        return app_id

    def app_slug(self, app_id: int) -> str:
        """The app's slug: its installations act as `<slug>[bot]`."""
        return self._app_slugs[app_id]

    def is_installation(self, user: User) -> bool:
        """Whether ``user`` is an app installation's bot rather than a person."""
        return user.login in self._bots

    def mint_installation_token(self, app_id: int, installation_id: int) -> tuple[str, User] | None:
        """A new installation access token, or None when the installation is not this app's."""
        owner = self._installations.get(installation_id)
        if owner is None or owner[0] != app_id:
            return None
        token = f"ghs_fake{self._new_id():032d}"
        return token, self.add_token(token, owner[1])

    # -- repositories ------------------------------------------------------

    def create_repository(
        self,
        full_name: str,
        files: Mapping[str, bytes] | None = None,
        default_branch: str = "main",
        private: bool = False,
    ) -> Repository:
        """A repository whose default branch holds one commit with ``files`` (a README by default)."""
        owner, _, name = full_name.partition("/")
        if not owner or not name or "/" in name:
            raise ValueError(f"a repository is named OWNER/NAME, not {full_name!r}")
        if full_name in self._repos:
            raise ValueError(f"repository {full_name} exists")
        self.add_user(owner)
        now = self.clock.now()
        repo = Repository(self._new_id(), owner, name, default_branch, now, now, private=private)
        contents = dict(files) if files is not None else {"README.md": f"# {name}\n".encode()}
        flat = {path: (MODE_FILE, self.objects.put(Blob(data))) for path, data in contents.items()}
        tree = history.build_tree(self.objects, flat)
        author = Signature(owner, self.user(owner).email, int(now))
        commit = self.objects.put(Commit(tree, (), author, author, "Initial commit"))
        repo.refs[f"refs/heads/{default_branch}"] = commit
        self._repos[full_name] = repo
        return repo

    def fork(self, full_name: str, owner: str) -> Repository:
        """A fork of ``full_name`` owned by ``owner``, with the parent's branches."""
        parent = self.repository(full_name)
        self.add_user(owner)
        fork_name = f"{owner}/{parent.name}"
        if fork_name in self._repos:
            return self._repos[fork_name]
        now = self.clock.now()
        fork = Repository(self._new_id(), owner, parent.name, parent.default_branch, now, now, parent=parent.full_name)
        fork.refs = {ref: sha for ref, sha in parent.refs.items() if ref.startswith("refs/heads/")}
        self._repos[fork_name] = fork
        return fork

    def repository(self, full_name: str) -> Repository:
        repo = self._repos.get(full_name)
        if repo is None:
            raise NotFound()
        return repo

    def visible_repository(self, full_name: str, user: User) -> Repository:
        """The repository as ``user`` sees it: a private one without a role for them is 404, as GitHub hides it."""
        repo = self.repository(full_name)
        if repo.private and self.role(repo, user) is None:
            raise NotFound()
        return repo

    def role(self, repo: Repository, user: User) -> str | None:
        """``user``'s role on ``repo``: the owner is admin; others have the role set for them, or none."""
        if user.login == repo.owner:
            return "admin"
        return repo.settings.roles.get(user.login)

    def set_role(self, full_name: str, login: str, role: str | None) -> None:
        """Make ``login`` a collaborator with ``role`` (one of ``ROLES``), or remove them with None."""
        repo = self.repository(full_name)
        self.add_user(login)
        if role is None:
            repo.settings.roles.pop(login, None)
        elif role not in ROLES:
            raise ValueError(f"a role is one of {', '.join(ROLES)}, not {role!r}")
        else:
            repo.settings.roles[login] = role

    def protect_branch(self, full_name: str, branch: str, contexts: Iterable[str] | None) -> None:
        """Branch protection on ``branch`` requiring ``contexts``; None removes the protection."""
        repo = self.repository(full_name)
        if contexts is None:
            repo.settings.protection.pop(branch, None)
        else:
            repo.settings.protection[branch] = tuple(contexts)

    def add_ruleset(self, full_name: str, branches: Iterable[str], contexts: Iterable[str]) -> Ruleset:
        """An active ruleset targeting ``branches`` that requires the status checks ``contexts``."""
        repo = self.repository(full_name)
        ruleset = Ruleset(self._new_id(), tuple(branches), tuple(contexts))
        repo.settings.rulesets.append(ruleset)
        return ruleset

    def set_variable(self, repo: Repository, name: str, value: str, *, create: bool) -> Variable:
        """Create (``create``) or update an Actions variable; GitHub keeps names upper case."""
        key = name.upper()
        now = self.clock.now()
        existing = repo.settings.variables.get(key)
        if create and existing is not None:
            raise Conflict("Already exists - Variable already exists")
        if not create and existing is None:
            raise NotFound()
        if existing is None:
            existing = repo.settings.variables[key] = Variable(key, value, now, now)
        existing.value, existing.updated_at = value, now
        return existing

    def variable(self, repo: Repository, name: str) -> Variable:
        found = repo.settings.variables.get(name.upper())
        if found is None:
            raise NotFound()
        return found

    def repositories(self) -> list[Repository]:
        return list(self._repos.values())

    def root_of(self, repo: Repository) -> Repository:
        while repo.parent is not None:
            repo = self.repository(repo.parent)
        return repo

    # -- refs --------------------------------------------------------------

    def get_ref(self, repo: Repository, ref: str) -> tuple[str, str]:
        """The ref ``refs/<ref>`` exactly, or 404."""
        full = f"refs/{ref}"
        if full not in repo.refs:
            raise NotFound()
        return full, repo.refs[full]

    def matching_refs(self, repo: Repository, prefix: str) -> list[tuple[str, str]]:
        full = f"refs/{prefix}" if prefix else "refs/"
        return sorted((ref, sha) for ref, sha in repo.refs.items() if ref.startswith(full))

    def create_ref(self, repo: Repository, ref: str, sha: str) -> tuple[str, str]:
        if ref.count("/") < 2 or not ref.startswith("refs/"):
            raise Unprocessable("Reference name must contain at least three slash-separated components.")
        if refname_problem(ref) is not None:
            raise Unprocessable(f"{ref} is not a valid ref name.")
        if self.objects.get(sha) is None:
            raise Unprocessable("Object does not exist")
        if ref in repo.refs:
            raise Unprocessable("Reference already exists")
        for existing in repo.refs:
            # git keeps refs as files: refs/heads/a and refs/heads/a/b cannot both exist.
            if existing.startswith(f"{ref}/") or ref.startswith(f"{existing}/"):
                raise Unprocessable("Reference update failed")
        repo.refs[ref] = sha.lower()
        self._touch(repo)
        return ref, repo.refs[ref]

    def update_ref(self, repo: Repository, ref: str, sha: str, force: bool) -> tuple[str, str]:
        full = f"refs/{ref}"
        if full not in repo.refs:
            raise Unprocessable("Reference does not exist")
        if self.objects.get(sha) is None:
            raise Unprocessable("Object does not exist")
        current = repo.refs[full]
        if not force and not history.is_ancestor(self.objects, current, sha):
            raise Unprocessable("Update is not a fast forward")
        repo.refs[full] = sha.lower()
        self._touch(repo)
        return full, repo.refs[full]

    def delete_ref(self, repo: Repository, ref: str) -> None:
        full = f"refs/{ref}"
        if full not in repo.refs:
            raise Unprocessable("Reference does not exist")
        del repo.refs[full]
        self._touch(repo)

    def resolve(self, repo: Repository, ref: str | None) -> str:
        """A commit id for a branch, tag, full ref or commit id (the default branch when None)."""
        name = repo.default_branch if ref is None else ref
        for candidate in (f"refs/heads/{name}", f"refs/tags/{name}", name):
            if candidate in repo.refs:
                return repo.refs[candidate]
        if self.objects.commit(name) is not None:
            return name.lower()
        raise NotFound(f"No commit found for the ref {name}")

    def branch_head(self, repo: Repository, branch: str) -> str:
        sha = repo.refs.get(f"refs/heads/{branch}")
        if sha is None:
            raise NotFound("Branch not found")
        return sha

    def _touch(self, repo: Repository) -> None:
        repo.updated_at = self.clock.now()

    # -- git objects -------------------------------------------------------

    def create_blob(self, data: bytes) -> str:
        return self.objects.put(Blob(data))

    def create_tree(self, base_tree: str | None, entries: Iterable[TreeInput]) -> str:
        flat: history.FlatTree = {}
        if base_tree is not None:
            if self.objects.tree(base_tree) is None:
                raise Unprocessable("Invalid tree info", errors=None)
            flat = history.flatten(self.objects, base_tree)
        for entry in entries:
            problem = path_problem(entry.path)
            if problem is not None:
                raise Unprocessable(f"tree.path {problem}")
            if entry.mode not in _MODES or entry.type != entry_type(entry.mode):
                raise Unprocessable("Invalid tree info")
            under = f"{entry.path}/"
            for path in [p for p in flat if p == entry.path or p.startswith(under)]:
                del flat[path]
            if entry.delete:
                continue
            sha = entry.sha
            if entry.content is not None:
                sha = self.objects.put(Blob(entry.content))
            assert sha is not None  # the decoder guarantees sha or content
            if entry.type == "tree":
                if self.objects.tree(sha) is None:
                    raise Unprocessable(f"tree.sha {sha} is not a valid tree")
                flat.update({f"{under}{p}": e for p, e in history.flatten(self.objects, sha).items()})
            elif entry.type == "blob":
                if self.objects.blob(sha) is None:
                    raise Unprocessable(f"tree.sha {sha} is not a valid blob")
                flat[entry.path] = (entry.mode, sha.lower())
            else:
                flat[entry.path] = (entry.mode, sha.lower())
        return history.build_tree(self.objects, flat)

    def create_commit(
        self,
        user: User,
        message: str,
        tree: str,
        parents: list[str],
        author: _Identity | None = None,
        committer: _Identity | None = None,
    ) -> str:
        if self.objects.tree(tree) is None:
            raise Unprocessable("Tree SHA does not exist")
        for parent in parents:
            if self.objects.commit(parent) is None:
                raise Unprocessable("Parent SHA does not exist or is not a commit object")
        author_sig = self._signature(author, user)
        committer_sig = self._signature(committer, user) if committer is not None else author_sig
        return self.objects.put(
            Commit(tree.lower(), tuple(p.lower() for p in parents), author_sig, committer_sig, message)
        )

    def _signature(self, who: _Identity | None, user: User) -> Signature:
        now = int(self.clock.now())
        if who is None:
            return Signature(user.login, user.email, now)
        return Signature(who.name, who.email, int(who.date) if who.date is not None else now)

    @staticmethod
    def identity(name: str, email: str, date: float | None = None) -> _Identity:
        return _Identity(name, email, date)

    def files(self, commit_sha: str) -> history.FlatTree:
        commit = self.objects.commit(commit_sha)
        if commit is None:
            raise NotFound()
        return history.flatten(self.objects, commit.tree)

    # -- contents ----------------------------------------------------------

    def read_path(self, repo: Repository, path: str, ref: str | None) -> tuple[str, str | list[tuple[str, str, str]]]:
        """``("file", blob sha)`` or ``("dir", [(name, mode, sha)...])`` at ``path``."""
        commit = self.resolve(repo, ref)
        tree_sha = self.objects.commit(commit).tree  # type: ignore[union-attr]
        parts = [p for p in path.split("/") if p]
        current_mode, current_sha = MODE_TREE, tree_sha
        for part in parts:
            tree = self.objects.tree(current_sha) if current_mode == MODE_TREE else None
            if tree is None:
                raise NotFound()
            found = [e for e in tree.entries if e.name == part]
            if not found:
                raise NotFound()
            current_mode, current_sha = found[0].mode, found[0].sha
        if current_mode == MODE_TREE:
            tree = self.objects.tree(current_sha)
            assert tree is not None
            return "dir", [(e.name, e.mode, e.sha) for e in tree.entries]
        return "file", current_sha

    def put_file(
        self,
        repo: Repository,
        user: User,
        path: str,
        content: bytes,
        message: str,
        branch: str | None,
        sha: str | None,
        author: _Identity | None = None,
        committer: _Identity | None = None,
    ) -> tuple[bool, str, str]:
        """Create or update one file on a branch: ``(created, blob sha, commit sha)``.

        https://docs.github.com/rest/repos/contents#create-or-update-file-contents
        """
        branch_name = branch or repo.default_branch
        ref = f"refs/heads/{branch_name}"
        if ref not in repo.refs:
            raise NotFound(f"Branch {branch_name} not found")
        head = repo.refs[ref]
        flat = self.files(head)
        existing = flat.get(path)
        if existing is not None:
            if sha is None:
                raise Unprocessable('Invalid request.\n\n"sha" wasn\'t supplied.')
            if sha.lower() != existing[1]:
                raise Conflict(f"{path} does not match {sha}")
        elif any(p.startswith(f"{path}/") for p in flat):
            raise Unprocessable(f"path {path} is a directory")
        blob = self.objects.put(Blob(content))
        flat[path] = (existing[0] if existing else MODE_FILE, blob)
        tree = history.build_tree(self.objects, flat)
        committer = committer or author
        author = author or committer
        commit = self.create_commit(user, message, tree, [head], author, committer)
        repo.refs[ref] = commit
        self._touch(repo)
        return existing is None, blob, commit

    # -- pull requests -----------------------------------------------------

    def _head_repository(self, base: Repository, head: str) -> tuple[Repository, str]:
        owner, sep, branch = head.partition(":")
        if not sep:
            return base, head
        if owner == base.owner:
            return base, branch
        root = self.root_of(base)
        for repo in self._repos.values():
            if repo.owner == owner and self.root_of(repo) is root:
                return repo, branch
        raise validation_failed({"resource": "PullRequest", "field": "head", "code": "invalid"})

    def create_pull(
        self, repo: Repository, user: User, title: str, head: str, base: str, body: str | None, draft: bool = False
    ) -> PullRequest:
        head_repo, head_ref = self._head_repository(repo, head)
        base_sha = repo.refs.get(f"refs/heads/{base}")
        if base_sha is None:
            raise validation_failed({"resource": "PullRequest", "field": "base", "code": "invalid"})
        head_sha = head_repo.refs.get(f"refs/heads/{head_ref}")
        if head_sha is None:
            raise validation_failed({"resource": "PullRequest", "field": "head", "code": "invalid"})
        for pull in repo.pulls.values():
            if (
                pull.state == "open"
                and pull.head_repo == head_repo.full_name
                and pull.head_ref == head_ref
                and pull.base_ref == base
            ):
                raise validation_failed(
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"A pull request already exists for {head_repo.owner}:{head_ref}.",
                    }
                )
        if history.is_ancestor(self.objects, head_sha, base_sha):
            raise validation_failed(
                {"resource": "PullRequest", "code": "custom", "message": f"No commits between {base} and {head_ref}"}
            )
        now = self.clock.now()
        pull = PullRequest(
            number=repo.next_number,
            id=self._new_id(),
            title=title,
            body=body,
            user=user.login,
            base_repo=repo.full_name,
            head_repo=head_repo.full_name,
            head_ref=head_ref,
            base_ref=base,
            head_sha=head_sha,
            base_sha=base_sha,
            created_at=now,
            updated_at=now,
            draft=draft,
        )
        repo.pulls[pull.number] = pull
        repo.next_number += 1
        self._touch(repo)
        return pull

    def pull(self, repo: Repository, number: int) -> PullRequest:
        pull = repo.pulls.get(number)
        if pull is None:
            raise NotFound()
        self.refresh(pull)
        return pull

    def refresh(self, pull: PullRequest) -> None:
        """Follow the head and base branches while the pull request is open."""
        if pull.state != "open":
            return
        head_repo = self._repos.get(pull.head_repo)
        if head_repo is not None:
            pull.head_sha = head_repo.refs.get(f"refs/heads/{pull.head_ref}", pull.head_sha)
        base_repo = self.repository(pull.base_repo)
        pull.base_sha = base_repo.refs.get(f"refs/heads/{pull.base_ref}", pull.base_sha)

    def list_pulls(
        self, repo: Repository, state: str = "open", head: str | None = None, base: str | None = None
    ) -> list[PullRequest]:
        head_owner: str | None = None
        head_ref: str | None = None
        if head is not None:
            owner, sep, ref = head.partition(":")
            head_owner, head_ref = (owner, ref) if sep else (owner, None)
        found = []
        for pull in sorted(repo.pulls.values(), key=lambda p: -p.number):
            self.refresh(pull)
            if state != "all" and pull.state != state:
                continue
            if base is not None and pull.base_ref != base:
                continue
            if head_owner is not None and pull.head_repo.split("/")[0] != head_owner:
                continue
            if head_ref is not None and pull.head_ref != head_ref:
                continue
            found.append(pull)
        return found

    def pull_changes(self, repo: Repository, number: int) -> list[history.Change]:
        pull = self.pull(repo, number)
        base = history.merge_base(self.objects, pull.base_sha, pull.head_sha)
        old = self.files(base) if base is not None else {}
        return history.diff_trees(old, self.files(pull.head_sha))

    def compare(self, repo: Repository, base: str, head: str) -> Comparison:
        """``GET /repos/{o}/{r}/compare/{base}...{head}``: each side a ref or commit id, optionally ``owner:``-prefixed.

        https://docs.github.com/rest/commits/commits#compare-two-commits
        """
        base_sha = self.resolve(*self._network_side(repo, base))
        head_sha = self.resolve(*self._network_side(repo, head))
        common = history.merge_base(self.objects, base_sha, head_sha)
        if common is None:
            raise NotFound(f"No common ancestor between {base} and {head}.")
        on_base = history.ancestors(self.objects, base_sha)
        on_head = history.ancestors(self.objects, head_sha)
        ahead = [sha for sha in self._parents_first(head_sha) if sha not in on_base]
        changes = history.diff_trees(self.files(common), self.files(head_sha))
        return Comparison(base_sha, head_sha, common, ahead, len(on_base - on_head), changes)

    def _network_side(self, repo: Repository, spec: str) -> tuple[Repository, str]:
        """The repository and ref of one side of a comparison (``owner:ref`` names a fork in the network)."""
        owner, sep, ref = spec.partition(":")
        if not sep:
            return repo, spec
        root = self.root_of(repo)
        for candidate in self._repos.values():
            if candidate.owner == owner and self.root_of(candidate) is root:
                return candidate, ref
        raise NotFound()

    def _parents_first(self, sha: str) -> list[str]:
        """Every commit reachable from ``sha``, each after its parents (the order GitHub lists a comparison's commits)."""
        ordered: list[str] = []
        seen: set[str] = set()
        stack: list[tuple[str, bool]] = [(sha, False)]
        while stack:
            current, expanded = stack.pop()
            if expanded:
                ordered.append(current)
                continue
            if current in seen:
                continue
            seen.add(current)
            stack.append((current, True))
            commit = self.objects.commit(current)
            if commit is not None:
                stack.extend((parent, False) for parent in reversed(commit.parents) if parent not in seen)
        return ordered

    def pull_commits(self, pull: PullRequest) -> list[str]:
        """The head's commits not on the base, oldest first (first-parent walk)."""
        on_base = history.ancestors(self.objects, pull.base_sha)
        chain: list[str] = []
        current: str | None = pull.head_sha
        while current is not None and current not in on_base:
            chain.append(current)
            commit = self.objects.commit(current)
            current = commit.parents[0] if commit is not None and commit.parents else None
        return list(reversed(chain))

    def mergeable(self, pull: PullRequest) -> bool:
        try:
            self._merged_tree(pull.base_sha, pull.head_sha)
        except history.MergeConflict:
            return False
        return True

    def _merged_tree(self, ours: str, theirs: str) -> history.FlatTree:
        base = history.merge_base(self.objects, ours, theirs)
        base_files = self.files(base) if base is not None else {}
        return history.three_way(base_files, self.files(ours), self.files(theirs))

    def merge_pull(
        self,
        repo: Repository,
        number: int,
        user: User,
        method: str = "merge",
        sha: str | None = None,
        commit_title: str | None = None,
        commit_message: str | None = None,
    ) -> str:
        """Merge an open pull request into its base branch and return the new base head.

        https://docs.github.com/rest/pulls/pulls#merge-a-pull-request
        """
        pull = self.pull(repo, number)
        if method not in ("merge", "squash", "rebase"):
            raise validation_failed({"resource": "PullRequest", "field": "merge_method", "code": "invalid"})
        if pull.state != "open":
            raise MethodNotAllowed("Pull Request is not mergeable")
        if pull.draft:
            raise MethodNotAllowed("Pull Request is still a draft")
        if sha is not None and sha.lower() != pull.head_sha:
            raise Conflict("Head branch was modified. Review and try the merge again.")
        base_ref = f"refs/heads/{pull.base_ref}"
        try:
            merged = self._merged_tree(pull.base_sha, pull.head_sha)
        except history.MergeConflict as conflict:
            raise MethodNotAllowed("Pull Request is not mergeable") from conflict
        merger = self._signature(None, user)
        if method == "rebase":
            new_head = pull.base_sha
            for original in self.pull_commits(pull):
                commit = self.objects.commit(original)
                assert commit is not None
                parent_files = self.files(commit.parents[0]) if commit.parents else {}
                replayed = history.three_way(parent_files, self.files(new_head), self.files(original))
                tree = history.build_tree(self.objects, replayed)
                new_head = self.objects.put(Commit(tree, (new_head,), commit.author, merger, commit.message))
        else:
            tree = history.build_tree(self.objects, merged)
            if method == "merge":
                head_owner = pull.head_repo.split("/")[0]
                title = commit_title or f"Merge pull request #{pull.number} from {head_owner}/{pull.head_ref}"
                body = pull.title if commit_message is None else commit_message
                parents: tuple[str, ...] = (pull.base_sha, pull.head_sha)
                author = merger
            else:
                title = commit_title or f"{pull.title} (#{pull.number})"
                messages = [self.objects.commit(c).message for c in self.pull_commits(pull)]  # type: ignore[union-attr]
                body = "\n\n".join(f"* {m}" for m in messages) if commit_message is None else commit_message
                parents = (pull.base_sha,)
                pull_author = self.user(pull.user)
                author = Signature(pull_author.login, pull_author.email, merger.timestamp)
            message = f"{title}\n\n{body}" if body else title
            new_head = self.objects.put(Commit(tree, parents, author, merger, message))
        repo.refs[base_ref] = new_head
        now = self.clock.now()
        pull.state = "closed"
        pull.merged_at = pull.closed_at = pull.updated_at = now
        pull.merge_commit_sha = new_head
        pull.merged_by = user.login
        if repo.settings.delete_branch_on_merge and not pull.from_fork:
            # "Automatically delete head branches": the merged branch goes with the merge.
            repo.refs.pop(f"refs/heads/{pull.head_ref}", None)
        self._touch(repo)
        return new_head

    def update_pull(
        self, repo: Repository, number: int, *, title: str | None = None, body: str | None = None, state: str | None = None
    ) -> PullRequest:
        """Edit an open or closed (not merged) pull request; closing it stops it following its branches."""
        pull = self.pull(repo, number)
        if state == "open" and pull.merged:
            raise validation_failed({"resource": "PullRequest", "code": "custom", "message": "state cannot be changed. The pull request has been merged."})
        now = self.clock.now()
        pull.title = pull.title if title is None else title
        pull.body = pull.body if body is None else body
        if state is not None and state != pull.state:
            pull.state = state
            pull.closed_at = now if state == "closed" else None
        pull.updated_at = now
        self._touch(repo)
        return pull

    # -- issue labels and comments (pull requests only) --------------------

    def add_labels(self, repo: Repository, number: int, names: list[str]) -> list[Label]:
        pull = self.pull(repo, number)
        for name in names:
            if name not in repo.labels:
                repo.labels[name] = Label(self._new_id(), name)
            if name not in pull.labels:
                pull.labels.append(name)
        pull.updated_at = self.clock.now()
        return self.labels_of(repo, pull)

    def labels_of(self, repo: Repository, pull: PullRequest) -> list[Label]:
        return [repo.labels[name] for name in pull.labels]

    def add_comment(self, repo: Repository, number: int, user: User, body: str) -> Comment:
        pull = self.pull(repo, number)
        now = self.clock.now()
        comment = Comment(self._new_id(), body, user.login, now, now)
        pull.comments.append(comment)
        pull.updated_at = now
        return comment

    # -- reading state (for tests and the control endpoints) ---------------

    def branch_files(self, full_name: str, branch: str | None = None) -> dict[str, bytes]:
        """Every file on a branch as ``{path: bytes}``."""
        repo = self.repository(full_name)
        head = self.branch_head(repo, branch or repo.default_branch)
        result: dict[str, bytes] = {}
        for path, (_mode, sha) in self.files(head).items():
            blob = self.objects.blob(sha)
            if blob is not None:
                result[path] = blob.data
        return result

    def open_pulls(self, full_name: str) -> list[PullRequest]:
        return self.list_pulls(self.repository(full_name))


def decode_base64(text: str) -> bytes | None:
    """Strict base64 (newlines allowed, as GitHub sends them), or None if invalid."""
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except ValueError:
        return None
