"""Volunteer sessions over HTTP: `POST /api/sessions` issues one, and every volunteer endpoint reads it from a header.

A labeling page asks once for a session and keeps it; it sends it as
`X-Volunteer-Session` with next-frame, progress and each submission, and sends
the lease ticket next-frame gave for a frame as `X-Volunteer-Lease` with that
frame's submission. Sessions are issued at a bounded rate per client address
group, so one network cannot make itself a crowd. What a session is and how it
is checked is `receiver.volunteers.sessions`.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Scope

from receiver.access.limitstate import Refusal
from receiver.access.ratelimit import client_key, retry_after_header
from receiver.volunteers.sessions import Session, SessionError
from receiver.web.responses import JSONAnswer, error
from receiver.web.state import Receiver, receiver_of

__all__ = ["SESSION_HEADER", "LEASE_HEADER", "address_group", "session_of", "session_routes"]

SESSION_HEADER = "x-volunteer-session"
LEASE_HEADER = "x-volunteer-lease"


def address_group(scope: Scope, receiver: Receiver) -> str:
    """The client's address group (an IPv4 address or an IPv6 /64, as the limits key them)."""
    client = scope.get("client")
    return client_key(client[0] if client else "unknown", receiver.settings)


def session_of(headers: Headers, receiver: Receiver) -> Session | None | Response:
    """The session the request names, None when it names none, or the 401 answer when it names one that cannot be used."""
    token = headers.get(SESSION_HEADER)
    if token is None or receiver.sessions is None:
        return None
    try:
        return receiver.sessions.verify(token.strip(), receiver.now().timestamp())
    except SessionError as exc:
        return error(401, str(exc))


def _too_many(refusal: Refusal) -> Response:
    seconds = retry_after_header(refusal.wait)
    return error(429, f"Too many new volunteer sessions from your network; wait {seconds} s, or keep using the session you have.", headers={"Retry-After": seconds})


async def create_session(request: Request) -> Response:
    receiver = receiver_of(request)
    if receiver.sessions is None:
        return error(503, "The receiver is starting; ask for a session again in a moment.", headers={"Retry-After": "5"})
    limits = receiver.session_limits
    if limits is not None and limits.active:
        key = address_group(request.scope, receiver)
        refusal = await run_in_threadpool(limits.admit, key, receiver.clock())
        if refusal is not None:
            return _too_many(refusal)
    token, session = receiver.sessions.issue(receiver.now().timestamp())
    body: dict[str, Any] = {
        "message": f"Welcome! You label as {session.pseudonym}; keep this session and send it with each request.",
        "session": token,
        "pseudonym": session.pseudonym,
        "expires_in": int(receiver.sessions.lifetime),
    }
    return JSONAnswer(body, status_code=201)


def session_routes() -> list[Route]:
    return [Route("/api/sessions", create_session, methods=["POST"])]
