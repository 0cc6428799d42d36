"""Several animals in one frame, in headless Chromium: a volunteer places each, and the record carries every instance where it was placed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.servers import ReceiverProcess, wait_until
from tests.volunteers.page.clips import TWO_ANIMALS, Clip, ffmpeg_available, make_clip
from tests.volunteers.page.conftest import OUTPUT, HostedClip, labeling_receiver
from tests.volunteers.page.driving import click_frame, hook, pending, wait_for_frame
from tests.volunteers.page.hosts import static_host
from tests.volunteers.page.test_views import KEYPOINTS, SIZES, post, screen, submission

pytestmark = pytest.mark.browser

#: The first animal (the bright figure on the left), in the order the page asks for keypoints.
FIRST = [(52.0, 188.0), (52.0, 213.0), (108.0, 187.0), (108.0, 214.0), (26.0, 200.0), (136.0, 201.0)]
#: The second animal (the dark figure on the right), the same pose 160 px further right.
SECOND = [(x + 160.0, y) for x, y in FIRST]

TRACKS = ("mouse_a", "mouse_b")
ANIMAL_RGB = [(0xFF, 0x2D, 0x95), (0x00, 0xC8, 0xFF)]  # draw.js ANIMAL_COLOURS[0], [1]


@pytest.fixture(scope="module")
def herd_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A clip of two animals drawn on every frame, on another origin."""
    if not ffmpeg_available():
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    directory = tmp_path_factory.mktemp("herd")
    make_clip(directory / "two-mice.mp4", Fraction(25), 60, figures=TWO_ANIMALS)
    with static_host(directory) as url:
        yield url


def herd(host: str, *, tracks: tuple[str, ...] = ()) -> HostedClip:
    return HostedClip(Clip(path=Path("two-mice.mp4"), fps=Fraction(25), frames=60), f"{host}/two-mice.mp4", animals=2, tracks=tracks)


@pytest.fixture
def two_mice(herd_host: str, tmp_path: Path) -> Iterator[ReceiverProcess]:
    """A receiver handing out frames of the two-animal clip, which allows two animals and names no tracks."""
    with labeling_receiver(tmp_path, [herd(herd_host)]) as running:
        yield running


@pytest.fixture
def named_mice(herd_host: str, tmp_path: Path) -> Iterator[ReceiverProcess]:
    """The same clip, its two animals with tracks mouse_a and mouse_b."""
    with labeling_receiver(tmp_path, [herd(herd_host, tracks=TRACKS)]) as running:
        yield running


def kept_submission(page: Any, url: str) -> dict[str, Any]:
    """The one submission the receiver kept, as its stored record holds it."""
    wait_until(lambda: pending(page) == 0, timeout=30, what="the submission to be sent")
    annotations = httpx.get(f"{url}/api/annotations", timeout=10).json()["annotations"]
    assert len(annotations) == 1, annotations
    found: dict[str, Any] = httpx.get(f"{url}/api/review/{annotations[0]['id']}", timeout=10).json()["record"]["submission"]
    return found


def placed_at(labels: list[dict[str, Any]], points: list[tuple[float, float]]) -> list[str]:
    """The keypoints not sent as placed within a pixel of where they were clicked (none when every one is)."""
    assert [label["id"] for label in labels] == KEYPOINTS
    return [
        label["id"] for label, (x, y) in zip(labels, points, strict=True)
        if not (label["placed"] and abs(label["pixel_x"] - x) <= 1 and abs(label["pixel_y"] - y) <= 1)
    ]


def place(page: Any, points: list[tuple[float, float]]) -> None:
    for x, y in points:
        click_frame(page, x, y)


def test_two_animals_placed_by_clicks_are_kept_where_they_were_placed(two_mice: ReceiverProcess, open_label_page: Callable[..., Any]) -> None:
    """Six clicks on each figure, N between them, Submit: the record has two instances, each point within a pixel of its click, and no labels."""
    page = open_label_page(two_mice.url)
    wait_for_frame(page)
    assert page.locator(hook("animals")).is_visible()
    place(page, FIRST)
    page.keyboard.press("n")
    place(page, SECOND)
    page.keyboard.press("Enter")
    kept = kept_submission(page, two_mice.url)
    assert "labels" not in kept
    assert len(kept["instances"]) == 2
    assert [placed_at(instance["labels"], points) for instance, points in zip(kept["instances"], (FIRST, SECOND))] == [[], []]
    assert all("track" not in instance for instance in kept["instances"])


def test_the_brackets_and_the_animal_buttons_choose_the_animal_being_placed(two_mice: ReceiverProcess, open_label_page: Callable[..., Any]) -> None:
    """Half of each animal placed, then [ goes back to the first and its button to the second: each finishes where it was left."""
    page = open_label_page(two_mice.url)
    wait_for_frame(page)
    place(page, FIRST[:3])
    page.click(hook("add-animal"))
    place(page, SECOND[:3])
    page.keyboard.press("[")
    assert page.get_attribute(hook("animal-1"), "aria-pressed") == "true"
    place(page, FIRST[3:])
    page.click(hook("animal-2"))
    place(page, SECOND[3:])
    page.click(hook("submit"))
    kept = kept_submission(page, two_mice.url)
    assert [placed_at(instance["labels"], points) for instance, points in zip(kept["instances"], (FIRST, SECOND))] == [[], []]


def test_a_track_chosen_for_each_animal_arrives_in_the_record(named_mice: ReceiverProcess, open_label_page: Callable[..., Any]) -> None:
    """mouse_b for the first animal, then mouse_a for the second (mouse_b is not offered to it): the record names both."""
    page = open_label_page(named_mice.url)
    wait_for_frame(page)
    place(page, FIRST)
    page.select_option(hook("track"), "mouse_b")
    page.click(hook("add-animal"))
    assert page.locator(f'{hook("track")} option[value="mouse_b"]').is_disabled()
    page.select_option(hook("track"), "mouse_a")
    place(page, SECOND)
    page.click(hook("submit"))
    kept = kept_submission(page, named_mice.url)
    assert [instance.get("track") for instance in kept["instances"]] == ["mouse_b", "mouse_a"]


def test_a_removed_animal_is_not_sent(two_mice: ReceiverProcess, open_label_page: Callable[..., Any]) -> None:
    """Three points of a first animal, a whole second one, the first removed: one instance goes, the second's."""
    page = open_label_page(two_mice.url)
    wait_for_frame(page)
    place(page, FIRST[:3])
    page.keyboard.press("n")
    place(page, SECOND)
    page.click(hook("animal-1"))
    page.click(hook("remove-animal"))
    assert page.locator(hook("animal-2")).count() == 0
    page.click(hook("submit"))
    kept = kept_submission(page, two_mice.url)
    assert len(kept["instances"]) == 1
    assert placed_at(kept["instances"][0]["labels"], SECOND) == []


def test_undo_brings_a_removed_animal_back_with_its_points(two_mice: ReceiverProcess, open_label_page: Callable[..., Any]) -> None:
    """Two whole animals, the second removed, then Z: both are sent, each where it was placed."""
    page = open_label_page(two_mice.url)
    wait_for_frame(page)
    place(page, FIRST)
    page.keyboard.press("n")
    place(page, SECOND)
    page.click(hook("remove-animal"))
    page.keyboard.press("z")
    page.click(hook("submit"))
    kept = kept_submission(page, two_mice.url)
    assert [placed_at(instance["labels"], points) for instance, points in zip(kept["instances"], (FIRST, SECOND))] == [[], []]


def test_keypoints_left_unplaced_on_any_animal_are_asked_about(two_mice: ReceiverProcess, open_label_page: Callable[..., Any]) -> None:
    """A whole first animal and two points of a second: Submit asks, naming the second animal; sent anyway, its four go unplaced."""
    page = open_label_page(two_mice.url)
    wait_for_frame(page)
    place(page, FIRST)
    page.keyboard.press("n")
    place(page, SECOND[:2])
    page.click(hook("submit"))
    assert page.locator(hook("confirm")).is_visible()
    text = page.text_content(hook("confirm-text"))
    assert text.startswith("Animal 2: 2 of 6 placed;") and "Animal 1" not in text
    page.click(hook("confirm-send"))
    kept = kept_submission(page, two_mice.url)
    assert [label["placed"] for label in kept["instances"][1]["labels"]] == [True, True, False, False, False, False]


def test_an_animal_with_nothing_placed_is_not_sent_and_the_page_says_so(two_mice: ReceiverProcess, open_label_page: Callable[..., Any]) -> None:
    """A whole first animal and an empty second: Submit sends nothing and says the second has no keypoint placed."""
    page = open_label_page(two_mice.url)
    wait_for_frame(page)
    place(page, FIRST)
    page.keyboard.press("n")
    page.click(hook("submit"))
    assert page.text_content(hook("message")) == "Animal 2 has no keypoint placed: place its keypoints, or remove it."
    assert pending(page) == 0 and httpx.get(f"{two_mice.url}/api/annotations", timeout=10).json()["annotations"] == []


def test_a_single_animal_video_still_sends_labels(receiver: ReceiverProcess, open_label_page: Callable[..., Any]) -> None:
    """On the one-animal clip the animal controls are hidden and the record has labels, no instances."""
    page = open_label_page(receiver.url)
    wait_for_frame(page)
    assert not page.locator(hook("animals")).is_visible()
    place(page, FIRST)
    page.keyboard.press("n")  # adds no animal on a video that allows one
    page.click(hook("submit"))
    kept = kept_submission(page, receiver.url)
    assert "instances" not in kept
    assert placed_at(kept["labels"], FIRST) == []


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_two_animals_on_a_phone_and_a_desktop(width: int, height: int, herd_host: str, chromium: Any, tmp_path: Path) -> None:
    """At 390x844 and 1280x800 the animal controls fit the page's width and take a click; a screenshot of both animals is kept."""
    with labeling_receiver(tmp_path, [herd(herd_host, tracks=TRACKS)]) as receiver:
        page = screen(chromium, width, height)
        page.goto(f"{receiver.url}/label")
        wait_for_frame(page)
        place(page, FIRST)
        page.select_option(hook("track"), "mouse_a")
        page.click(hook("add-animal"))
        page.select_option(hook("track"), "mouse_b")
        place(page, SECOND[:5])
        page.locator(hook("frame")).scroll_into_view_if_needed()
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=OUTPUT / f"label-animals-{width}x{height}.png")
        for name in ["animal-1", "animal-2", "track", "previous-animal", "next-animal", "add-animal", "remove-animal"]:
            control = page.locator(hook(name))
            control.scroll_into_view_if_needed()
            box = control.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, name
            control.click(trial=True, timeout=5_000) if name != "add-animal" else None
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width


def two_animal_submission(clip: HostedClip, volunteer: str, animals: list[list[tuple[float, float]]], tracks: list[str | None]) -> dict[str, Any]:
    body = submission(clip, 12, volunteer, {})
    del body["labels"]
    body["instances"] = []
    for points, track in zip(animals, tracks, strict=True):
        labels = submission(clip, 12, volunteer, dict(zip(KEYPOINTS, points)))["labels"]
        body["instances"].append({"labels": labels, **({"track": track} if track else {})})
    return body


def test_review_draws_each_animal_in_its_colour_and_matches_the_other_volunteers(herd_host: str, chromium: Any, tmp_path: Path) -> None:
    """Two animals reviewed beside a volunteer who sent them the other way round: each animal's points in its colour, the other's matched crosswise."""
    clip = herd(herd_host, tracks=TRACKS)
    with labeling_receiver(tmp_path, [clip]) as receiver:
        record = post(receiver.url, two_animal_submission(clip, "volunteer-ada", [FIRST, SECOND], ["mouse_a", "mouse_b"]))
        moved = [[(x + 3, y - 2) for x, y in SECOND], [(x - 2, y + 3) for x, y in FIRST]]
        post(receiver.url, two_animal_submission(clip, "volunteer-bob", moved, [None, None]))
        page = chromium.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{receiver.url}/review/{record}")
        page.wait_for_selector("body[data-ready]", timeout=30_000)
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=OUTPUT / "review-animals-1280x800.png")
        colours = page.evaluate(
            """(points) => { const c = document.querySelector('[data-testid="frame"]').getContext('2d');
                 return points.map(([x, y]) => Array.from(c.getImageData(Math.round(x), Math.round(y), 1, 1).data.slice(0, 3))); }""",
            [*FIRST, *SECOND],
        )
        expected = [ANIMAL_RGB[0]] * len(FIRST) + [ANIMAL_RGB[1]] * len(SECOND)
        far = [(i, colour) for i, (colour, want) in enumerate(zip(colours, expected)) if not all(abs(a - b) <= 12 for a, b in zip(colour, want))]
        assert far == []
        assert page.text_content(hook("animal-1")) == "Animal 1 (mouse_a)"
        assert page.text_content(hook("animal-2")) == "Animal 2 (mouse_b)"
        assert page.text_content(hook("label-2-nose")) == "Nose: (186, 200)"
        assert page.locator(f'{hook("others")} li').all_text_contents()[0].endswith("2 animals: animal 2, animal 1")
