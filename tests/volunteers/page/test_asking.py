"""Submitting with keypoints unplaced: the page asks first, by keyboard and by touch, until told not to."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.servers import ReceiverProcess, wait_until
from tests.volunteers.page.driving import click_frame, hook, pending, wait_for_frame
from tests.volunteers.page.test_views import POSE

pytestmark = pytest.mark.browser

ASK_KEY = "pose-receiver.ask-unplaced.v1"


def kept_count(url: str) -> int:
    return len(httpx.get(f"{url}/api/annotations", timeout=10).json()["annotations"])


def placed_keypoints(url: str) -> list[list[str]]:
    """Per kept record (in order), the ids of its placed keypoints."""
    found = []
    for annotation in httpx.get(f"{url}/api/annotations", timeout=10).json()["annotations"]:
        record = httpx.get(f"{url}/api/review/{annotation['id']}", timeout=10).json()["record"]
        found.append([label["id"] for label in record["submission"]["labels"] if label["placed"]])
    return found


def asking(page: Any) -> bool:
    return bool(page.locator(hook("confirm")).is_visible())


def test_enter_with_two_of_six_placed_asks_and_sends_nothing_until_answered(page: Any, receiver: ReceiverProcess) -> None:
    """Enter asks; Escape goes back with both points kept and nothing queued; Enter, Tab, Enter sends them."""
    click_frame(page, *POSE[0])
    click_frame(page, *POSE[1])
    page.keyboard.press("Enter")
    assert asking(page)
    assert page.text_content(hook("confirm-text")).startswith("2 of 6 keypoints are placed. Left Hind Paw (the animal's left), ")
    assert pending(page) == 0
    page.keyboard.press("Escape")
    assert not asking(page)
    assert page.text_content(f'{hook("keypoint-right_front_paw")} small') == "placed"
    assert pending(page) == 0 and kept_count(receiver.url) == 0
    page.keyboard.press("Enter")
    assert asking(page)
    page.keyboard.press("Tab")  # from "Go back", which has the focus, to "Submit anyway"
    page.keyboard.press("Enter")
    wait_until(lambda: kept_count(receiver.url) == 1, timeout=30, what="the submission to be kept")
    assert placed_keypoints(receiver.url) == [["left_front_paw", "right_front_paw"]]


def test_a_second_enter_goes_back_rather_than_sending(page: Any, receiver: ReceiverProcess) -> None:
    """Enter pressed twice with one point placed: the second answers "Go back", which has the focus; nothing is sent."""
    click_frame(page, *POSE[0])
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.dataset.testid") == "confirm-back"
    page.keyboard.press("Enter")
    assert not asking(page)
    assert page.text_content(f'{hook("keypoint-left_front_paw")} small') == "placed"
    assert pending(page) == 0 and kept_count(receiver.url) == 0


def test_go_back_leaves_the_frame_to_be_finished(page: Any, receiver: ReceiverProcess) -> None:
    """Submit, then Go back: the same frame stays, the next click places the third keypoint, nothing is sent."""
    shown = int(page.get_attribute(hook("frame"), "data-frame-index"))
    click_frame(page, *POSE[0])
    page.click(hook("submit"))
    page.click(hook("confirm-back"))
    click_frame(page, *POSE[1])
    assert page.text_content(f'{hook("keypoint-right_front_paw")} small') == "placed"
    assert int(page.get_attribute(hook("frame"), "data-frame-index")) == shown
    assert pending(page) == 0 and kept_count(receiver.url) == 0


def test_a_frame_with_every_keypoint_placed_is_sent_without_asking(page: Any, receiver: ReceiverProcess) -> None:
    """Six of six placed: Enter sends at once."""
    for x, y in POSE:
        click_frame(page, x, y)
    page.keyboard.press("Enter")
    assert not asking(page)
    wait_until(lambda: kept_count(receiver.url) == 1, timeout=30, what="the submission to be kept")


def test_dont_ask_again_is_remembered_after_a_reload(page: Any, receiver: ReceiverProcess) -> None:
    """Ticked once: the choice is kept in localStorage, and after a reload Enter with one point sends without asking."""
    click_frame(page, *POSE[0])
    page.click(hook("submit"))
    page.check(hook("confirm-remember"))
    page.click(hook("confirm-send"))
    wait_until(lambda: kept_count(receiver.url) == 1, timeout=30, what="the first submission to be kept")
    assert page.evaluate(f"() => localStorage.getItem('{ASK_KEY}')") == "no"
    page.reload()
    wait_for_frame(page)
    click_frame(page, *POSE[0])
    page.keyboard.press("Enter")
    assert not asking(page)
    wait_until(lambda: kept_count(receiver.url) == 2, timeout=30, what="the second submission to be kept")


def test_on_a_phone_taps_answer_the_question(receiver: ReceiverProcess, browser: Any) -> None:
    """On a touch screen: a tap on Submit with one point asks; Go back sends nothing; Submit anyway sends it."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    phone = context.new_page()
    phone.goto(f"{receiver.url}/label")
    wait_for_frame(phone)
    box = phone.locator(hook("frame")).bounding_box()
    phone.touchscreen.tap(box["x"] + POSE[0][0] * box["width"] / 320, box["y"] + POSE[0][1] * box["height"] / 240)
    phone.tap(hook("submit"))
    assert asking(phone)
    phone.tap(hook("confirm-back"))
    assert not asking(phone) and pending(phone) == 0
    phone.tap(hook("submit"))
    phone.tap(hook("confirm-send"))
    wait_until(lambda: kept_count(receiver.url) == 1, timeout=30, what="the submission to be kept")
    assert placed_keypoints(receiver.url) == [["left_front_paw"]]
    context.close()
