"""PR titles, bodies and commit messages: readable at a glance, and inert whatever a record holds."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from receiver.contract.inert import MARK
from receiver.contract.records import Record, video_key
from receiver.stores.pull_requests import BATCH_PREFIX, TITLE_PREFIX, batch_body, batch_title, code_span, commit_message, pull_body, pull_title
from tests.support.captured import captured_body, numbered_record
from tests.support.hostile import HOSTILE, HOSTILE_URLS, constructs

WHEN = datetime(2026, 11, 25, tzinfo=timezone.utc)


def hostile_record(text: str, *, url: str | None = None) -> Record:
    """A record carrying `text` everywhere volunteer text can sit, built without validation (as a journal could hold it)."""
    body = captured_body()
    body["video_url"] = url or f"https://example.org/{text}"
    body["timestamp"] = text
    body["labels"][0]["name"] = text
    body["labels"][1]["id"] = text
    body["labels"][2]["pixel_x"] = text
    body["metadata"] = {"tool": text, text[:20] or "k": True}
    return Record.create(body, submitter=text, received_at=WHEN, receiver_version="0.1.0")


def ours(record: Record) -> list[str]:
    """What the receiver itself writes: ids, keys, paths, its marker and title prefix."""
    return [f"<!-- receiver-record: {record.id} -->", record.path, record.id, video_key(record.submission["video_url"]), TITLE_PREFIX]


def assert_inert(record: Record) -> None:
    assert constructs(pull_title(record), markdown=True, ours=ours(record)) == []
    assert constructs(pull_body(record), markdown=True, ours=ours(record)) == []
    assert constructs(commit_message([record]), markdown=False, ours=ours(record)) == []


class TestInert:
    @pytest.mark.parametrize("text", HOSTILE)
    def test_hostile_text_anywhere_forms_nothing(self, text: str) -> None:
        """Title, body and commit message of a record full of hostile text: no construct can form."""
        assert_inert(hostile_record(text))

    @pytest.mark.parametrize("url", HOSTILE_URLS)
    def test_hostile_video_url_forms_nothing(self, url: str) -> None:
        assert_inert(hostile_record("x", url=url))

    def test_batch_of_hostile_records_forms_nothing(self) -> None:
        records = [hostile_record(text) for text in HOSTILE[:30]]
        mine = [BATCH_PREFIX, *(own for record in records for own in ours(record))]
        assert constructs(batch_title(records), markdown=True, ours=mine) == []
        assert constructs(batch_body(records, reason="Coalesced from a backlog."), markdown=True, ours=mine) == []
        assert constructs(commit_message(records), markdown=False, ours=mine) == []

    def test_commit_message_holds_no_volunteer_text(self) -> None:
        """The URL stays in the record's file; the message names the video by key and the record by id."""
        record = hostile_record("@octocat", url="https://example.org/v.mp4")
        message = commit_message([record])
        assert "example.org" not in message and "octocat" not in message
        assert video_key(record.submission["video_url"]) in message and record.id in message

    def test_the_body_is_not_left_with_a_trailer_paragraph(self) -> None:
        """A squash merge may use the body as the commit message: no line of it has the shape of a trailer."""
        record = numbered_record(3)
        assert "trailer" not in constructs(pull_body(record), markdown=True, ours=ours(record))


class TestAtAGlance:
    def test_title_names_frame_video_and_keypoints(self) -> None:
        """The video's file name reads as sent, in a code span, with no replacement character inside it."""
        record = numbered_record(7)
        assert pull_title(record) == f"{TITLE_PREFIX} frame 7 of `59e7d85b-6827-4e62-977a-bab97c54df82` (6/6 keypoints)"

    def test_body_shows_video_frame_submitter_keypoints_and_validation(self) -> None:
        body = pull_body(numbered_record(7, submitter="lab-tablet-3"))
        assert "**Video:** `https://ember-open-data.s3.amazonaws.com/" in body
        assert "**Frame:** 7 of 300 (1280×720 px at 30 fps)" in body
        assert "**Submitted by:** `lab-tablet-3` at `2026-11-25T00:00:07.000Z`" in body
        assert "| `Left Front Paw` (`left_front_paw`) | yes | 7 | 480 |" in body
        assert "Validated at intake by receiver 0.1.0" in body
        assert MARK not in body

    def test_frame_numbers_and_pixels_are_plain_digits_a_search_finds(self) -> None:
        """Frame 1198 is written 1198, not 1,198: a maintainer searching PRs for it finds it."""
        record = numbered_record(1198, frame_index=1198, total_frames=20_000)
        assert "frame 1198 of" in pull_title(record)
        assert "**Frame:** 1198 of 20000 " in pull_body(record)
        assert "," not in pull_body(record).split("**Frame:**", 1)[1].split("\n", 1)[0]

    def test_a_number_that_could_read_as_a_commit_sha_is_in_a_code_span(self) -> None:
        """From 7 digits GitHub could link a commit: the number is kept whole, inside a code span."""
        record = numbered_record(1, frame_index=12_345_678, total_frames=20_000_000)
        assert "frame `12345678` of" in pull_title(record)
        assert "frame 12,345,678 of" in commit_message([record])

    def test_metadata_is_shown_in_code_spans(self) -> None:
        record = numbered_record(1, metadata={"tool": "pozoo <b>@x</b>", "version": "1.2"})
        assert "**Labeling tool:** `tool`: `pozoo <b>@x</b>`; `version`: `1.2`" in pull_body(record)


class TestCodeSpan:
    @pytest.mark.parametrize("text", ["`", "``@octocat", "a ``` b", "`x`", "```` #1 ````"])
    def test_text_with_backticks_cannot_close_the_span(self, text: str) -> None:
        """The fence is longer than any backtick run in the text, and padded where the text touches it."""
        span = code_span(text)
        fence = re.match(r"`+", span).group()  # type: ignore[union-attr]
        assert span.endswith(fence) and fence not in span[len(fence) : -len(fence)]
        assert span[len(fence) : -len(fence)].strip(" ") == text

    def test_line_breaks_and_invisible_characters_become_visible_marks(self) -> None:
        """Nothing can leave the line or hide: breaks, controls, zero-width and bidi characters show as U+FFFD."""
        assert code_span("x\n\nCo-authored-by: M\u200b\u202e") == f"`x{MARK}Co-authored-by: M{MARK}`"

    def test_a_pipe_is_escaped_in_a_table_cell_only(self) -> None:
        assert code_span("a|b", cell=True) == "`a\\|b`" and code_span("a|b") == "`a|b`"

    def test_ordinary_urls_and_identifiers_keep_every_character(self) -> None:
        url = "https://ember-open-data.s3.amazonaws.com/59e7d85b-6827-4e62-977a-bab97c54df82.mp4"
        assert code_span(url) == f"`{url}`"


class TestConfiguredVideoLink:
    URL = "https://ember-open-data.s3.amazonaws.com/59e7d85b-6827-4e62-977a-bab97c54df82.mp4"

    def test_a_configured_video_is_a_link_to_its_url(self) -> None:
        """One of the operator's videos: a Markdown link a maintainer can click and copy."""
        record = numbered_record(7, video_url=self.URL)
        assert f"**Video:** [`{self.URL}`]({self.URL}) (key" in pull_body(record, videos={self.URL})

    def test_a_video_nobody_configured_is_not_linked(self) -> None:
        """A URL only a volunteer chose is shown, never linked: it could lure a maintainer anywhere."""
        record = numbered_record(7, video_url=self.URL)
        assert f"]({self.URL})" not in pull_body(record, videos={"https://example.org/other.mp4"})
        assert f"**Video:** `{self.URL}` (key" in pull_body(record)

    def test_the_link_forms_nothing_else(self) -> None:
        record = numbered_record(7, video_url=self.URL)
        body = pull_body(record, videos={self.URL})
        assert constructs(body, markdown=True, ours=[*ours(record), f"[`{self.URL}`]({self.URL})"]) == []


class TestReviewLink:
    REVIEW = "https://labels.example.org/receiver/review"

    def test_body_links_the_records_review_page(self) -> None:
        """With a review URL the body has a Review line ending in the record's id."""
        record = numbered_record(7)
        assert f"**Review:** {self.REVIEW}/{record.id}\n" in pull_body(record, review_url=self.REVIEW)

    def test_body_has_no_review_line_without_a_review_url(self) -> None:
        """No public URL, no Review line."""
        assert "**Review:**" not in pull_body(numbered_record(7))

    def test_batch_table_links_each_row(self) -> None:
        """Each row of a batch table ends with its record's review link."""
        records = [numbered_record(n) for n in range(3)]
        body = batch_body(records, review_url=self.REVIEW)
        rows = [line for line in body.splitlines() if line.startswith("| ") and "annotations/" in line]
        assert [row.rsplit("| ", 1)[-1] for row in rows] == [f"{self.REVIEW}/{r.id} |" for r in records]
        assert "| File | Review |" in body

    def test_review_link_forms_no_construct(self) -> None:
        """The link is the only link: no mention, reference, HTML or trailer comes with it."""
        record = numbered_record(7)
        assert constructs(pull_body(record, review_url=self.REVIEW), markdown=True, ours=[*ours(record), f"{self.REVIEW}/{record.id}"]) == []
