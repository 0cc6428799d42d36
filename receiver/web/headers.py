"""Security headers: the Content-Security-Policy the receiver's pages need, and the middleware that sends it.

`page_headers` is a pure function of the settings: the labeling page, the
review view, the dashboard and `/docs` load scripts and styles from the
receiver only, talk to the receiver only, and play video only from the
receiver and the hosts of the configured videos (the canvas reads those
frames back, so the page asks for them with CORS). No page may be framed.
`SecurityHeaders` adds those headers to every HTML answer and
`X-Content-Type-Options: nosniff` to every answer.

What it will not do: a page built with `receiver page build` is served by
another host, whose headers are that host's to set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from receiver.volunteers.videos import Video
from receiver.web.dashboard import STYLE_SOURCE

__all__ = ["PageSettings", "SecurityHeaders", "content_security_policy", "page_headers", "video_origins"]


class PageSettings(Protocol):
    """What the pages' policy is built from (the settings carry it)."""

    @property
    def videos(self) -> Sequence[Video]: ...


def video_origins(videos: Iterable[Video]) -> list[str]:
    """The distinct origins (scheme, host and port) the videos are loaded from, in the order first listed."""
    origins: list[str] = []
    for video in videos:
        parts = urlsplit(video.url)
        # The videos file admits only http(s) URLs with a host; a port the scheme implies is dropped, as browsers do.
        default = {"http": 80, "https": 443}[parts.scheme]
        host = parts.hostname or ""
        shown = f"[{host}]" if ":" in host else host
        origin = f"{parts.scheme}://{shown}" + (f":{parts.port}" if parts.port not in (None, default) else "")
        if origin not in origins:
            origins.append(origin)
    return origins


def content_security_policy(videos: Iterable[Video]) -> str:
    """The policy every HTML answer carries: the receiver's own scripts, styles and API, and video from the configured hosts."""
    directives = (
        ("default-src", ["'none'"]),
        ("script-src", ["'self'"]),
        # The dashboard's one <style> element, allowed by its hash rather than by allowing every inline style.
        ("style-src", ["'self'", STYLE_SOURCE]),
        ("img-src", ["'self'", "data:", "blob:"]),
        ("media-src", ["'self'", *video_origins(videos)]),
        ("connect-src", ["'self'"]),
        ("font-src", ["'self'"]),
        ("base-uri", ["'none'"]),
        ("form-action", ["'self'"]),
        ("frame-ancestors", ["'none'"]),
    )
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives)


def page_headers(settings: PageSettings) -> dict[str, str]:
    """The headers of an HTML answer: the policy above, no framing, no sniffing and no referrer sent onwards."""
    return {
        "Content-Security-Policy": content_security_policy(settings.videos),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


class SecurityHeaders:
    """ASGI middleware: `page` headers on answers whose content type is HTML, `nosniff` on every other answer."""

    def __init__(self, app: ASGIApp, *, page: Mapping[str, str]) -> None:
        self.app = app
        self.page = dict(page)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").lower().startswith("text/html"):
                    headers.update(self.page)
                else:
                    headers["X-Content-Type-Options"] = "nosniff"
            await send(message)

        await self.app(scope, receive, send_with_headers)
