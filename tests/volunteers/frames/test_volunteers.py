"""Twenty simulated volunteers label a 50-frame video through next-frame until every frame retires."""

from __future__ import annotations

import random
from collections import Counter

from tests.volunteers.frames.conftest import VIDEO, Apps, honest_label

RETIRE_AFTER = 3


def test_twenty_volunteers_retire_every_frame_with_k_agreeing_labels_and_no_repeats(apps: Apps) -> None:
    """Every frame gets 3 agreeing labels, no volunteer labels a frame twice, no frame gets more than K+1."""
    client = apps.start(retire_after=RETIRE_AFTER)
    volunteers = [f"volunteer-{n:02d}-{random.Random(n).getrandbits(32):08x}" for n in range(20)]
    labelled: dict[str, set[int]] = {v: set() for v in volunteers}
    posts: Counter[int] = Counter()
    order = random.Random(2026)
    for _ in range(100):
        turn = volunteers[:]
        order.shuffle(turn)
        posted = 0
        # Two volunteers at a time both ask before either posts, so one frame can be in two hands at once.
        for pair in zip(turn[::2], turn[1::2]):
            answers = [(v, client.get("/api/next-frame", params={"volunteer": v}).json()) for v in pair]
            for volunteer, answer in answers:
                frame = answer["frame_index"]
                if frame is None:
                    continue
                assert frame not in labelled[volunteer], f"{volunteer} got frame {frame} again"
                response = client.post("/api/labels", json=honest_label(VIDEO, frame, volunteer))
                assert response.status_code == 202, response.text
                labelled[volunteer].add(frame)
                posts[frame] += 1
                posted += 1
        if posted == 0:
            break
    progress = client.get("/api/progress").json()
    assert progress["frames_left"] == 0
    assert progress["videos"] == [{"url": VIDEO.url, "frames": 50, "retired": 50, "in_progress": 0, "untouched": 0}]
    assert sorted(posts) == list(range(50))
    assert all(RETIRE_AFTER <= posts[f] <= RETIRE_AFTER + 1 for f in range(50)), posts
    assert sum(len(frames) for frames in labelled.values()) == sum(posts.values())
    last = client.get("/api/next-frame", params={"volunteer": volunteers[0]}).json()
    assert (last["frame_index"], last["remaining"]) == (None, 0)
