"""`receiver gate PR`: the auto-merge gate's judgement of one pull request, run by a maintainer instead of Actions.

The judgement is the workflow's own (`automerge.gate_pull`), on the same
facts read the same way, with this installation's validator; only the
inputs the workflow gets from Actions are found here instead: the repository
variables `RECEIVER_GATE_AUTHORS` and `RECEIVER_MODERATION` read through the
API (or given as options), and the commit to judge, the pull request's head
unless told. It writes nothing unless asked to merge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from github import Github, GithubException
from github.Repository import Repository

from receiver.contract.validation import Validator
from receiver.datarepo.automerge import gate_pull
from receiver.datarepo.gate import DEFAULT_AUTHORS, MODERATION_VARIABLE, ModerationError, Policy, authors_from, moderation_from

__all__ = ["AUTHORS_VARIABLE", "GateInputError", "LocalGate", "repository_policy", "run_local_gate"]

AUTHORS_VARIABLE = "RECEIVER_GATE_AUTHORS"


class GateInputError(ValueError):
    """What the gate needs cannot be read or is not valid; the message says which and what to pass instead."""


@dataclass(frozen=True)
class LocalGate:
    """One local run: which pull request, at which commit, whether to merge, and any policy given by hand."""

    number: int
    sha: str | None = None
    merge: bool = False
    method: str = "squash"
    authors: str | None = None
    moderation: str | None = None


def _variable(repo: Repository, name: str) -> str | None:
    """A repository variable's value as the workflow's `vars.NAME` sees it: None when it is not set."""
    try:
        return repo.get_variable(name).value
    except GithubException as exc:
        if exc.status == 404:
            return None
        option = "--authors LOGIN[,LOGIN]" if name == AUTHORS_VARIABLE else "--moderation auto|review"
        raise GateInputError(
            f"cannot read the repository variable {name} of {repo.full_name} (GitHub answered {exc.status}), "
            f"which the workflow's gate goes by; give the token read access to Actions variables, or pass {option}"
        ) from exc


def repository_policy(repo: Repository, *, authors: str | None = None, moderation: str | None = None) -> Policy:
    """The policy the workflow would apply: the repository's variables (unset or empty: the workflow's defaults), unless given."""
    found_authors = authors if authors is not None else _variable(repo, AUTHORS_VARIABLE)
    found_moderation = moderation if moderation is not None else _variable(repo, MODERATION_VARIABLE)
    try:
        # automerge.yml passes `vars.X || default`, so an empty variable means the default there too.
        return Policy(authors=authors_from(found_authors or DEFAULT_AUTHORS), moderation=moderation_from(found_moderation or "auto"))
    except ModerationError as exc:
        raise GateInputError(str(exc)) from exc


def run_local_gate(
    github: Github,
    repository: str,
    run: LocalGate,
    out: TextIO,
    *,
    validator: Callable[[], Validator] = Validator,
) -> int:
    """Judge (and with `run.merge`, merge) one pull request as the workflow would; print its lines and its summary. The exit code is the workflow's."""
    try:
        repo = github.get_repo(repository)
    except GithubException as exc:
        message = exc.data.get("message", "") if isinstance(exc.data, dict) else ""
        raise GateInputError(
            f"cannot read the repository {repository}: GitHub answered {exc.status} {message}".rstrip()
            + "; check RECEIVER_GITHUB_REPOSITORY and that the token can read it"
        ) from exc
    policy = repository_policy(repo, authors=run.authors, moderation=run.moderation)
    code, summary = gate_pull(repo, run.number, run.sha, policy, validator(), out, merge=run.merge, method=run.method)
    out.write("\n" + summary)
    return code

