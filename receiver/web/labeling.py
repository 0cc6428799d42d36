"""The labeling page and the review view: served by the receiver, or built as static files.

The page itself lives in `receiver/volunteers/page/` as ES modules served as they are (no build
step, nothing from a CDN). Its two HTML files name their assets through one
placeholder, `{{assets}}`: the receiver fills in `/page/`, a static build `./`.
Where the receiver is comes from `config.js`, which the receiver ships empty (the same
origin) and a static build rewrites. This module does not decide which frames need
labels; that is the receiver's `/api/next-frame`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from receiver.contract.schemas import Skeleton
from receiver.volunteers import PAGE_DIR

__all__ = ["PAGE_DIR", "routes", "skeleton_document", "build_static", "PageBuildError"]

_ASSETS = "{{assets}}"
_SERVED_ASSETS = "/page/"
_TEMPLATES = {"label.html": "index.html", "review.html": "review.html"}


class PageBuildError(ValueError):
    """A static build that cannot be made, with the reason."""


def _html(name: str, assets: str) -> str:
    return (PAGE_DIR / name).read_text(encoding="utf-8").replace(_ASSETS, assets)


def skeleton_document(skeleton: Skeleton) -> dict[str, object]:
    """The skeleton as the page reads it: keypoint ids and names in order, and the edges."""
    return {
        "message": f"Place the {len(skeleton.keypoints)} keypoints in this order; the edges join them.",
        "name": skeleton.name,
        "keypoints": [{"id": k.id, "name": k.name} for k in skeleton.keypoints],
        "edges": [list(edge) for edge in skeleton.edges],
    }


async def _label(request: Request) -> Response:
    return HTMLResponse(_html("label.html", _SERVED_ASSETS), headers={"Cache-Control": "no-cache"})


async def _review(request: Request) -> Response:
    return HTMLResponse(_html("review.html", _SERVED_ASSETS), headers={"Cache-Control": "no-cache"})


async def _skeleton(request: Request) -> Response:
    skeleton: Skeleton = request.app.state.receiver.validator.skeleton
    return JSONResponse(skeleton_document(skeleton))


def routes() -> list[BaseRoute]:
    """`GET /label`, `GET /review/{id}`, the page's assets under `/page/` and `GET /api/skeleton`."""
    return [
        Route("/label", _label, methods=["GET"]),
        Route("/review/{id}", _review, methods=["GET"]),
        Route("/api/skeleton", _skeleton, methods=["GET"]),
        Mount("/page", StaticFiles(directory=PAGE_DIR)),
    ]


def _receiver_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise PageBuildError(f"--receiver-url must be an http(s) address like https://labels.example.org, not {url!r}")
    return url.rstrip("/")


def build_static(directory: Path, receiver_url: str) -> list[Path]:
    """Write the page into `directory` for a static host (GitHub Pages, any web server), posting to `receiver_url`.

    `index.html` is the labeling page, `review.html?id=ID` the review view. The receiver
    must allow the host's origin (RECEIVER_ALLOWED_ORIGINS). Returns the files written.
    """
    url = _receiver_url(receiver_url)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted(PAGE_DIR.iterdir()):
        if source.suffix in (".js", ".css") and source.name != "config.js":
            shutil.copyfile(source, directory / source.name)
            written.append(directory / source.name)
    for template, name in _TEMPLATES.items():
        (directory / name).write_text(_html(template, "./"), encoding="utf-8")
        written.append(directory / name)
    config = directory / "config.js"
    config.write_text(
        "// Written by `receiver page build`: the receiver this page posts to.\n"
        f"export default {{ receiverUrl: {json.dumps(url)} }};\n",
        encoding="utf-8",
    )
    written.append(config)
    return written
