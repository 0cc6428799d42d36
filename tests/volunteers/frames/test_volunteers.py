"""Twenty simulated volunteers with sessions label a 50-frame video through next-frame until every frame retires."""

from __future__ import annotations

import random
from collections import Counter

from tests.volunteers.frames.conftest import VIDEO, Apps, honest_label

RETIRE_AFTER = 3


def test_twenty_volunteers_retire_every_frame_with_exactly_k_labels_and_no_repeats(apps: Apps) -> None:
    """Every frame gets exactly K agreeing labels, each from a session it was leased to, and no session labels a frame twice."""
    client = apps.start(retire_after=RETIRE_AFTER)
    volunteers = [apps.volunteer(client, f"volunteer-{n:02d}-{random.Random(n).getrandbits(32):08x}") for n in range(20)]
    labelled: dict[str, set[int]] = {v.name: set() for v in volunteers}
    posts: Counter[int] = Counter()
    order = random.Random(2026)
    for _ in range(100):
        turn = volunteers[:]
        order.shuffle(turn)
        posted = 0
        # Two volunteers at a time both ask before either posts, so one frame can be in two hands at once.
        for pair in zip(turn[::2], turn[1::2]):
            answers = [(v, v.get("/api/next-frame").json()) for v in pair]
            for volunteer, answer in answers:
                frame = answer["frame_index"]
                if frame is None:
                    continue
                assert frame not in labelled[volunteer.name], f"{volunteer.name} got frame {frame} again"
                response = volunteer.post(honest_label(VIDEO, frame, volunteer.name), ticket=answer["lease"])
                assert response.status_code == 202 and response.json()["assigned"] is True, response.text
                labelled[volunteer.name].add(frame)
                posts[frame] += 1
                posted += 1
        if posted == 0:
            break
    progress = client.get("/api/progress").json()
    assert progress["frames_left"] == 0
    assert progress["videos"] == [{"url": VIDEO.url, "frames": 50, "retired": 50, "in_progress": 0, "untouched": 0}]
    assert posts == Counter({frame: RETIRE_AFTER for frame in range(50)})
    assert sum(len(frames) for frames in labelled.values()) == 50 * RETIRE_AFTER
    last = volunteers[0].get("/api/next-frame").json()
    assert (last["frame_index"], last["remaining"]) == (None, 0)
