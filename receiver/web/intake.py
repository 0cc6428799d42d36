"""POST /api/labels as one raw ASGI callable, in front of Starlette's middleware and routing.

The submit path is the receiver's hot path. `ReceiverApp` is the Starlette
app with one difference: a POST to a submit path goes straight to
`FastSubmit`, which does what the middleware around it would have done, with
the same middleware objects (their settings and their state: the forwarded
client, the per-client connection cap, the allowed origins), and then
`receiver.web.submissions.answer`. Everything else, CORS preflights
included, takes the Starlette stack as before.

What it will not do: run a middleware it does not know. If the app's stack
holds a layer other than those below, the fast path is off and every
request takes the stack (so adding a middleware never silently skips it on
the submit path).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Router
from starlette.types import ASGIApp, Receive, Scope, Send

from receiver.web.connections import ConnectionCap
from receiver.web.forwarded import ForwardedFor
from receiver.web.headers import SecurityHeaders
from receiver.web.state import Receiver
from receiver.web.submissions import answer

__all__ = ["SUBMIT_PATHS", "FastSubmit", "ReceiverApp"]

#: The paths a labeling page posts to (the prototype's, and ours).
SUBMIT_PATHS = frozenset({"/api/labels", "/api/annotations"})

_NOSNIFF = (b"x-content-type-options", b"nosniff")
_VARY = b"vary"
_ALLOW_ORIGIN = b"access-control-allow-origin"


class FastSubmit:
    """The submit path with the receiver's middleware done inline: forwarded client, CORS headers, nosniff, the connection cap, a plain 500."""

    def __init__(self, forwarded: ForwardedFor, cors: CORSMiddleware, cap: ConnectionCap, count: Callable[[int], None]) -> None:
        self._forwarded = forwarded
        self._cors = cors
        self._cap = cap
        self._count = count
        self._simple = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in cors.simple_headers.items()]

    @classmethod
    def around(cls, stack: ASGIApp, count: Callable[[int], None]) -> FastSubmit | None:
        """The fast path over the layers of `stack` (Starlette's built middleware), or None when it holds one it does not know."""
        found: dict[type, Any] = {}
        layer: Any = stack
        while not isinstance(layer, Router):
            if type(layer) not in _KNOWN or type(layer) in found:
                return None
            found[type(layer)] = layer
            layer = getattr(layer, "app", None)
        if set(found) != _KNOWN:
            return None
        return cls(found[ForwardedFor], found[CORSMiddleware], found[ConnectionCap], count)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def sent(message: dict[str, Any]) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self._capped(scope, receive, sent)
        except Exception:
            # As Starlette's outermost layer does: a plain 500 if nothing was sent yet, then raise so it is logged.
            if not started:
                await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, send)
            raise

    async def _capped(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._forwarded.rewrite(scope)
        origin = _origin(scope)
        taken = self._cap.take(scope)
        if isinstance(taken, Response):
            await self._send(taken, origin, send)
            return
        try:
            receiver: Receiver = scope["app"].state.receiver
            try:
                response = await answer(receiver, scope, receive)
            except Exception:
                self._count(500)
                raise
            self._count(response.status_code)
            await self._send(response, origin, send)
        finally:
            if taken is not None:
                self._cap.release(taken)

    async def _send(self, response: Response, origin: str | None, send: Send) -> None:
        """The answer with the headers CORS and the security layer add to a JSON answer, in the order they add them."""
        headers = list(response.raw_headers)
        if origin is not None:
            headers += self._simple
            cors = self._cors
            if (cors.allow_all_origins and cors.allow_credentials) or (not cors.allow_all_origins and cors.is_allowed_origin(origin)):
                value = origin.encode("latin-1")
                headers = [(name, value) if name == _ALLOW_ORIGIN else (name, old) for name, old in headers]
                if not any(name == _ALLOW_ORIGIN for name, _ in headers):
                    headers.append((_ALLOW_ORIGIN, value))
        headers.append((_VARY, b"Origin"))
        headers.append(_NOSNIFF)
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})


#: The layers Starlette builds for the receiver, outermost first, each of which `FastSubmit` does inline.
_KNOWN = frozenset({ServerErrorMiddleware, SecurityHeaders, ForwardedFor, CORSMiddleware, ConnectionCap, ExceptionMiddleware})


def _origin(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"origin":
            text: str = value.decode("latin-1")
            return text
    return None


class ReceiverApp(Starlette):
    """The receiver's Starlette app; a POST to a submit path is answered by `FastSubmit` instead of the stack."""

    def __init__(self, *args: Any, count: Callable[[int], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._count = count
        self._fast: FastSubmit | None = None

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        self._fast = FastSubmit.around(stack, self._count)
        return stack

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Behind a root path the router strips it; those requests keep the stack, which knows how.
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in SUBMIT_PATHS and not scope.get("root_path"):
            scope["app"] = self
            if self.middleware_stack is None:
                self.middleware_stack = self.build_middleware_stack()
            if self._fast is not None:
                await self._fast(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
