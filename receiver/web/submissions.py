"""POST /api/labels: who sent it, whether it may, what it says, and the answer, as a plain ASGI app.

This is the receiver's hot path, so it reads the ASGI scope and messages
itself instead of building a `Request`, and Starlette's routing hands it the
call as it would to any ASGI app. Every refusal is a JSON answer opening with
a sentence a volunteer can act on; nothing is kept unless the journal says so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from receiver import __version__
from receiver.access.limitstate import Refusal
from receiver.access.ratelimit import client_key, retry_after_header
from receiver.access.tokens import TokenError
from receiver.contract.parsing import ParseError, parse_json
from receiver.contract.records import ANONYMOUS, Record
from receiver.contract.validation import fill_names
from receiver.journal import JournalUnavailable
from receiver.web.responses import JSONAnswer, error
from receiver.web.sessions import LEASE_HEADER, session_of

if TYPE_CHECKING:
    from receiver.web.state import Receiver

__all__ = ["SubmissionEndpoint", "answer"]

log = logging.getLogger("receiver.app")


class _Disconnected(Exception):
    """The client went away before its whole body arrived."""


class _Late(Exception):
    """The whole body did not arrive within the body deadline."""


class SubmissionEndpoint:
    """The submit handler as an ASGI app; `count` hears every answer's status (500 included) for /metrics."""

    def __init__(self, count: Callable[[int], None]) -> None:
        self._count = count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        receiver: Receiver = scope["app"].state.receiver
        try:
            response = await answer(receiver, scope, receive)
        except Exception:
            self._count(500)  # Starlette's error middleware answers 500; counted, then let through
            raise
        self._count(response.status_code)
        await response(scope, receive, send)


async def answer(receiver: Receiver, scope: Scope, receive: Receive) -> Response:
    """The answer to one submission: 202 kept now, 200 kept before, or the error that says what to change."""
    headers = Headers(scope=scope)
    limit = receiver.settings.max_body_bytes
    declared = headers.get("content-length")
    too_large = declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit
    submitter = await _sender(receiver, scope, headers)
    session = None if isinstance(submitter, Response) else session_of(headers, receiver)
    if isinstance(session, Response):
        submitter = session
    seconds = receiver.settings.body_seconds
    if isinstance(submitter, Response):
        if not too_large:
            # Read what was sent before answering: a server that closes a connection with
            # request bytes still arriving makes the kernel reset it, and the client may
            # lose the answer to "connection reset" before reading it.
            try:
                await _body(receive, limit, seconds)
            except _Disconnected:
                pass
            except _Late:
                return _too_slow(seconds)
        return submitter
    try:
        body = None if too_large else await _body(receive, limit, seconds)
    except _Disconnected:
        return error(400, "The connection closed before the whole submission arrived; submit again.")
    except _Late:
        return _too_slow(seconds)
    if body is None:
        return error(413, f"The submission is larger than {limit} bytes; send one frame's labels at a time.")
    # The fast intake takes the common case in one decode; anything else, refusals included, the full path judges.
    decoded = receiver.decoder.decode(body) if receiver.decoder is not None else None
    if decoded is None:
        try:
            document = parse_json(body, max_bytes=limit)
        except ParseError as exc:
            return error(400, f"Not saved: {exc}.")
        problems = receiver.validator.check_submission(document)
        if problems:
            details = [str(p) for p in problems]
            count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
            return error(
                422,
                f"Not saved, {count} to fix: {'; '.join(details)}",
                details=details,
                problems=[{"pointer": p.pointer, "message": p.message} for p in problems],
            )
        video_url, frame_index = document["video_url"], document["frame_index"]
    else:
        video_url, frame_index = decoded.video_url, decoded.frame_index
    received = receiver.now()
    volunteer, assigned = None, False
    if session is not None and receiver.sessions is not None:
        volunteer = session.pseudonym
        ticket = headers.get(LEASE_HEADER)
        assigned = receiver.sessions.assigned(ticket, session, video_url, frame_index, received.timestamp())
    if decoded is None:
        record = Record.create(
            fill_names(document, receiver.validator.skeleton),
            submitter=submitter,
            received_at=received,
            receiver_version=__version__,
            volunteer=volunteer,
            assigned=assigned,
        )
    else:
        record = decoded.record(submitter=submitter, received_at=received, receiver_version=__version__, volunteer=volunteer, assigned=assigned)
    assert receiver.journal is not None
    try:
        admission = await receiver.journal.admit(record)
    except JournalUnavailable:
        return error(503, "The receiver cannot keep submissions right now; nothing was saved. Submit again in a minute.", headers={"Retry-After": "30"})
    entry = admission.entry
    content: dict[str, Any] = {
        "message": "",
        "id": entry.id,
        "status": entry.state,
        "status_url": f"{scope.get('root_path', '')}/api/submissions/{entry.id}",
        "path": entry.path,
    }
    frame = record.submission["frame_index"]
    if admission.created:
        content["message"] = f"Thank you! Your labels for frame {frame} were received and will be saved to the repository."
        if record.volunteer is not None:
            content["assigned"] = bool(record.assigned)
            if not record.assigned:
                content["message"] += " This frame was not handed to your session, so these labels do not count toward finishing it."
        return JSONAnswer(content, status_code=202)
    content["message"] = f"Already received: these labels for frame {frame} were submitted before; nothing new was saved."
    content["commit"] = entry.commit
    return JSONAnswer(content, status_code=200)


async def _sender(receiver: Receiver, scope: Scope, headers: Headers) -> str | Response:
    """Who sent the submission, or the answer refusing them (401, 403, 429, 503) or what they send (415)."""
    submitter = _submitter(headers.get("authorization"), receiver)
    if isinstance(submitter, Response):
        return submitter
    if submitter == ANONYMOUS and receiver.limits.active:
        # The peer, or the X-Forwarded-For address when uvicorn trusts the proxy.
        client = scope.get("client")
        key = client_key(client[0] if client else "unknown", receiver.settings)
        if receiver.limits.local:
            refusal = receiver.limits.admit(key, receiver.clock())
        else:
            refusal = await run_in_threadpool(receiver.limits.admit, key, receiver.clock())
        if refusal is not None:
            return _too_many(refusal)
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        return error(415, "Send the labels as JSON with the header Content-Type: application/json.")
    return submitter


def _submitter(header: str | None, receiver: Receiver) -> str | Response:
    """The token's owner, `anonymous` in public mode, or the answer refusing the request."""
    if header is None:
        if receiver.settings.public:
            return ANONYMOUS
        return error(401, "This receiver accepts labels only with a token: send Authorization: Bearer <token>.", headers={"WWW-Authenticate": "Bearer"})
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return error(401, "The Authorization header must read 'Bearer <token>'.", headers={"WWW-Authenticate": "Bearer"})
    try:
        owner = receiver.tokens.lookup(token.strip())
    except TokenError as exc:
        log.error("tokens cannot be checked: %s", exc)
        return error(503, "The receiver cannot check tokens right now; nothing was saved. Submit again in a minute.", headers={"Retry-After": "60"})
    if owner is None:
        return error(403, "This token is not known to the receiver; ask its maintainers for a valid one.")
    return owner


def _too_many(refusal: Refusal) -> Response:
    seconds = retry_after_header(refusal.wait)
    if refusal.reason == "busy":
        # Nothing the client did: the limits could not be checked in time, so nothing was saved.
        return error(503, f"The receiver is too busy to check its limits; nothing was saved. Submit again in {seconds} s.", headers={"Retry-After": seconds})
    if refusal.reason == "ceiling":
        sentence = f"The receiver has taken all the labels it can this hour; wait {seconds} s and submit again."
    else:
        sentence = f"Too many submissions from your address; wait {seconds} s and submit again."
    return error(429, sentence, headers={"Retry-After": seconds})


async def _body(receive: Receive, limit: int, seconds: float) -> bytes | None:
    """The whole body, or None as soon as it passes `limit` bytes; `_Late` when it is not all in within `seconds` (0: no deadline).

    One timer for the whole body, not one per chunk: a client trickling a byte at a time must still finish in time.
    """
    if seconds <= 0:
        return await _read(receive, limit)
    # What `asyncio.timeout` does, without its context object: one timer that cancels this task, told apart
    # from any other cancellation by the flag it sets. This runs for every submission.
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    expired: list[bool] = []
    timer = loop.call_at(loop.time() + seconds, _expire, task, expired)
    try:
        return await _read(receive, limit)
    except asyncio.CancelledError:
        if expired and task.uncancel() == 0:
            raise _Late from None
        raise
    finally:
        timer.cancel()


def _expire(task: asyncio.Task[Any], expired: list[bool]) -> None:
    expired.append(True)
    task.cancel()


async def _read(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_slow(seconds: float) -> Response:
    """408, and the connection closed: a client this slow holds a connection others need."""
    return error(
        408,
        f"The submission did not arrive within {seconds:g} seconds, so it was not saved; check the connection and submit again.",
        headers={"Connection": "close"},
    )
