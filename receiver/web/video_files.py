"""`GET /videos/<path>`: the receiver serves the video files of RECEIVER_VIDEO_DIR itself.

A browser seeks a video by asking for byte ranges, and a page on another
origin draws its frames only with a CORS answer; a plain static server
gives neither, and the page then shows frame 0 wherever it seeks. Starlette's
`FileResponse` answers ranges (206 with Content-Range, 416 for a range past the
end, Accept-Ranges on every answer); CORS is the app's middleware, for the same
origins that may post labels. Each answer carries a policy that lets the file
run nothing, should a browser open it as a page.

What it will not do: serve anything outside the folder (`..`, absolute
paths, hidden names, symbolic links that lead out: 404 and a log line),
list a folder, or serve a folder at all.
"""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path, PurePosixPath

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from receiver.web.responses import error

__all__ = ["video_routes", "VIDEO_POLICY", "resolve_video"]

log = logging.getLogger("receiver.videos")

#: The file is media, never a page: nothing in it may run or load anything.
VIDEO_POLICY = "default-src 'none'; sandbox"
_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm", ".mkv": "video/x-matroska", ".avi": "video/x-msvideo"}

NOT_SERVED = "This receiver serves no video files; its operator sets RECEIVER_VIDEO_DIR."
NO_FILE = "There is no video at this address; GET /api/next-frame names the videos being labelled."


def resolve_video(folder: Path, requested: str) -> Path | None:
    """The file `requested` names inside `folder`, or None when it is outside it, hidden, missing or not a file."""
    if not requested or "\x00" in requested or "\\" in requested or requested.startswith("/"):
        return None
    parts = PurePosixPath(requested).parts
    if any(part in ("..", ".") or part.startswith(".") for part in parts):
        return None
    root = folder.resolve()
    # Resolved, so a symbolic link inside the folder that leads out of it is refused like `..`.
    target = root.joinpath(*parts).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return target


def video_routes(folder: Path | None) -> list[BaseRoute]:
    """`GET` and `HEAD /videos/{path}` from `folder` (404 with a sentence for every address when there is none)."""

    async def video_file(request: Request) -> Response:
        requested = request.path_params["path"]
        if folder is None:
            return error(404, NOT_SERVED)
        target = resolve_video(folder, requested)
        if target is None:
            # A scanner probing for ../ or a link out of the folder shows up here; the folder itself is never logged.
            log.warning("video refused: %r is not a file in RECEIVER_VIDEO_DIR", requested[:200])
            return error(404, NO_FILE)
        media_type = _TYPES.get(target.suffix.lower()) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        headers = {"Content-Security-Policy": VIDEO_POLICY, "Cache-Control": "public, max-age=300"}
        return FileResponse(target, media_type=media_type, headers=headers)

    return [Route("/videos/{path:path}", video_file, methods=["GET", "HEAD"])]
