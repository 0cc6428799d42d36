"""Submissions of several animals, built from the captured single-animal post so every other field is the page's own."""

from __future__ import annotations

import copy
from typing import Any

from tests.support.captured import captured_body

__all__ = ["several_animals"]


def several_animals(*tracks: str | None, shift: float = 100, name: str = "post_six_placed") -> dict[str, Any]:
    """The captured submission sent as one instance per entry of `tracks` (None: no track), each next one `shift` px further left."""
    body = captured_body(name)
    labels = body.pop("labels")
    instances: list[dict[str, Any]] = []
    for number, track in enumerate(tracks):
        moved = copy.deepcopy(labels)
        for label in moved:
            if label["placed"]:
                label["pixel_x"] -= number * shift
        instances.append({"labels": moved} if track is None else {"labels": moved, "track": track})
    body["instances"] = instances
    return body
