"""A volunteer's tools: what each key and gesture puts into the submission the receiver keeps."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.servers import ReceiverProcess, wait_until
from tests.volunteers.page.driving import click_frame, hook, pending, send_anyway, wait_for_frame
from tests.volunteers.page.test_views import schema_has_visible

pytestmark = pytest.mark.browser


def kept_labels(page: Any, url: str) -> dict[str, dict[str, Any]]:
    """The labels of the one submission the receiver kept, by keypoint id."""
    wait_until(lambda: pending(page) == 0, timeout=30, what="the submission to be sent")
    annotations = httpx.get(f"{url}/api/annotations", timeout=10).json()["annotations"]
    assert len(annotations) == 1
    record = httpx.get(f"{url}/api/review/{annotations[0]['id']}", timeout=10).json()["record"]
    return {label["id"]: label for label in record["submission"]["labels"]}


def screen_point(page: Any, x: float, y: float) -> tuple[float, float]:
    box = page.locator(hook("frame")).bounding_box()
    return box["x"] + x * box["width"] / 320, box["y"] + y * box["height"] / 240


def near(label: dict[str, Any], x: float, y: float) -> bool:
    return bool(label["placed"]) and abs(label["pixel_x"] - x) <= 1 and abs(label["pixel_y"] - y) <= 1


def test_a_number_key_chooses_the_keypoint_and_enter_submits(page: Any, receiver: ReceiverProcess) -> None:
    """Pressing 5 then clicking places the nose; Enter (and Submit anyway) sends it with the others unplaced."""
    page.keyboard.press("5")
    click_frame(page, 150, 200)
    page.keyboard.press("Enter")
    send_anyway(page)
    labels = kept_labels(page, receiver.url)
    assert near(labels["nose"], 150, 200)
    assert [k for k, v in labels.items() if v["placed"]] == ["nose"]


def test_clicks_place_keypoints_in_order_and_z_undoes_the_last(page: Any, receiver: ReceiverProcess) -> None:
    """Two clicks place the first two keypoints; Z takes the second back."""
    click_frame(page, 40, 200)
    click_frame(page, 80, 210)
    page.keyboard.press("z")
    page.click(hook("submit"))
    send_anyway(page)
    labels = kept_labels(page, receiver.url)
    assert near(labels["left_front_paw"], 40, 200)
    assert labels["right_front_paw"]["placed"] is False


def test_dragging_a_placed_point_moves_it(page: Any, receiver: ReceiverProcess) -> None:
    """A point dragged from where it was placed is sent where it was dropped."""
    click_frame(page, 60, 200)
    page.mouse.move(*screen_point(page, 60, 200))
    page.mouse.down()
    page.mouse.move(*screen_point(page, 120, 220), steps=5)
    page.mouse.up()
    page.click(hook("submit"))
    send_anyway(page)
    labels = kept_labels(page, receiver.url)
    assert near(labels["left_front_paw"], 120, 220)
    assert labels["right_front_paw"]["placed"] is False


def test_a_click_after_zooming_lands_on_the_frame_point_under_the_pointer(page: Any, receiver: ReceiverProcess) -> None:
    """After the wheel zooms in around a point, clicking that same spot labels the same frame pixel."""
    x, y = screen_point(page, 200, 190)
    page.mouse.move(x, y)
    for _ in range(4):
        page.mouse.wheel(0, -100)
    wait_until(lambda: float(page.get_attribute(hook("frame"), "data-zoom")) > 2, timeout=10, what="the wheel to zoom in")
    page.mouse.click(x, y)
    page.click(hook("submit"))
    send_anyway(page)
    labels = kept_labels(page, receiver.url)
    assert near(labels["left_front_paw"], 200, 190)


@pytest.mark.skipif(not schema_has_visible(), reason="the submission schema does not accept a label's `visible` yet")
def test_h_marks_the_active_keypoint_hidden(page: Any, receiver: ReceiverProcess) -> None:
    """H, then a click: that keypoint is sent placed, with visible false; the next one carries no flag."""
    page.keyboard.press("h")
    click_frame(page, 70, 200)
    click_frame(page, 90, 200)
    page.keyboard.press("Enter")
    send_anyway(page)
    labels = kept_labels(page, receiver.url)
    assert near(labels["left_front_paw"], 70, 200) and labels["left_front_paw"]["visible"] is False
    assert labels["right_front_paw"].get("visible", True) is True


PINCH = """([x, y]) => {
  const canvas = document.querySelector('[data-testid="frame"]');
  const fire = (type, id, px) => canvas.dispatchEvent(new PointerEvent(type, {pointerId: id, pointerType: "touch", isPrimary: id === 11, clientX: px, clientY: y, bubbles: true}));
  fire("pointerdown", 11, x - 10); fire("pointerdown", 12, x + 10);
  for (let step = 1; step <= 5; step += 1) { fire("pointermove", 11, x - 10 - 12 * step); fire("pointermove", 12, x + 10 + 12 * step); }
  fire("pointerup", 11, x - 70); fire("pointerup", 12, x + 70);
}"""


def test_a_pinch_zooms_without_placing_a_keypoint(page: Any) -> None:
    """Two fingers moving apart zoom the frame in; nothing is placed."""
    page.evaluate(PINCH, list(screen_point(page, 160, 200)))
    assert float(page.get_attribute(hook("frame"), "data-zoom")) > 2
    assert page.text_content(f'{hook("keypoint-left_front_paw")} small') == "not placed"


def test_a_tap_on_a_phone_places_the_keypoint(receiver: ReceiverProcess, browser: Any) -> None:
    """On a 390x844 touch screen a tap on the frame places the active keypoint where it was tapped."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    phone = context.new_page()
    phone.goto(f"{receiver.url}/label")
    wait_for_frame(phone)
    phone.touchscreen.tap(*screen_point(phone, 100, 200))
    phone.click(hook("submit"))
    send_anyway(phone)
    labels = kept_labels(phone, receiver.url)
    assert near(labels["left_front_paw"], 100, 200)
