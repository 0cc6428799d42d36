"""`GET /videos/<path>`: the receiver serves RECEIVER_VIDEO_DIR with byte ranges, CORS and a policy, and nothing outside it."""

from __future__ import annotations

import http.client

import httpx
import pytest

from receiver.web.video_files import VIDEO_POLICY
from tests.web.videos.conftest import Served


def raw_get(served: Served, path: str) -> tuple[int, bytes]:
    """A request with its path sent exactly as written (httpx would fold `..` away before sending)."""
    connection = http.client.HTTPConnection("127.0.0.1", served.server.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


class TestServing:
    def test_a_whole_file(self, served: Served) -> None:
        """200, the file's bytes, its media type, ranges offered, and a policy that lets the file run nothing."""
        answer = httpx.get(f"{served.url}/videos/ntsc.mp4")
        assert answer.status_code == 200
        assert answer.content == (served.video_dir / "ntsc.mp4").read_bytes()
        assert answer.headers["content-type"] == "video/mp4"
        assert answer.headers["accept-ranges"] == "bytes"
        assert answer.headers["content-security-policy"] == VIDEO_POLICY
        assert answer.headers["x-content-type-options"] == "nosniff"

    def test_a_byte_range(self, served: Served) -> None:
        """206 with exactly the bytes asked for and where they sit in the file."""
        data = (served.video_dir / "ntsc.mp4").read_bytes()
        answer = httpx.get(f"{served.url}/videos/ntsc.mp4", headers={"Range": "bytes=100-199"})
        assert answer.status_code == 206
        assert answer.headers["content-range"] == f"bytes 100-199/{len(data)}"
        assert answer.content == data[100:200]

    def test_an_open_range_to_the_end(self, served: Served) -> None:
        """bytes=N- is the rest of the file, as browsers ask when seeking."""
        data = (served.video_dir / "ntsc.mp4").read_bytes()
        answer = httpx.get(f"{served.url}/videos/ntsc.mp4", headers={"Range": f"bytes={len(data) - 10}-"})
        assert answer.status_code == 206 and answer.content == data[-10:]

    def test_a_range_past_the_end_is_416(self, served: Served) -> None:
        """A range the file cannot satisfy says how long the file is."""
        size = (served.video_dir / "ntsc.mp4").stat().st_size
        answer = httpx.get(f"{served.url}/videos/ntsc.mp4", headers={"Range": f"bytes={size + 10}-{size + 20}"})
        assert answer.status_code == 416
        assert answer.headers["content-range"] == f"bytes */{size}"

    def test_head_answers_the_size(self, served: Served) -> None:
        """A browser may ask the length first."""
        answer = httpx.head(f"{served.url}/videos/mjpeg.avi")
        assert answer.status_code == 200 and int(answer.headers["content-length"]) == (served.video_dir / "mjpeg.avi").stat().st_size

    def test_a_file_in_a_subfolder_with_a_space(self, served: Served) -> None:
        """Paths below the folder are served, percent-encoded as browsers send them."""
        answer = httpx.get(f"{served.url}/videos/mice/day%201.mp4", headers={"Range": "bytes=0-3"})
        assert answer.status_code == 206 and answer.content == (served.video_dir / "mice" / "day 1.mp4").read_bytes()[:4]

    def test_cors_for_a_page_on_an_allowed_origin(self, served: Served) -> None:
        """A page on another local port may draw the frames (the canvas reads them back), as it may post."""
        answer = httpx.get(f"{served.url}/videos/ntsc.mp4", headers={"Origin": "http://localhost:5173", "Range": "bytes=0-0"})
        assert answer.headers["access-control-allow-origin"] == "http://localhost:5173"

    def test_no_cors_for_an_unknown_origin(self, served: Served) -> None:
        """Another site's page gets the bytes a browser would not let it read."""
        answer = httpx.get(f"{served.url}/videos/ntsc.mp4", headers={"Origin": "https://elsewhere.example", "Range": "bytes=0-0"})
        assert "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/videos/../secret.txt", "a step up"),
        ("/videos/%2e%2e/secret.txt", "an encoded step up"),
        ("/videos/..%2fsecret.txt", "an encoded slash"),
        ("/videos//etc/passwd", "an absolute path"),
        ("/videos/link-out.mp4", "a symbolic link out of the folder"),
        ("/videos/.hidden.mp4", "a hidden file"),
        ("/videos/mice", "a folder (no listing)"),
        ("/videos/mice/", "a folder with a slash"),
        ("/videos/nothing.mp4", "a missing file"),
    ],
)
def test_nothing_outside_the_folder(served: Served, path: str, why: str) -> None:
    """404 with a sentence, never the file, and a log line naming the request (not the folder)."""
    status, body = raw_get(served, path)
    assert status == 404, why
    assert b"secret" not in body and b"root:" not in body
    assert body.startswith(b'{"error":"There is no video at this address')
    assert "video refused:" in served.server.log()
    assert str(served.video_dir) not in served.server.log()
