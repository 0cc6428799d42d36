"""A real browser: a page on another origin posts a captured payload, with no secret, and sees a 2xx."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.captured import captured_body
from tests.support.servers import ReceiverProcess, free_port

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser

PAGE = """<!doctype html><meta charset="utf-8"><title>labeling page</title>
<button id="submit">Submit Labels</button><p id="result"></p>
<script>
document.getElementById("submit").addEventListener("click", async () => {
  const out = document.getElementById("result");
  try {
    const response = await fetch(ENDPOINT, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(BODY)});
    const text = await response.text();
    out.dataset.status = String(response.status);
    out.textContent = text.slice(0, 100);
  } catch (error) {
    out.dataset.status = "error";
    out.textContent = "Network error: " + error.message;
  }
});
</script>"""


def page_server(html: str) -> tuple[ThreadingHTTPServer, int]:
    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, port


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[ReceiverProcess]:
    with ReceiverProcess(tmp_path) as running:
        yield running


def click_submit(endpoint: str, body: object) -> tuple[str, str]:
    from playwright.sync_api import sync_playwright

    html = PAGE.replace("ENDPOINT", json.dumps(endpoint)).replace("BODY", json.dumps(body))
    server, port = page_server(html)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            try:
                page = browser.new_page()
                page.goto(f"http://localhost:{port}/")
                page.click("#submit")
                result = page.locator("#result[data-status]")
                result.wait_for(timeout=30_000)
                return result.get_attribute("data-status") or "", result.text_content() or ""
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()


def test_page_on_another_origin_posts_without_a_token(receiver: ReceiverProcess) -> None:
    """Chromium sends the preflight, then the POST; the page reads a 2xx and a sentence."""
    status, text = click_submit(f"{receiver.url}/api/labels", captured_body())
    assert status == "202", text
    assert text.startswith('{"message":"Thank you! Your labels for frame 178 were received')


def test_page_reads_the_422_sentence(receiver: ReceiverProcess) -> None:
    """An invalid submission reaches the page as a readable error, not 'Failed to fetch'."""
    body = captured_body()
    body["labels"][0]["pixel_x"] = 5000
    status, text = click_submit(f"{receiver.url}/api/labels", body)
    assert status == "422"
    assert "/labels/0/pixel_x: 5000 is outside the frame (width 1280)" in text
