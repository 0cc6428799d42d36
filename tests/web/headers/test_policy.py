"""The pages' Content-Security-Policy is built from the settings, and sent on HTML answers only."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from receiver.volunteers.videos import Video
from receiver.web.dashboard import STYLE_SOURCE, DashboardFacts, render_dashboard
from receiver.web.headers import SecurityHeaders, content_security_policy, page_headers, video_origins


def video(url: str) -> Video:
    return Video(url=url, fps=25.0, frames=100, width=320, height=240)


@dataclass(frozen=True)
class Configured:
    videos: tuple[Video, ...]


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in policy.split(";"):
        name, *sources = directive.split()
        parsed[name] = sources
    return parsed


VIDEOS = (video("https://cdn.example.org/mice/a.mp4?x=1"), video("http://127.0.0.1:9000/b.mp4"), video("https://cdn.example.org/mice/c.mp4"))


class TestVideoOrigins:
    def test_each_origin_once_in_the_order_first_listed(self) -> None:
        """Two videos on one host give one origin; the path and query are not part of it."""
        assert video_origins(VIDEOS) == ["https://cdn.example.org", "http://127.0.0.1:9000"]

    def test_a_port_the_scheme_implies_is_dropped(self) -> None:
        """https on 443 is the origin https://host, as the browser compares it."""
        assert video_origins([video("https://cdn.example.org:443/a.mp4"), video("http://Example.ORG:80/b.mp4")]) == ["https://cdn.example.org", "http://example.org"]


class TestContentSecurityPolicy:
    def test_video_origins_are_allowed_as_media(self) -> None:
        """media-src is the receiver and each video host, nothing more."""
        assert directives(content_security_policy(VIDEOS))["media-src"] == ["'self'", "https://cdn.example.org", "http://127.0.0.1:9000"]

    def test_video_origins_appear_in_no_other_directive(self) -> None:
        """Scripts, styles, images, requests and frames never come from a video host."""
        others = {name: sources for name, sources in directives(content_security_policy(VIDEOS)).items() if name != "media-src"}
        assert not [s for sources in others.values() for s in sources if "example.org" in s or "127.0.0.1" in s]

    def test_without_videos_media_comes_from_the_receiver_only(self) -> None:
        assert directives(content_security_policy(()))["media-src"] == ["'self'"]

    def test_scripts_and_requests_go_to_the_receiver_only(self) -> None:
        """No inline script, no eval: script-src and connect-src are the receiver itself."""
        policy = directives(content_security_policy(VIDEOS))
        assert policy["script-src"] == ["'self'"] and policy["connect-src"] == ["'self'"] and policy["default-src"] == ["'none'"]

    def test_inline_styles_are_not_allowed_wholesale(self) -> None:
        """style-src allows the receiver's files and the dashboard's one style element by hash, not 'unsafe-inline'."""
        assert directives(content_security_policy(VIDEOS))["style-src"] == ["'self'", STYLE_SOURCE]

    def test_images_may_be_data_and_blob_urls(self) -> None:
        assert directives(content_security_policy(VIDEOS))["img-src"] == ["'self'", "data:", "blob:"]

    def test_no_page_may_be_framed(self) -> None:
        assert directives(content_security_policy(VIDEOS))["frame-ancestors"] == ["'none'"]


def test_page_headers_forbid_framing_sniffing_and_referrers() -> None:
    """The four headers every HTML answer carries."""
    headers = page_headers(Configured(VIDEOS))
    assert headers == {
        "Content-Security-Policy": content_security_policy(VIDEOS),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def test_the_dashboard_style_hash_matches_its_style_element() -> None:
    """The hash in the policy is the SHA-256 of the dashboard's <style> text, so the browser applies it; no style attribute needs more."""
    health = {"message": "ok", "status": "ok", "version": "0", "delivery": {"state": "ok"}, "journal": {"backlog": 0}, "failed": {"count": 0}, "store": {}}
    page = render_dashboard(DashboardFacts(datetime(2026, 1, 1, tzinfo=timezone.utc), health, [], [], [], None))
    [style] = re.findall(r"<style>(.*?)</style>", page, re.DOTALL)
    assert STYLE_SOURCE == "'sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() + "'"
    assert " style=" not in page


class TestMiddleware:
    @staticmethod
    def client() -> TestClient:
        async def html(request: Request) -> Response:
            return HTMLResponse("<p>page</p>")

        async def data(request: Request) -> Response:
            return JSONResponse({"message": "data"})

        app = Starlette(
            routes=[Route("/page", html), Route("/data", data)],
            middleware=[Middleware(SecurityHeaders, page=page_headers(Configured(VIDEOS)))],
        )
        return TestClient(app)

    def test_an_html_answer_gets_every_page_header(self) -> None:
        headers = self.client().get("/page").headers
        assert {name: headers[name] for name in page_headers(Configured(VIDEOS))} == page_headers(Configured(VIDEOS))

    def test_a_json_answer_gets_nosniff_only(self) -> None:
        """An API answer is no page: no policy, no frame options, but never sniffed."""
        headers = self.client().get("/data").headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert not {"content-security-policy", "x-frame-options", "referrer-policy"} & set(headers)
