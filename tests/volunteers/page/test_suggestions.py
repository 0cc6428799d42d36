"""A model's predictions on the page: suggestions drawn where the model put them, accepted or corrected, each label saying which."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import sleap_io as sio

from receiver.cli import main
from receiver.contract.schemas import load_skeleton
from tests.support.servers import ReceiverProcess, wait_until
from tests.volunteers.page.conftest import HostedClip, hosted, labeling_receiver
from tests.volunteers.page.driving import hook, pending, wait_for_frame

pytestmark = pytest.mark.browser

MODEL = "resnet-test-v1"
KEYPOINTS = [k.id for k in load_skeleton().keypoints]
#: The keypoint the made-up model gets wrong, by 30 px, on 30% of the frames.
WRONG = 2
PALETTE = re.findall(r'"(#[0-9a-f]{6})"', re.search(r"PALETTE = \[(.*?)\]", (Path(__file__).parents[3] / "receiver/volunteers/page/draw.js").read_text()).group(1))


def truth(frame: int) -> list[tuple[float, float]]:
    """Where each keypoint really is on a frame of the 320x240 clip (made up, inside the frame)."""
    return [(40.0 + 45 * k, 60.0 + 8 * (frame % 10) + 12 * (k % 2)) for k in range(len(KEYPOINTS))]


def wrong(frame: int) -> bool:
    return frame % 10 < 3


def predicted(frame: int) -> list[tuple[float, float]]:
    points = truth(frame)
    if wrong(frame):
        x, y = points[WRONG]
        points[WRONG] = (x, y + 30.0)
    return points


def prediction_file(path: Path, clip: HostedClip) -> Path:
    """A SLEAP predictions file for every frame of the clip, named as the clip so the import matches it by name."""
    skeleton = sio.Skeleton(list(KEYPOINTS))
    video = sio.Video(filename=f"/lab/videos/{clip.url.rsplit('/', 1)[-1]}", open_backend=False)
    frames = []
    for frame in range(clip.clip.frames):
        xy = np.array(predicted(frame))
        scores = np.full(len(KEYPOINTS), 0.4 if wrong(frame) else 0.9)
        instance = sio.PredictedInstance.from_numpy(xy, skeleton=skeleton, point_scores=scores, score=float(scores.mean()))
        frames.append(sio.LabeledFrame(video=video, frame_idx=frame, instances=[instance]))
    sio.Labels(frames).save(str(path))
    return path


@pytest.fixture
def receiver(video_host: str, tmp_path: Path) -> Iterator[ReceiverProcess]:
    """A receiver handing out frames of a clip whose predictions were imported with `receiver predictions import`."""
    clip = hosted(video_host, "clip-25.mp4")
    running = labeling_receiver(tmp_path, [clip])
    running.environ["RECEIVER_JOURNAL"] = str(tmp_path / "journal.sqlite3")
    videos = tmp_path / "videos.json"
    videos.write_text(json.dumps([clip.setting()]), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = main(["predictions", "import", str(prediction_file(tmp_path / "model.slp", clip)), "--model", MODEL],
                environ={"RECEIVER_VIDEOS": str(videos), "RECEIVER_JOURNAL": running.environ["RECEIVER_JOURNAL"]}, out=out, err=err)
    assert code == 0, err.getvalue()
    with running:
        yield running


def screen_point(page: Any, x: float, y: float) -> tuple[float, float]:
    box = page.locator(hook("frame")).bounding_box()
    return box["x"] + x * box["width"] / 320, box["y"] + y * box["height"] / 240


def pixels_near(page: Any, x: float, y: float, reach: int) -> list[list[int]]:
    """The canvas's RGB pixels in a square of `reach` around frame pixel (x, y) (the view is at zoom 1)."""
    return page.evaluate(
        """([x, y, reach]) => {
          const context = document.querySelector('[data-testid="frame"]').getContext("2d");
          const data = context.getImageData(Math.round(x) - reach, Math.round(y) - reach, 2 * reach + 1, 2 * reach + 1).data;
          const found = [];
          for (let i = 0; i < data.length; i += 4) found.push([data[i], data[i + 1], data[i + 2]]);
          return found;
        }""",
        [x, y, reach],
    )


def has_colour(pixels: list[list[int]], colour: str) -> bool:
    wanted = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    return any(all(abs(a - b) <= 40 for a, b in zip(pixel, wanted)) for pixel in pixels)


def kept_submission(page: Any, url: str) -> dict[str, Any]:
    """The one submission the receiver kept."""
    wait_until(lambda: pending(page) == 0, timeout=30, what="the submission to be sent")
    annotations = httpx.get(f"{url}/api/annotations", timeout=10).json()["annotations"]
    assert len(annotations) == 1
    submission: dict[str, Any] = httpx.get(f"{url}/api/review/{annotations[0]['id']}", timeout=10).json()["record"]["submission"]
    return submission


def test_the_suggestions_are_drawn_at_the_predicted_pixels(page: Any) -> None:
    """Each keypoint's suggestion is drawn as a ring in its colour around the predicted pixel, hollow in the middle."""
    frame = wait_for_frame(page)
    drawn = json.loads(page.get_attribute(hook("frame"), "data-suggestions"))
    assert [(p["x"], p["y"]) for p in drawn] == predicted(frame)
    for i, (x, y) in enumerate(predicted(frame)):
        assert has_colour(pixels_near(page, x, y, 6), PALETTE[i]), f"no ring of {KEYPOINTS[i]} around ({x}, {y}) on frame {frame}"
        assert not has_colour(pixels_near(page, x, y, 0), PALETTE[i]), f"the suggestion of {KEYPOINTS[i]} is filled, like a placed point"
    assert page.locator(hook("accept-all")).is_visible()


def test_accepting_all_and_correcting_one_sends_each_labels_origin(page: Any, receiver: ReceiverProcess) -> None:
    """A accepts every suggestion; the one the volunteer drags to where it really is goes as placed, the rest as suggested."""
    frame = wait_for_frame(page)
    page.keyboard.press("a")
    page.wait_for_selector(f'{hook("frame")}[data-suggestions="{json.dumps([None] * len(KEYPOINTS)).replace(" ", "")}"]')
    start = predicted(frame)[WRONG]
    # The model's error on this frame, or a small correction where it was right.
    target = truth(frame)[WRONG] if wrong(frame) else (start[0] + 10, start[1] - 10)
    page.mouse.move(*screen_point(page, *start))
    page.mouse.down()
    page.mouse.move(*screen_point(page, *target), steps=6)
    page.mouse.up()
    page.click(hook("submit"))
    submission = kept_submission(page, receiver.url)
    labels = {label["id"]: label for label in submission["labels"]}
    assert submission["frame_index"] == frame and submission["metadata"]["model"] == MODEL
    assert {k: labels[k]["origin"] for k in KEYPOINTS} == {k: "placed" if i == WRONG else "suggested" for i, k in enumerate(KEYPOINTS)}
    for i, (x, y) in enumerate(predicted(frame)):
        if i != WRONG:
            assert (labels[KEYPOINTS[i]]["pixel_x"], labels[KEYPOINTS[i]]["pixel_y"]) == (x, y)
    moved = labels[KEYPOINTS[WRONG]]
    assert abs(moved["pixel_x"] - target[0]) <= 1.5 and abs(moved["pixel_y"] - target[1]) <= 1.5


def test_clicking_one_suggestion_accepts_it_and_clicking_elsewhere_places_the_next(page: Any, receiver: ReceiverProcess) -> None:
    """A click on the active keypoint's ring takes it as suggested; a click away from any ring places the next keypoint by hand."""
    frame = wait_for_frame(page)
    page.mouse.click(*screen_point(page, *predicted(frame)[0]))
    page.mouse.click(*screen_point(page, 300, 230))
    page.click(hook("submit"))
    if page.locator(hook("confirm")).is_visible():
        page.click(hook("confirm-send"))
    labels = {label["id"]: label for label in kept_submission(page, receiver.url)["labels"]}
    first, second = labels[KEYPOINTS[0]], labels[KEYPOINTS[1]]
    assert (first["origin"], first["pixel_x"], first["pixel_y"]) == ("suggested", *predicted(frame)[0])
    assert second["origin"] == "placed" and abs(second["pixel_x"] - 300) <= 1.5
    assert all("origin" not in label for label in labels.values() if not label["placed"])
