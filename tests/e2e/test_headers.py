"""Over real HTTP, `receiver serve` sends its security headers on every page, and a browser finds nothing in them to refuse.

The headers are read as `curl -I` reads them; the pages are opened in Chromium,
which reports each Content-Security-Policy violation as a `securitypolicyviolation`
event and a console error.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.servers import ReceiverProcess, wait_until

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

VIDEO = "https://videos.example.org:8443/mice/cage-3.mp4"
TOKEN = "metrics-secret-for-tests"
PAGES = ("/label", "/review/0123456789abcdef0123456789abcdef", "/dashboard", "/docs")

#: Records every violation the page reports, before any of its own scripts run.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReceiverProcess]:
    """`receiver serve` with one video on another host and a metrics token."""
    workdir = tmp_path_factory.mktemp("headers")
    videos = workdir / "videos.json"
    videos.write_text(json.dumps([{"url": VIDEO, "fps": 25, "frames": 100, "width": 320, "height": 240}]), encoding="utf-8")
    with ReceiverProcess(workdir, {"RECEIVER_VIDEOS": str(videos), "RECEIVER_METRICS_TOKEN": TOKEN}) as running:
        yield running


def curl_head(url: str) -> dict[str, str]:
    """The headers of `curl -sI URL`, names lower-cased."""
    result = subprocess.run(["curl", "-sI", "--max-time", "30", url], capture_output=True, text=True, check=True)
    lines = result.stdout.splitlines()[1:]
    return {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines) if value}


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("path", PAGES)
def test_each_page_carries_the_four_security_headers(server: ReceiverProcess, path: str) -> None:
    """`curl -I` on each HTML page shows the policy (video host in media-src), no framing, nosniff and no referrer."""
    headers = curl_head(f"{server.url}{path}")
    assert headers["content-type"].startswith("text/html")
    policy = dict(directive.strip().partition(" ")[::2] for directive in headers["content-security-policy"].split(";"))
    assert policy["media-src"] == "'self' https://videos.example.org:8443"
    assert policy["frame-ancestors"] == "'none'" and policy["script-src"] == "'self'" and policy["connect-src"] == "'self'"
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


def test_a_json_answer_carries_nosniff_and_no_page_policy(server: ReceiverProcess) -> None:
    """/health is JSON: nosniff, and no Content-Security-Policy (it is no page)."""
    headers = httpx.get(f"{server.url}/health", timeout=10).headers
    assert headers["x-content-type-options"] == "nosniff" and "content-security-policy" not in headers


def test_health_shows_the_deliverer_only_with_the_metrics_token(server: ReceiverProcess) -> None:
    """Anyone reads the state; only the metrics token's holder reads which host delivers."""

    def private_view() -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(f"{server.url}/health", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).json()
        return answer

    # The deliver process reports a moment after serve answers its first request.
    wait_until(lambda: private_view()["deliverer"] is not None and private_view()["status"] == "ok", timeout=30, what="the deliverer to report")
    public = httpx.get(f"{server.url}/health", timeout=10).json()
    private = private_view()
    assert public["status"] == private["status"] == "ok"
    assert "deliverer" not in public and "deliverer" not in public["delivery"]
    assert private["deliverer"] is not None


@pytest.fixture
def page() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            opened = browser.new_page()
            opened.add_init_script(RECORD_VIOLATIONS)
            yield opened
        finally:
            browser.close()


def violations(page: Any, path: str, url: str, ready: str) -> list[str]:
    """Open `path`, wait for `ready`, and return the violations reported by event or on the console."""
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text) if "Content Security Policy" in message.text else None)
    page.goto(f"{url}{path}")
    page.wait_for_selector(ready, timeout=30_000)
    page.wait_for_load_state("networkidle")
    reported: list[str] = page.evaluate("window.__violations")
    return reported + console


@pytest.mark.browser
def test_docs_runs_under_the_policy(server: ReceiverProcess, page: Any) -> None:
    """Swagger UI on /docs draws the API's operations with nothing refused."""
    assert violations(page, "/docs", server.url, ".opblock") == []


@pytest.mark.browser
def test_dashboard_draws_under_the_policy(server: ReceiverProcess, page: Any) -> None:
    """The dashboard's styles apply (its cards are laid out as flex boxes) with nothing refused."""
    assert violations(page, "/dashboard", server.url, '[data-testid="card-delivery"]') == []
    assert page.evaluate("getComputedStyle(document.querySelector('.cards')).display") == "flex"


@pytest.mark.browser
def test_an_inline_script_is_refused_and_reported(server: ReceiverProcess, page: Any) -> None:
    """A script injected inline into /label does not run, and the browser reports the refusal."""
    violations(page, "/label", server.url, '[data-testid="frame"]')
    page.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.__ran = true'; document.body.append(s); }")
    assert page.evaluate("window.__ran === true") is False
    assert any(v.startswith("script-src") for v in page.evaluate("window.__violations"))
