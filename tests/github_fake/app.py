"""``FakeGitHub``: one fake GitHub, answering ``Request`` values with ``Response`` values.

The dispatcher applies, in GitHub's order: faults chosen for the request,
authentication (``Authorization: token X`` or ``Bearer X``), the primary
rate limit, the route table (unmodelled routes answer 404 naming
themselves), the secondary limit for content-creating routes, the handler,
then pagination and the ``x-ratelimit-*`` headers. Every answer is logged.
Control requests under ``/_fake/`` go to ``control.py`` without auth,
limits or logging. The two ways in (``via_responses.py``, ``server.py``)
only translate HTTP to these values.

An exception from a handler that is not an ``ApiError`` is a bug in the
fake: it propagates (in-process) or becomes a plain 500 that is also kept
in ``FakeGitHub.crashes`` (over HTTP), never a GitHub-looking answer.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from .clock import FakeClock
from .errors import DOCS, ApiError, Forbidden, InjectedError, NotFound, Unauthorized
from .faults import BODY_CONTENT_TYPE, Fault, FaultPlan, default_message
from .limits import LimitSettings, PrimaryVerdict, RateLimiter
from .messages import Request, Response
from .requestlog import LogEntry
from .routes import api_routes
from .routing import Call, Reply, Route, match_route
from .state import GitHubState, PullRequest, Repository, Ruleset, User

__all__ = ["FakeGitHub", "RATE_LIMIT_DOCS", "SECONDARY_LIMIT_MESSAGE"]

RATE_LIMIT_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
SECONDARY_LIMIT_DOCS = (
    "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api"
    "#about-secondary-rate-limits"
)
SECONDARY_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID {request_id}."
)
_ANONYMOUS = "-anonymous-"
#: Fault kinds that replace the answer (a delay only slows it).
_ANSWERING_KINDS = ("status", "body", "drop")


class FakeGitHub:
    """A stateful fake of the part of GitHub's REST API the receiver uses."""

    def __init__(
        self,
        clock: FakeClock | None = None,
        limits: LimitSettings | None = None,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.clock = clock or FakeClock()
        self.state = GitHubState(self.clock)
        self.limiter = RateLimiter(limits)
        self.faults = FaultPlan()
        self.routes: list[Route] = api_routes()
        self.log: list[LogEntry] = []
        self.crashes: list[BaseException] = []
        self._sleep = sleep
        self._lock = threading.RLock()

    # -- setting up --------------------------------------------------------

    def create_repository(
        self, full_name: str, files: Mapping[str, bytes] | None = None, default_branch: str = "main", private: bool = False
    ) -> Repository:
        """A repository with one commit on ``default_branch`` (a README unless ``files``); a private one hides from logins without a role."""
        with self._lock:
            return self.state.create_repository(full_name, files, default_branch, private)

    def set_role(self, full_name: str, login: str, role: str | None) -> None:
        """Give ``login`` a role on the repository (``pull``, ``triage``, ``push``, ``maintain``, ``admin``) or take it away."""
        with self._lock:
            self.state.set_role(full_name, login, role)

    def protect_branch(self, full_name: str, branch: str, contexts: Iterable[str] | None) -> None:
        """Branch protection requiring the status checks ``contexts`` (None: unprotected)."""
        with self._lock:
            self.state.protect_branch(full_name, branch, contexts)

    def add_ruleset(self, full_name: str, branches: Iterable[str], contexts: Iterable[str]) -> Ruleset:
        """An active ruleset on ``branches`` (names, or ``~DEFAULT_BRANCH``) requiring the status checks ``contexts``."""
        with self._lock:
            return self.state.add_ruleset(full_name, branches, contexts)

    def add_token(self, token: str, login: str) -> User:
        """Let ``token`` authenticate as ``login``; pull requests it opens are authored by ``login``."""
        with self._lock:
            return self.state.add_token(token, login)

    def add_app(self, app_id: int, public_key_pem: bytes, installation_id: int, login: str) -> None:
        """A GitHub App: JWTs signed by its key get tokens for `installation_id`, which act as `login`."""
        with self._lock:
            self.state.add_app(app_id, public_key_pem, installation_id, login)

    def fork(self, full_name: str, owner: str) -> Repository:
        """Fork ``full_name`` for ``owner``; PRs from it have a different ``head.repo.full_name``."""
        with self._lock:
            return self.state.fork(full_name, owner)

    def set_limits(
        self,
        primary_per_hour: int | None = None,
        secondary_per_minute: int | None = None,
        secondary_per_hour: int | None = None,
    ) -> LimitSettings:
        with self._lock:
            settings = self.limiter.settings
            if primary_per_hour is not None:
                settings.primary_per_hour = primary_per_hour
            if secondary_per_minute is not None:
                settings.secondary_per_minute = secondary_per_minute
            if secondary_per_hour is not None:
                settings.secondary_per_hour = secondary_per_hour
            return settings

    def set_listing_caps(self, compare_files: int | None = None, pull_files: int | None = None) -> None:
        """Lower the most files a comparison or a pull's file list returns (GitHub: 300 and 3000)."""
        with self._lock:
            if compare_files is not None:
                self.state.caps.compare_files = compare_files
            if pull_files is not None:
                self.state.caps.pull_files = pull_files

    def add_fault(self, fault: Fault) -> Fault:
        with self._lock:
            return self.faults.add(fault)

    def advance(self, seconds: float) -> float:
        """Move the fake clock (what a client told to wait would do)."""
        return self.clock.advance(seconds)

    # -- reading state -----------------------------------------------------

    def files(self, full_name: str, branch: str | None = None) -> dict[str, bytes]:
        """Every file on a branch (the default branch when None) as ``{path: bytes}``."""
        with self._lock:
            return self.state.branch_files(full_name, branch)

    def refs(self, full_name: str) -> dict[str, str]:
        with self._lock:
            return dict(self.state.repository(full_name).refs)

    def pulls(self, full_name: str, state: str = "open") -> list[PullRequest]:
        with self._lock:
            return self.state.list_pulls(self.state.repository(full_name), state)

    def requests(self) -> list[LogEntry]:
        with self._lock:
            return list(self.log)

    def unmodelled(self) -> list[LogEntry]:
        """Requests no route modelled; a test that sees any should fail."""
        return [entry for entry in self.requests() if entry.unmodelled]

    # -- answering ---------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.path == "/_fake" or request.path.startswith("/_fake/"):
            from .control import handle_control

            with self._lock:
                return handle_control(self, request)
        with self._lock:
            fault = self.faults.take(request.method, request.path, self.clock.now())
        if fault is not None and fault.kind == "delay":
            self._sleep(fault.delay)
        with self._lock:
            return self._answer(request, fault)

    def _authenticate(self, request: Request) -> User | None:
        header = request.headers.get("authorization")
        if header is None:
            raise Unauthorized("Requires authentication")
        scheme, _, token = header.partition(" ")
        if request.path == "/app" or request.path.startswith("/app/"):
            # App endpoints take the app's JWT, never a user or installation token.
            app_id = self.state.app_for_jwt(token.strip()) if scheme.lower() == "bearer" else None
            if app_id is None:
                raise Unauthorized("A JSON web token could not be decoded", extra={"status": "401"})
            return self.state.add_user(f"app:{app_id}")
        user = self.state.user_for_token(token.strip()) if scheme.lower() in ("token", "bearer") else None
        if user is None:
            raise Unauthorized("Bad credentials", extra={"status": "401"})
        return user

    def _answer(self, request: Request, fault: Fault | None) -> Response:
        now = self.clock.now()
        who = _ANONYMOUS
        route: Route | None = None
        pending = False
        limit = self.limiter.peek_primary(who, now)
        unmodelled = False
        try:
            if fault is not None and not fault.after and fault.kind in _ANSWERING_KINDS:
                raise _Faulted(fault)
            user = self._authenticate(request)
            assert user is not None
            who = user.login
            pending = self.limiter.retry_pending(who, now)
            found = match_route(self.routes, request.method, request.path)
            if found is not None and not found[0].counted:
                limit = self.limiter.peek_primary(who, now)
            else:
                limit = self.limiter.primary(who, now)
                if not limit.allowed:
                    raise Forbidden(f"API rate limit exceeded for user ID {user.id}.", documentation_url=RATE_LIMIT_DOCS)
            if found is None:
                unmodelled = True
                raise NotFound(
                    extra={"fake": f"unmodelled route: {request.method} {request.path}"},
                    headers={"x-fake-unmodelled": f"{request.method} {request.path}"},
                )
            route, params = found
            if route.content_creating:
                verdict = self.limiter.secondary(who, now)
                if not verdict.allowed:
                    request_id = _request_id()
                    raise Forbidden(
                        SECONDARY_LIMIT_MESSAGE.format(request_id=request_id),
                        documentation_url=SECONDARY_LIMIT_DOCS,
                        headers={"retry-after": str(verdict.retry_after)},
                    )
            reply = route.handler(Call(self.state, request, params, user, primary=limit))
            if fault is not None and fault.after and fault.kind in _ANSWERING_KINDS:
                raise _Faulted(fault)
            response = self._render(request, reply)
        except _Faulted as faulted:
            response = _fault_response(faulted.fault)
        except ApiError as error:
            response = Response.json(error.status, error.body(), error.headers)
        response.headers.update(_limit_headers(limit))
        response.headers.setdefault("x-github-request-id", _request_id())
        response.headers["x-github-api-version-selected"] = "2022-11-28"
        response.headers["x-github-media-type"] = "github.v3; format=json"
        if fault is not None and fault.kind in _ANSWERING_KINDS and fault.headers:
            # Last, so a fault can also play its own x-ratelimit-* headers.
            response.headers.update(fault.headers)
        self.log.append(
            LogEntry(
                method=request.method,
                path=request.path,
                status=response.status,
                content_creating=route is not None and route.content_creating,
                at=now,
                retry_after_pending=pending,
                login=None if who == _ANONYMOUS else who,
                fault=None if fault is None else fault.kind,
                unmodelled=unmodelled,
            )
        )
        return response

    def _render(self, request: Request, reply: Reply) -> Response:
        headers = dict(reply.headers)
        payload: Any = reply.payload
        if reply.paginate and isinstance(payload, list):
            payload, link = _paginate(request, payload)
            if link:
                headers["link"] = link
        if reply.status == 204:
            return Response(204, headers, b"")
        return Response.json(reply.status, payload, headers)


class _Faulted(Exception):
    def __init__(self, fault: Fault) -> None:
        super().__init__(fault.kind)
        self.fault = fault


def _fault_response(fault: Fault) -> Response:
    """The answer a fault plays; its extra headers are added by the caller, after the usual ones."""
    if fault.kind == "drop":
        return Response(0, {}, b"", drop=True)
    assert fault.status is not None, "Fault sets the status of status and body faults when made"
    if fault.kind == "body":
        content_type = BODY_CONTENT_TYPE if fault.content_type is None else fault.content_type
        return Response(fault.status, {"content-type": content_type}, (fault.body or "").encode())
    error = InjectedError(
        fault.status,
        default_message(fault.status) if fault.message is None else fault.message,
        documentation_url=DOCS if fault.documentation_url is None else fault.documentation_url,
        errors=fault.errors,
    )
    return Response.json(error.status, error.body())


def _request_id() -> str:
    return uuid.uuid4().hex[:20].upper()


def _limit_headers(limit: PrimaryVerdict) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(limit.limit),
        "x-ratelimit-remaining": str(limit.remaining),
        "x-ratelimit-used": str(limit.used),
        "x-ratelimit-reset": str(limit.reset),
        "x-ratelimit-resource": "core",
    }


def _paginate(request: Request, items: list[Any]) -> tuple[list[Any], str]:
    """One page of ``items`` and GitHub's ``link`` header (https://docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api)."""
    try:
        per_page = max(1, min(100, int(request.param("per_page") or 30)))
        page = max(1, int(request.param("page") or 1))
    except ValueError:
        per_page, page = 30, 1
    last = max(1, math.ceil(len(items) / per_page))
    links = []

    def url(number: int) -> str:
        query = {k: v[-1] for k, v in request.query.items()}
        query.update({"per_page": str(per_page), "page": str(number)})
        return f"{request.api_root}{request.path}?{urlencode(query)}"

    if page < last:
        links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
    if page > 1:
        links += [f'<{url(1)}>; rel="first"', f'<{url(page - 1)}>; rel="prev"']
    return items[(page - 1) * per_page : page * per_page], ", ".join(links)
