"""`probe` reads each kind of clip labs record: its frame table, rate, size, rotation, codec, container and playability."""

from __future__ import annotations

from pathlib import Path

import pytest

from receiver.media.probe import Probe, ProbeError, probe
from tests.media.conftest import FRAMES, HEIGHT, KINDS, WIDTH, clip


@pytest.mark.parametrize("name", sorted(KINDS))
class TestEveryKind:
    def test_counts_every_frame(self, clips: Path, name: str) -> None:
        """The table has one time per frame the encoder wrote, in presentation order."""
        found = probe(clip(clips, name))
        assert found.frames == FRAMES
        assert len(found.times) == FRAMES
        assert list(found.times) == sorted(found.times)

    def test_names_codec_and_container(self, clips: Path, name: str) -> None:
        """Codec and container are FFmpeg's short names, the container's as the file's suffix says."""
        found = probe(clip(clips, name))
        assert (found.codec, found.container) == (KINDS[name].codec, KINDS[name].container)

    def test_says_whether_a_browser_plays_it(self, clips: Path, name: str) -> None:
        """H.264 in MP4 and VP9 in WebM play in browsers; MJPEG, FFV1 and HEVC do not."""
        assert probe(clip(clips, name)).playable is KINDS[name].playable

    def test_reads_rate_and_start(self, clips: Path, name: str) -> None:
        """The average rate, whether it is constant, and the stream's start time."""
        found = probe(clip(clips, name))
        kind = KINDS[name]
        assert found.fps == pytest.approx(kind.fps, rel=1e-3)
        assert found.constant_rate is kind.constant_rate
        assert found.start == pytest.approx(kind.start)
        assert found.times[0] == pytest.approx(kind.start)

    def test_size_is_as_displayed(self, clips: Path, name: str) -> None:
        """Width and height are after the rotation: a video turned a quarter is as tall as it was wide."""
        found = probe(clip(clips, name))
        turned = KINDS[name].rotation in (90, 270)
        assert (found.width, found.height) == ((HEIGHT, WIDTH) if turned else (WIDTH, HEIGHT))
        assert found.rotation == KINDS[name].rotation


def test_times_of_a_variable_rate_follow_each_frame(clips: Path) -> None:
    """Every third frame lasts two ticks: frame n is shown at (n + n // 3) / 30 s, not n / fps."""
    found = probe(clip(clips, "vfr.mp4"))
    assert found.times == pytest.approx([(n + n // 3) / 30 for n in range(FRAMES)])


def test_times_of_29_97_are_exact(clips: Path) -> None:
    """At 30000/1001 fps frame n is at n × 1001/30000 s, which i/29.97 misses by a growing margin."""
    found = probe(clip(clips, "ntsc.mp4"))
    assert found.times == pytest.approx([n * 1001 / 30000 for n in range(FRAMES)], abs=1e-9)


def test_times_of_a_late_stream_start_at_its_start(clips: Path) -> None:
    """A stream starting at 10 s has frame n at 10 + n/30 s."""
    found = probe(clip(clips, "start10.mp4"))
    assert found.times == pytest.approx([10 + n / 30 for n in range(FRAMES)])


def test_keyframes_start_at_the_first_frame(clips: Path) -> None:
    """The first frame is a keyframe, and an intra-only codec makes every frame one."""
    assert probe(clip(clips, "ntsc.mp4")).keyframes[0] == 0
    assert probe(clip(clips, "mjpeg.avi")).keyframes == tuple(range(FRAMES))


def test_a_probe_is_a_value(clips: Path) -> None:
    """Two probes of one file are equal and cannot be changed."""
    first = probe(clip(clips, "ntsc.mp4"))
    assert first == probe(clip(clips, "ntsc.mp4"))
    with pytest.raises(AttributeError):
        first.frames = 1  # type: ignore[misc]
    assert isinstance(first, Probe)


class TestRefused:
    def test_a_file_that_is_not_a_video(self, clips: Path) -> None:
        """The decoder's reason is in the message, with the file's name and not its folder."""
        with pytest.raises(ProbeError, match="broken.mp4 cannot be opened as a video: Invalid data found") as caught:
            probe(clips / "broken.mp4")
        assert str(clips) not in str(caught.value)

    def test_a_missing_file(self, tmp_path: Path) -> None:
        """A path with no file says so."""
        with pytest.raises(ProbeError, match="missing.mp4 cannot be opened as a video: No such file or directory"):
            probe(tmp_path / "missing.mp4")

    def test_a_file_without_video(self, clips: Path) -> None:
        """A sound file opens but holds nothing to label."""
        with pytest.raises(ProbeError, match="sound.m4a holds no video stream"):
            probe(clips / "sound.m4a")

    def test_is_a_value_error(self) -> None:
        """Callers that catch ValueError for bad input catch it too."""
        assert issubclass(ProbeError, ValueError)
