"""What the page says: "tap" and no key hints on a touch screen, "click" and keys on a desktop, whose left a keypoint is."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.servers import ReceiverProcess, wait_until
from tests.volunteers.page.driving import click_frame, hook, pending, send_anyway, wait_for_frame

pytestmark = pytest.mark.browser


@pytest.fixture
def phone(receiver: ReceiverProcess, browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    opened = context.new_page()
    opened.goto(f"{receiver.url}/label")
    wait_for_frame(opened)
    yield opened
    context.close()


@pytest.fixture
def desktop(receiver: ReceiverProcess, browser: Any) -> Any:
    opened = browser.new_page(viewport={"width": 1280, "height": 800})
    opened.goto(f"{receiver.url}/label")
    wait_for_frame(opened)
    return opened


def visible_keys(page: Any) -> list[str]:
    """The text of every key hint a volunteer can see (help opened)."""
    page.click("summary")
    return [k.text_content() for k in page.locator("kbd").all() if k.is_visible()]


class TestTouchScreen:
    def test_the_instruction_says_tap(self, phone: Any) -> None:
        """The first instruction on a phone reads "tap where", never "click"."""
        message = phone.text_content(hook("message"))
        assert "tap where the Left Front Paw" in message and "click" not in message.lower()

    def test_no_key_hint_is_shown(self, phone: Any) -> None:
        """No <kbd> is visible on the buttons or in the help, and the help speaks of taps."""
        assert visible_keys(phone) == []
        help_text = phone.locator(hook("help")).inner_text()
        assert "Tap where the highlighted keypoint is" in help_text
        assert "click" not in help_text.lower() and "Number keys" not in help_text

    def test_the_next_instruction_still_says_tap(self, phone: Any) -> None:
        """After a tap places the first keypoint, the prompt for the second says tap too."""
        box = phone.locator(hook("frame")).bounding_box()
        phone.touchscreen.tap(box["x"] + box["width"] / 3, box["y"] + box["height"] * 0.8)
        assert "tap where the Right Front Paw (the animal's right) is" in phone.text_content(hook("message"))


class TestDesktop:
    def test_the_instruction_says_click(self, desktop: Any) -> None:
        """With a mouse the instruction reads "click where"."""
        assert "click where the Left Front Paw" in desktop.text_content(hook("message"))

    def test_key_hints_are_shown(self, desktop: Any) -> None:
        """The buttons' keys and the help's keys are visible, and the help speaks of clicks."""
        keys = visible_keys(desktop)
        assert {"H", "Z", "0", "Enter"} <= set(keys)
        assert "Click where the highlighted keypoint is" in desktop.locator(hook("help")).inner_text()


class TestWhoseLeft:
    def test_each_sided_keypoint_says_it_is_the_animals_side(self, desktop: Any) -> None:
        """Left and right keypoints name the animal's side on their buttons; the nose names none."""
        assert "Left Front Paw (the animal's left)" in desktop.text_content(hook("keypoint-left_front_paw"))
        assert "Right Hind Paw (the animal's right)" in desktop.text_content(hook("keypoint-right_hind_paw"))
        assert "animal's" not in desktop.text_content(hook("keypoint-nose"))
        assert "(the animal's left)" in desktop.text_content(hook("message"))

    def test_the_help_says_left_and_right_are_the_animals(self, desktop: Any) -> None:
        """Opened, the help says whose left and right they are and what that looks like on screen."""
        desktop.click("summary")
        sides = desktop.locator(hook("help-sides"))
        assert sides.is_visible()
        assert sides.inner_text().startswith("Left and right are the animal's own: the animal's left front paw is on your right when it faces you")

    def test_the_submission_keeps_the_skeletons_names(self, desktop: Any, receiver: ReceiverProcess) -> None:
        """The words added on screen are not sent: the label's name is the skeleton's "Left Front Paw"."""
        click_frame(desktop, 100, 200)
        desktop.click(hook("submit"))
        send_anyway(desktop)
        wait_until(lambda: pending(desktop) == 0 and len(httpx.get(f"{receiver.url}/api/annotations", timeout=10).json()["annotations"]) == 1,
                   timeout=30, what="the submission to be kept")
        identifier = httpx.get(f"{receiver.url}/api/annotations", timeout=10).json()["annotations"][0]["id"]
        labels = httpx.get(f"{receiver.url}/api/review/{identifier}", timeout=10).json()["record"]["submission"]["labels"]
        assert labels[0]["name"] == "Left Front Paw"
