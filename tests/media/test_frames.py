"""`read_frames` gives exactly the frames asked for, numbered as the probe numbers them; `encode_image` writes them as images."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest

import receiver.media.frames as frames_module
from receiver.media import FrameError, encode_image, probe, read_frames
from tests.media.conftest import FRAMES, HEIGHT, KINDS, WIDTH, clip
from tests.support.clips import index_in

#: Scattered indices: the first, neighbours, across keyframes, and the last.
SCATTERED = [0, 1, 2, 7, 13, 14, 29, 30, 31, FRAMES - 1]


def drawn(pixels: npt.NDArray[np.uint8], rotation: int) -> int:
    """The index drawn in an upright frame of a clip stored with `rotation` (turned back to how it was drawn)."""
    return index_in(np.rot90(pixels, k=rotation // 90))


@pytest.mark.parametrize("name", sorted(KINDS))
class TestEveryKind:
    def test_frame_i_is_frame_i(self, clips: Path, name: str) -> None:
        """Each decoded frame shows the index that was drawn into it."""
        rotation = KINDS[name].rotation
        got = {index: drawn(pixels, rotation) for index, pixels in read_frames(clip(clips, name), SCATTERED)}
        assert got == {index: index for index in SCATTERED}

    def test_every_frame_in_one_pass(self, clips: Path, name: str) -> None:
        """Asking for all frames yields all, in order, each showing its own index."""
        rotation = KINDS[name].rotation
        assert [drawn(pixels, rotation) for _, pixels in read_frames(clip(clips, name), range(FRAMES))] == list(range(FRAMES))

    def test_pixels_are_rgb_as_displayed(self, clips: Path, name: str) -> None:
        """RGB uint8, as tall and wide as the probe says the video is displayed."""
        path = clip(clips, name)
        found = probe(path)
        (_, pixels), = read_frames(path, [3])
        assert pixels.dtype == np.uint8
        assert pixels.shape == (found.height, found.width, 3)


def test_rotated_frames_are_upright(clips: Path) -> None:
    """A clip stored turned a quarter clockwise comes out tall, and turning it back shows the drawing."""
    (_, pixels), = read_frames(clip(clips, "rotated.mp4"), [5])
    assert pixels.shape == (WIDTH, HEIGHT, 3)
    assert index_in(np.rot90(pixels, k=1)) == 5
    assert index_in(np.rot90(pixels, k=-1)) != 5


def test_each_index_once_ascending(clips: Path) -> None:
    """Repeated and unordered indices come back once each, smallest first."""
    assert [index for index, _ in read_frames(clip(clips, "ntsc.mp4"), [9, 3, 9, 0, 3])] == [0, 3, 9]


def test_no_indices_no_frames(clips: Path) -> None:
    """Asking for nothing decodes nothing."""
    assert list(read_frames(clip(clips, "ntsc.mp4"), [])) == []


def test_a_given_probe_is_used(clips: Path) -> None:
    """With the probe passed in, frames are the same as without it."""
    path = clip(clips, "vfr.mp4")
    found = probe(path)
    assert [drawn(p, 0) for _, p in read_frames(path, [4, 20], probed=found)] == [4, 20]


class TestRefused:
    def test_an_index_past_the_end(self, clips: Path) -> None:
        """The message gives the frames there are."""
        with pytest.raises(FrameError, match=f"ntsc.mp4 has frames 0 to {FRAMES - 1}; there is no frame {FRAMES}"):
            list(read_frames(clip(clips, "ntsc.mp4"), [2, FRAMES]))

    def test_a_negative_index(self, clips: Path) -> None:
        """Frames are numbered from 0."""
        with pytest.raises(FrameError, match="there is no frame -1"):
            list(read_frames(clip(clips, "ntsc.mp4"), [-1]))

    def test_a_file_that_is_not_a_video(self, clips: Path) -> None:
        """The decoder's reason comes through."""
        with pytest.raises(FrameError, match="Invalid data found"):
            list(read_frames(clips / "broken.mp4", [0]))


def decode_image(data: bytes) -> npt.NDArray[np.uint8]:
    with av.open(io.BytesIO(data)) as container:
        frame = next(container.decode(video=0))
        pixels: npt.NDArray[np.uint8] = frame.to_ndarray(format="rgb24")
        return pixels


class TestEncodeImage:
    @pytest.fixture
    def pixels(self, clips: Path) -> npt.NDArray[np.uint8]:
        (_, found), = read_frames(clip(clips, "ntsc.mp4"), [21])
        return found

    def test_png_is_lossless(self, pixels: npt.NDArray[np.uint8]) -> None:
        """A PNG decodes to exactly the pixels it was given."""
        data = encode_image(pixels, "png")
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert np.array_equal(decode_image(data), pixels)

    @pytest.mark.parametrize(("format", "magic"), [("jpeg", b"\xff\xd8"), ("webp", b"RIFF")])
    def test_lossy_formats_keep_the_frame(self, pixels: npt.NDArray[np.uint8], format: str, magic: bytes) -> None:
        """JPEG and WebP are sized as the frame and still show its index."""
        data = encode_image(pixels, format)
        assert data.startswith(magic)
        decoded = decode_image(data)
        assert decoded.shape == pixels.shape
        assert index_in(decoded) == 21

    def test_unknown_format(self, pixels: npt.NDArray[np.uint8]) -> None:
        """Only the formats the endpoint offers are written."""
        with pytest.raises(ValueError, match="image format 'gif' is not one of png, jpeg, webp"):
            encode_image(pixels, "gif")

    def test_not_rgb(self) -> None:
        """Grey or float pixels are refused rather than encoded wrongly."""
        with pytest.raises(ValueError, match="pixels must be RGB uint8"):
            encode_image(np.zeros((4, 4), dtype=np.uint8), "png")


class CountingContainer:
    """A container that counts the seeks and decoded frames read_frames asks of it, and otherwise is the real one."""

    def __init__(self, container: Any) -> None:
        self.container = container
        self.seeks = 0
        self.decoded = 0

    def seek(self, *args: Any, **kwargs: Any) -> None:
        self.seeks += 1
        self.container.seek(*args, **kwargs)

    def decode(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        for frame in self.container.decode(*args, **kwargs):
            self.decoded += 1
            yield frame

    def __enter__(self) -> CountingContainer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.container.close()


class TestOnePass:
    @pytest.fixture
    def counted(self, monkeypatch: pytest.MonkeyPatch) -> list[CountingContainer]:
        opened: list[CountingContainer] = []
        real_open = frames_module.open_video

        def counting_open(source: Any) -> tuple[CountingContainer, Any]:
            container, stream = real_open(source)
            opened.append(CountingContainer(container))
            return opened[-1], stream

        monkeypatch.setattr(frames_module, "open_video", counting_open, raising=True)
        return opened

    def test_every_frame_is_one_seek_and_one_decode_each(self, clips: Path, counted: list[CountingContainer]) -> None:
        """Reading all frames decodes each once, from one seek."""
        assert len(list(read_frames(clip(clips, "ntsc.mp4"), range(FRAMES)))) == FRAMES
        assert (counted[0].seeks, counted[0].decoded) == (1, FRAMES)

    def test_a_far_frame_starts_at_its_keyframe(self, clips: Path, counted: list[CountingContainer]) -> None:
        """The last frame alone decodes from the keyframe before it, not from the start."""
        path = clip(clips, "ntsc.mp4")
        last_key = max(k for k in probe(path).keyframes if k <= FRAMES - 1)
        list(read_frames(path, [FRAMES - 1]))
        assert counted[0].seeks == 1
        assert counted[0].decoded <= FRAMES - last_key
