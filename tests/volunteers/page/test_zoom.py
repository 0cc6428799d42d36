"""Zooming: gentle wheel steps, the level shown, keys and buttons to zoom and to see the whole frame again."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.servers import ReceiverProcess
from tests.volunteers.page.driving import hook, wait_for_frame

pytestmark = pytest.mark.browser


@pytest.fixture
def page(receiver: ReceiverProcess, browser: Any) -> Any:
    opened = browser.new_page(viewport={"width": 1280, "height": 800})
    opened.goto(f"{receiver.url}/label")
    wait_for_frame(opened)
    box = opened.locator(hook("frame")).bounding_box()
    opened.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    return opened


def level(page: Any) -> str:
    return str(page.text_content(hook("zoom-level")))


def test_the_level_starts_at_100_percent_and_is_visible(page: Any) -> None:
    """Before any zoom the level reads 100%, on screen beside the frame."""
    assert level(page) == "100%"
    assert page.locator(hook("zoom-level")).is_visible()


def test_one_hard_turn_of_the_wheel_zooms_one_gentle_step(page: Any) -> None:
    """A single wheel event of 600 px goes to 125%, not several times in at once."""
    page.mouse.wheel(0, -600)
    page.wait_for_function("() => document.querySelector('[data-testid=\"zoom-level\"]').textContent !== '100%'")
    assert level(page) == "125%"


def test_each_wheel_notch_zooms_a_little_more(page: Any) -> None:
    """Three notches of 100 px: 122%, 149%, 182%, each shown as it happens."""
    seen = []
    for _ in range(3):
        before = level(page)
        page.mouse.wheel(0, -100)
        page.wait_for_function(f"() => document.querySelector('[data-testid=\"zoom-level\"]').textContent !== '{before}'")
        seen.append(level(page))
    assert seen == ["122%", "149%", "182%"]


def test_keys_zoom_and_0_shows_the_whole_frame(page: Any) -> None:
    """+ twice gives 156%, - once 125%, 0 back to 100%."""
    page.keyboard.press("+")
    page.keyboard.press("+")
    assert level(page) == "156%"
    page.keyboard.press("-")
    assert level(page) == "125%"
    page.keyboard.press("0")
    assert level(page) == "100%"
    assert page.get_attribute(hook("frame"), "data-zoom") == "1.00"


def test_the_buttons_zoom_and_whole_frame_resets(page: Any) -> None:
    """The + button three times gives 195%; Whole frame gives 100% again; - never goes below 100%."""
    for _ in range(3):
        page.click(hook("zoom-in"))
    assert level(page) == "195%"
    page.click(hook("zoom-reset"))
    assert level(page) == "100%"
    page.click(hook("zoom-out"))
    assert level(page) == "100%"


def test_on_a_phone_a_tap_zooms_and_the_level_fits_the_screen(receiver: ReceiverProcess, browser: Any) -> None:
    """On a touch screen the + button zooms with a tap, and the level is on screen within the phone's width."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    phone = context.new_page()
    phone.goto(f"{receiver.url}/label")
    wait_for_frame(phone)
    phone.tap(hook("zoom-in"))
    assert level(phone) == "125%"
    box = phone.locator(hook("zoom-level")).bounding_box()
    assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= 390
    phone.tap(hook("zoom-reset"))
    assert level(phone) == "100%"
    context.close()
