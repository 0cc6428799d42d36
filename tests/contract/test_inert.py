"""inert(): volunteer text that GitHub cannot act on, checked against the hostile corpus with the checker as specification."""

from __future__ import annotations

import pytest

from receiver.contract.inert import MARK, inert
from tests.support.hostile import HOSTILE, HOSTILE_URLS, constructs

CORPUS = HOSTILE + HOSTILE_URLS


class TestChecker:
    @pytest.mark.parametrize(
        ("text", "construct"),
        [
            ("hi @octocat", "mention or user@sha"),
            ("\uff20octocat", "mention or user@sha"),
            ("see #1", "issue reference or heading"),
            ("GH-1", "GH- reference"),
            ("https://evil.example", "URL autolink"),
            ("www.evil.example", "URL autolink"),
            ("a5c3785ed8d6", "commit SHA"),
            ("Closes #1", "closing keyword with a reference"),
            ("<img src=x>", "HTML or entity"),
            ("[x](y)", "Markdown link or image"),
            ("`` x", "unbalanced code span"),
            ("a\u202eb", "invisible or direction-changing character"),
            ("x\n\nCo-authored-by: m", "trailer"),
            ("x\n===", "setext heading, rule or fence"),
            ("> q", "block quote"),
            ("| a | b |\n| - | - |\n| a | b | c |", "table breakage"),
        ],
    )
    def test_checker_names_the_construct(self, text: str, construct: str) -> None:
        """The checker is the specification: each construct it must catch, it catches."""
        assert construct in constructs(text, markdown=True)

    def test_checker_ignores_code_spans_in_markdown_only(self) -> None:
        """GitHub forms nothing in a code span, but a commit message has no code spans."""
        assert constructs("see `#1`", markdown=True) == []
        assert "issue reference or heading" in constructs("see `#1`", markdown=False)

    def test_checker_flags_most_of_the_raw_corpus(self) -> None:
        """The corpus is hostile: raw in a table cell or a commit message, nearly every string trips the checker (emphasis and math do not)."""
        quiet = [
            text
            for text in CORPUS
            if not constructs(f"| Keypoint |\n| --- |\n| {text} |\n", markdown=True) and not constructs(f"Video {text}\n", markdown=False)
        ]
        assert quiet == ["**bold** _it_ ~~gone~~", "$x$ and $$y$$"]


class TestInert:
    @pytest.mark.parametrize("text", CORPUS)
    def test_nothing_can_form_in_markdown(self, text: str) -> None:
        """Inside a line of a PR body, nothing in the rendered text can act."""
        assert constructs(f"**Video:** {inert(text)}\n", markdown=True) == []

    @pytest.mark.parametrize("text", CORPUS)
    def test_nothing_can_form_in_a_table_cell(self, text: str) -> None:
        table = f"| Keypoint | Placed |\n| --- | --- |\n| {inert(text)} | yes |\n"
        assert constructs(table, markdown=True) == []

    @pytest.mark.parametrize("text", CORPUS)
    def test_nothing_can_form_in_plain_text(self, text: str) -> None:
        """In a commit message there are no code spans to hide in, and still nothing forms."""
        assert constructs(f"Add annotation\n\nVideo {inert(text)}\n", markdown=False) == []

    @pytest.mark.parametrize("text", ["Left Front Paw", "Pózoo étiqueteur 1.2 (ラベル)", "2026-11-25T08:24:17.520Z", "0.1.0", "pose-receiver"])
    def test_plain_text_is_unchanged(self, text: str) -> None:
        """Names, timestamps, versions and other-script text read as they were sent."""
        assert inert(text) == text

    def test_url_stays_readable(self) -> None:
        """A maintainer still sees which video: only the scheme separator and long hex runs are marked."""
        rendered = inert("https://ember-open-data.s3.amazonaws.com/blobs/59e/7d8/59e7d85b-6827")
        assert rendered == f"https:{MARK}//ember-open-data.s3.amazonaws.com/blobs/59e/7d8/59e7d8{MARK}5b-6827"

    def test_each_run_of_dropped_characters_becomes_one_mark(self) -> None:
        assert inert("Nose\n\n@@octocat") == f"Nose{MARK}octocat"

    def test_long_text_is_cut_with_an_ellipsis(self) -> None:
        rendered = inert("x" * 500, limit=50)
        assert len(rendered) == 50 and rendered.endswith("\N{HORIZONTAL ELLIPSIS}")

    def test_output_is_one_line(self) -> None:
        """No line break of any kind survives, so no trailer or block can start."""
        rendered = inert("a\nb\rc\r\nd\u2028e\u2029f\u0085g\u000bh\u000ci")
        assert rendered == MARK.join("abcdefghi")

    def test_non_string_values_are_rendered_too(self) -> None:
        """Metadata numbers, booleans and null go through the same function."""
        assert (inert(12.5), inert(True), inert(None)) == ("12.5", "True", "None")
