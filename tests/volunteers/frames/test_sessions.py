"""Volunteer sessions over the app: issued by the receiver, one voice per frame, and only leased frames count."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from starlette.testclient import TestClient

from receiver.access.ratelimit import RateLimit
from tests.volunteers.frames.conftest import VIDEO, Apps, address_of, far_label, honest_label

SMALL = replace(VIDEO, url="https://videos.example.org/short.mp4", frames=3)
ONE = replace(VIDEO, url="https://videos.example.org/one.mp4", frames=1)


def frames_state(client: TestClient, video_url: str) -> dict[str, int]:
    return next(v for v in client.get("/api/progress").json()["videos"] if v["url"] == video_url)


class TestIssuing:
    def test_a_session_is_issued_with_its_pseudonym(self, apps: Apps) -> None:
        """201 with a sentence first, an opaque token, a pseudonym and how long it lasts."""
        answer = apps.start().post("/api/sessions")
        body = answer.json()
        assert answer.status_code == 201 and list(body)[0] == "message"
        assert body["session"].startswith("s1.") and re.fullmatch(r"v-[a-z2-7]{10}", body["pseudonym"])
        assert body["pseudonym"] in body["message"] and body["expires_in"] > 0

    def test_sessions_beyond_the_limit_of_one_network_are_429_with_retry_after(self, apps: Apps) -> None:
        """Three an hour from one address: the fourth waits, another address is not held back."""
        client = apps.start(session_limit=RateLimit(3, 3600.0))
        crowd = TestClient(client.app, client=(address_of("one network"), 50000))
        codes = [crowd.post("/api/sessions").status_code for _ in range(4)]
        refused = crowd.post("/api/sessions")
        assert codes == [201, 201, 201, 429] and int(refused.headers["retry-after"]) > 0
        assert refused.json()["error"].startswith("Too many new volunteer sessions")
        assert TestClient(client.app, client=(address_of("elsewhere"), 50000)).post("/api/sessions").status_code == 201


class TestForgedSessions:
    @pytest.mark.parametrize("token", ["s1.made.up.token", "not-a-session", "s1." + "A" * 22 + ".1.AAAAAAAAAAAAAAAAAAAAAA"])
    def test_a_made_up_session_is_401_everywhere(self, apps: Apps, token: str) -> None:
        """next-frame, progress and a submission: 401 with a sentence, and nothing is kept."""
        client = apps.start()
        headers = {"X-Volunteer-Session": token}
        answers = [
            client.get("/api/next-frame", headers=headers),
            client.get("/api/progress", headers=headers),
            client.post("/api/labels", json=honest_label(VIDEO, 0, "mallory-0001"), headers=headers),
        ]
        assert [a.status_code for a in answers] == [401, 401, 401]
        assert all("not one this receiver issued" in a.json()["error"] for a in answers)
        assert client.get("/api/annotations").json()["count"] == 0

    def test_a_session_of_another_receiver_is_401(self, apps: Apps, tmp_path_factory: pytest.TempPathFactory) -> None:
        """A token signed with another secret is foreign."""
        client = apps.start()
        other = apps.start(session_secret="another-receivers-secret", journal=tmp_path_factory.mktemp("other") / "journal.sqlite3", journal_url="")
        token = other.post("/api/sessions").json()["session"]
        assert client.get("/api/next-frame", headers={"X-Volunteer-Session": token}).status_code == 401


class TestAssignment:
    def test_next_frame_leases_each_frame_it_hands_out(self, apps: Apps) -> None:
        """Every frame handed to a session comes with a lease, and the answer names the session's pseudonym."""
        client = apps.start(videos=(SMALL,))
        alice = apps.volunteer(client, "alice-0001")
        body = alice.get("/api/next-frame", params={"count": "3"}).json()
        assert body["volunteer"] == alice.pseudonym
        assert len(body["frames"]) == 3 and all(item["lease"].startswith("t1.") for item in body["frames"])

    def test_a_label_with_its_lease_is_assigned_and_counts(self, apps: Apps) -> None:
        """202 assigned, its status says so, and the frame is touched."""
        client = apps.start(videos=(ONE,))
        alice = apps.volunteer(client, "alice-0001")
        offer = alice.get("/api/next-frame").json()
        answer = alice.post(honest_label(ONE, offer["frame_index"], "alice-0001"), ticket=offer["lease"])
        assert answer.status_code == 202 and answer.json()["assigned"] is True
        status = client.get(f"/api/submissions/{answer.json()['id']}").json()
        assert (status["volunteer"], status["assigned"]) == (alice.pseudonym, True)
        assert frames_state(client, ONE.url)["in_progress"] == 1

    def test_a_label_of_a_frame_not_leased_to_its_session_is_kept_and_unassigned(self, apps: Apps) -> None:
        """202, said unassigned in the answer and the status, and the frame is untouched."""
        client = apps.start(videos=(SMALL,))
        answer = apps.volunteer(client, "alice-0001").post(honest_label(SMALL, 1, "alice-0001"), leased=False)
        assert answer.status_code == 202 and answer.json()["assigned"] is False and "do not count" in answer.json()["message"]
        assert client.get(f"/api/submissions/{answer.json()['id']}").json()["assigned"] is False
        assert frames_state(client, SMALL.url)["untouched"] == 3

    def test_a_lease_of_another_frame_does_not_assign(self, apps: Apps) -> None:
        """The ticket names one frame: a label of another frame sent with it is unassigned."""
        client = apps.start(videos=(SMALL,))
        alice = apps.volunteer(client, "alice-0001")
        offer = alice.get("/api/next-frame").json()
        other = (offer["frame_index"] + 1) % 3
        assert alice.post(honest_label(SMALL, other, "alice-0001"), ticket=offer["lease"]).json()["assigned"] is False

    def test_a_label_without_a_session_is_kept_and_counts_for_nothing(self, apps: Apps) -> None:
        """Other tools may post without a session: 202, kept, and no frame moves."""
        client = apps.start(videos=(SMALL,), retire_after=1)
        assert client.post("/api/labels", json=honest_label(SMALL, 0, "tool-00000001")).status_code == 202
        assert frames_state(client, SMALL.url) == {"url": SMALL.url, "frames": 3, "retired": 0, "in_progress": 0, "untouched": 3}

    def test_no_frame_is_leased_to_more_sessions_than_it_needs(self, apps: Apps) -> None:
        """K=2 and one frame: two sessions get it, a third gets nothing until a lease ends or a label disagrees."""
        client = apps.start(videos=(ONE,), retire_after=2)
        offers = [apps.volunteer(client, name).get("/api/next-frame").json()["frame_index"] for name in ("alice-0001", "bob-00000002", "carol-000003")]
        assert offers == [0, 0, None]

    def test_a_lapsed_lease_frees_the_frame_for_another_session(self, apps: Apps) -> None:
        """With leases of no length, a frame handed out but never labelled is handed out again."""
        client = apps.start(videos=(ONE,), retire_after=1, lease_seconds=0.0)
        offers = [apps.volunteer(client, name).get("/api/next-frame").json()["frame_index"] for name in ("alice-0001", "bob-00000002")]
        assert offers == [0, 0]

    def test_two_sessions_of_one_network_are_never_leased_the_same_frame(self, apps: Apps) -> None:
        """One address group is one voice per frame, however many sessions it holds."""
        client = apps.start(videos=(ONE,), retire_after=3)
        network = TestClient(client.app, client=("198.51.100.7", 50000))
        tokens = [network.post("/api/sessions").json()["session"] for _ in range(3)]
        offers = [network.get("/api/next-frame", headers={"X-Volunteer-Session": t}).json()["frame_index"] for t in tokens]
        assert offers == [0, None, None]

    def test_sessions_of_one_network_each_get_a_frame_when_the_operator_allows(self, apps: Apps) -> None:
        """With one_voice_per_address off (a lab behind one address), each session is its own voice."""
        client = apps.start(videos=(ONE,), retire_after=3, one_voice_per_address=False)
        network = TestClient(client.app, client=("198.51.100.7", 50000))
        tokens = [network.post("/api/sessions").json()["session"] for _ in range(3)]
        assert [network.get("/api/next-frame", headers={"X-Volunteer-Session": t}).json()["frame_index"] for t in tokens] == [0, 0, 0]


class TestOneVoice:
    def test_ninety_labels_of_one_frame_from_one_session_count_once(self, apps: Apps) -> None:
        """All kept (202), one counted label: the frame is not retired and no other frame moves."""
        client = apps.start(videos=(SMALL,), retire_after=3)
        mallory = apps.volunteer(client, "mallory-0001")
        codes = set()
        for n in range(90):
            body = honest_label(SMALL, 1, "mallory-0001", seed=n)
            body["timestamp"] = f"2026-12-07T10:{n // 60:02d}:{n % 60:02d}.000Z"
            codes.add(mallory.post(body).status_code)
        assert codes == {202}
        assert client.get("/api/annotations").json()["count"] == 90
        assert frames_state(client, SMALL.url) == {"url": SMALL.url, "frames": 3, "retired": 0, "in_progress": 1, "untouched": 2}

    def test_a_later_label_of_the_same_session_replaces_the_earlier(self, apps: Apps) -> None:
        """A far label then an honest one from Alice, and two honest others: the frame retires at K=3."""
        client = apps.start(videos=(SMALL,), retire_after=3)
        apps.volunteer(client, "alice-0001").post(far_label(SMALL, 0, "alice-0001"))
        for name in ("bob-00000002", "carol-000003"):
            apps.volunteer(client, name).post(honest_label(SMALL, 0, name))
        assert frames_state(client, SMALL.url)["retired"] == 0
        apps.volunteer(client, "alice-0001").post(honest_label(SMALL, 0, "alice-0001"))
        assert frames_state(client, SMALL.url)["retired"] == 1

    def test_labels_beyond_the_cap_are_kept_and_not_judged(self, apps: Apps) -> None:
        """With a cap of 2, a third voice's label is kept (202) and the frame's counted labels stay 2."""
        client = apps.start(videos=(SMALL,), retire_after=3, label_cap=2)
        codes = [apps.volunteer(client, name).post(honest_label(SMALL, 0, name)).status_code for name in ("alice-0001", "bob-00000002", "carol-000003")]
        assert codes == [202, 202, 202]
        frame = client.get("/api/review/" + apps.volunteer(client, "alice-0001").post(honest_label(SMALL, 2, "alice-0001")).json()["id"])
        assert frame.status_code == 200
        assert frames_state(client, SMALL.url)["retired"] == 0


class TestPublicNames:
    def test_review_names_other_volunteers_by_pseudonym_only(self, apps: Apps) -> None:
        """Other labels carry their session's pseudonym, and none of the names their pages chose."""
        client = apps.start(videos=(SMALL,))
        ids = [apps.volunteer(client, name).post(honest_label(SMALL, 1, name)).json()["id"] for name in ("alice-0001", "bob-00000002")]
        body = client.get(f"/api/review/{ids[0]}").json()
        [other] = body["others"]
        assert other["receipt"]["volunteer"] == apps.pseudonym("bob-00000002")
        assert "volunteer" not in other["submission"].get("metadata", {})
        assert "bob-00000002" not in str(body["others"])


class TestRetirementUndone:
    def test_a_retired_frame_that_five_sessions_then_dispute_is_handed_out_again(self, apps: Apps) -> None:
        """Retired on three agreeing labels; five disagreeing assigned labels from distinct sessions reopen it."""
        client = apps.start(videos=(ONE,), retire_after=3)
        for name in ("alice-0001", "bob-00000002", "carol-000003"):
            apps.volunteer(client, name).post(honest_label(ONE, 0, name))
        assert frames_state(client, ONE.url)["retired"] == 1
        assert apps.volunteer(client, "dave-0000004").get("/api/next-frame").json()["frame_index"] is None
        for n in range(5):
            name = f"doubter-{n:04d}"
            assert apps.volunteer(client, name).post(far_label(ONE, 0, name)).json()["assigned"] is True
        progress = client.get("/api/progress").json()
        assert progress["videos"][0]["retired"] == 0 and progress["reopened"] == 1
        assert apps.volunteer(client, "dave-0000004").get("/api/next-frame").json()["frame_index"] == 0

    def test_a_reopened_frame_that_settles_again_is_no_longer_counted_reopened(self, apps: Apps) -> None:
        """Enough agreeing labels after the dispute retire it again, and it leaves the reopened count."""
        client = apps.start(videos=(ONE,), retire_after=1, label_cap=20)
        apps.volunteer(client, "alice-0001").post(honest_label(ONE, 0, "alice-0001"))
        # Judged now (a read judges what is queued), so the frame retires before the dispute arrives.
        assert client.get("/api/progress").json()["videos"][0]["retired"] == 1
        apps.volunteer(client, "doubter-0000").post(far_label(ONE, 0, "doubter-0000"))
        assert client.get("/api/progress").json()["reopened"] == 1
        for n in range(6):
            apps.volunteer(client, f"honest-{n:05d}").post(honest_label(ONE, 0, f"honest-{n:05d}"))
        progress = client.get("/api/progress").json()
        assert (progress["videos"][0]["retired"], progress["reopened"]) == (1, 0)

    def test_a_frame_whose_counted_labels_reach_the_cap_unsettled_is_no_longer_handed_out(self, apps: Apps) -> None:
        """A contested frame at its cap waits for a reviewer instead of taking every volunteer's time."""
        client = apps.start(videos=(ONE,), retire_after=3, label_cap=4)
        for n, label in enumerate((honest_label, honest_label, far_label, far_label)):
            apps.volunteer(client, f"split-{n:06d}").post(label(ONE, 0, f"split-{n:06d}"))
        answer = apps.volunteer(client, "newcomer-0001").get("/api/next-frame").json()
        assert (answer["frame_index"], answer["remaining"]) == (None, 1)
