"""Fuzzing a running receiver over HTTP: its own OpenAPI document (schemathesis), then hostile bodies (hypothesis).

Whatever arrives, the answer is a 2xx or a 4xx whose JSON `error` is a
sentence; never a 5xx. Afterwards the server still answers, its journal
passes SQLite's integrity check and every 2xx id can be looked up.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.adversarial.conftest import Client, StartReceiver
from tests.adversarial.harness import Profile, Secrets, Tally, is_sentence_error, journal_intact
from tests.support.captured import captured_body
from tests.support.servers import ReceiverProcess

NO_LIMIT = {"RECEIVER_RATE_LIMIT": "0"}
JSON = {"Content-Type": "application/json"}


@dataclass
class Fuzzed:
    """A fuzzing target: the server, and what its answers were."""

    server: ReceiverProcess
    client: Client
    tally: Tally
    accepted: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def judge(self, method: str, status: int, content: bytes, response: Any) -> None:
        """Count one fuzzed request and hold its answer to the rules."""
        self.tally.add("requests fuzzed")
        if status >= 500:
            self.tally.add("5xx")
        where = getattr(getattr(response, "request", None), "url", "")
        assert status < 500, f"{method} {where} answered {status}: {content[:300]!r}"
        if 400 <= status < 500:
            assert is_sentence_error(response), f"{status} without a sentence: {content[:300]!r}"
        elif method == "POST" and status in (200, 202):
            self.accepted.append(json.loads(content)["id"])

    def post(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        response = self.client.post(f"{self.server.url}/api/labels", content=body, headers=headers or JSON)
        self.judge("POST", response.status_code, response.content, response)
        return response

    def check_afterwards(self) -> None:
        """The server answers, the journal is intact and every accepted id is known to it."""
        assert self.client.get(f"{self.server.url}/health").status_code == 200
        assert journal_intact(self.server.workdir / "receiver-data" / "journal.sqlite3")
        for identifier in set(self.accepted):
            assert self.client.get(f"{self.server.url}/api/submissions/{identifier}").status_code == 200, identifier
        self.tally.add("submissions accepted", len(set(self.accepted)))


@pytest.fixture
def fuzzed(start_receiver: StartReceiver, client: Client, tally: Tally) -> Iterator[Fuzzed]:
    target = Fuzzed(start_receiver(NO_LIMIT), client, tally)
    yield target
    target.check_afterwards()


def run_examples(strategy: st.SearchStrategy[Any], examples: int, check: Callable[[Any], None]) -> None:
    """Run `check` on `examples` values drawn from `strategy` (generate only: a failure prints its input)."""

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(value: Any) -> None:
        check(value)

    run()


class TestOpenApi:
    def test_every_operation_answers_generated_and_negative_requests_without_a_5xx(self, fuzzed: Fuzzed, profile: Profile, secrets: Secrets) -> None:
        """schemathesis, positive and negative, on each operation of /openapi.json: 2xx or a 4xx sentence."""
        schema = schemathesis.openapi.from_url(f"{fuzzed.server.url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {op.path for op in operations} >= {"/api/labels", "/api/annotations", "/api/submissions/{id}", "/health"}
        for operation in operations:
            negatable = len(operation.body) or len(operation.query) or len(operation.path_parameters)
            for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
                if mode is schemathesis.GenerationMode.NEGATIVE and not negatable:
                    continue  # nothing to break in a request that takes no input

                def call(case: Any) -> None:
                    response = case.call(timeout=30)
                    secrets.saw(response)
                    fuzzed.judge(case.method.upper(), response.status_code, response.content, response)

                run_examples(operation.as_strategy(generation_mode=mode), profile.fuzz_examples, call)
        assert fuzzed.tally.counts["requests fuzzed"] >= len(operations) * 2

    def test_post_then_status_sequences_never_fail(self, fuzzed: Fuzzed, profile: Profile, secrets: Secrets) -> None:
        """Stateful: a 202's id followed to GET /api/submissions/{id} and GET /api/annotations; no 5xx on the way."""
        document = httpx.get(f"{fuzzed.server.url}/openapi.json").json()
        follow = {
            "status": {"operationId": "getSubmission", "parameters": {"id": "$response.body#/id"}},
        }
        for path in ("/api/labels", "/api/annotations"):
            for code in ("200", "202"):
                document["paths"][path]["post"]["responses"][code]["links"] = follow
            # A real page's payload as the example, so some sequences start with a kept submission.
            document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["example"] = captured_body()
        document["paths"]["/api/submissions/{id}"]["get"].setdefault("operationId", "getSubmission")
        schema = schemathesis.openapi.from_dict(document)
        schema.config.update(base_url=fuzzed.server.url)
        steps: list[tuple[str, int]] = []

        class Sequences(schema.as_state_machine()):  # type: ignore[misc]
            def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
                """The rules are this suite's (`judge`), not schemathesis's conformance checks."""

            def after_call(self, response: Any, case: Any) -> None:
                secrets.saw(response)
                steps.append((case.path, response.status_code))
                fuzzed.judge(case.method.upper(), response.status_code, response.content, response)

        Sequences.run(
            settings=settings(
                max_examples=profile.stateful_examples, deadline=None, database=None, stateful_step_count=6,
                phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
            )
        )
        assert len(steps) >= profile.stateful_examples
        assert any(path == "/api/submissions/{id}" for path, _ in steps), "no sequence followed a link"


# -- hostile bodies ---------------------------------------------------------------

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=40)
JSON_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=12), inner, max_size=6), max_leaves=30)
DELETE = object()


def _places(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Every field of a valid submission, as a path of keys and indexes."""
    places: list[tuple[Any, ...]] = [(key,) for key in body]
    for index, label in enumerate(body["labels"]):
        places += [("labels", index, key) for key in label]
    return places + [("metadata",), ("labels", 0), ("labels", len(body["labels"]))]


def _mutated(place: tuple[Any, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(captured_body())
    *parents, last = place
    holder: Any = body
    for key in parents:
        holder = holder[key]
    if value is DELETE:
        if isinstance(holder, list) and last >= len(holder) or isinstance(holder, dict) and last not in holder:
            return body
        del holder[last]
    elif isinstance(holder, list) and last >= len(holder):
        holder.append(value)
    else:
        holder[last] = value
    return body


class TestHostileBodies:
    def test_a_valid_payload_with_one_field_mutated_is_kept_or_refused_with_a_sentence(self, fuzzed: Fuzzed, profile: Profile) -> None:
        """Any one field replaced by any JSON value (or removed): 2xx, 400 or 422 with a sentence."""
        places = _places(captured_body())
        mutation = st.tuples(st.sampled_from(places), JSON_VALUES | st.just(DELETE))

        def send(chosen: tuple[tuple[Any, ...], Any]) -> None:
            body = json.dumps(_mutated(*chosen), allow_nan=True).encode()
            assert fuzzed.post(body).status_code in (200, 202, 400, 422)

        run_examples(mutation, profile.fuzz_examples * 3, send)

    def test_random_json_documents_are_refused_with_a_sentence(self, fuzzed: Fuzzed, profile: Profile) -> None:
        """Arbitrary JSON (NaN and Infinity included) is never a submission: 400 or 422."""

        def send(value: Any) -> None:
            assert fuzzed.post(json.dumps(value, allow_nan=True).encode()).status_code in (400, 422)

        run_examples(JSON_VALUES, profile.fuzz_examples * 2, send)

    def test_random_bytes_are_refused_with_a_sentence(self, fuzzed: Fuzzed, profile: Profile) -> None:
        """Bytes that are mostly not JSON at all, under any declared media type: 4xx with a sentence."""
        media = st.sampled_from(["application/json", "application/json; charset=latin-1", "text/plain", "", "application/x-www-form-urlencoded"])

        def send(chosen: tuple[bytes, str]) -> None:
            data, content_type = chosen
            assert 400 <= fuzzed.post(data, {"Content-Type": content_type}).status_code < 500

        run_examples(st.tuples(st.binary(max_size=4096), media), profile.fuzz_examples * 2, send)

    def test_invalid_utf8_and_lone_surrogates_are_refused(self, fuzzed: Fuzzed, profile: Profile) -> None:
        """A valid payload with bad UTF-8 bytes, or a lone surrogate escape, in any string: 400."""
        base = json.dumps(captured_body()).encode()
        quotes = [i for i, byte in enumerate(base) if byte == ord('"')]
        bad = st.sampled_from([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xf8\x88\x80\x80\x80", b"\\ud800", b"\\udfff", b"\\ud83d"])

        def send(chosen: tuple[int, bytes]) -> None:
            at, junk = chosen
            assert fuzzed.post(base[: at + 1] + junk + base[at + 1 :]).status_code == 400

        run_examples(st.tuples(st.sampled_from(quotes), bad), profile.fuzz_examples, send)

    def test_duplicate_keys_are_refused_at_any_depth(self, fuzzed: Fuzzed, profile: Profile) -> None:
        """A key repeated in the top object or in a label: 400, whichever value came last."""
        body = captured_body()

        def send(chosen: tuple[str, bool]) -> None:
            key, in_label = chosen
            text = json.dumps(body)
            if in_label:
                label = body["labels"][0]
                text = text.replace('{"id": "' + label["id"] + '"', '{"' + key + '": 1, "id": "' + label["id"] + '"', 1)
                text = text.replace('"' + key + '": 1, ', '"' + key + '": 1, "' + key + '": 2, ', 1)
            else:
                text = "{" + json.dumps(key) + ": 1, " + json.dumps(key) + ": 2, " + text[1:]
            assert fuzzed.post(text.encode()).status_code == 400

        keys = st.sampled_from(["video_url", "frame_index", "labels", "id", "pixel_x", "placed"]) | st.text(min_size=1, max_size=10).filter(lambda k: '"' not in k and "\\" not in k)
        run_examples(st.tuples(keys, st.booleans()), profile.fuzz_examples, send)

    def test_numbers_past_float_range_are_refused(self, fuzzed: Fuzzed, profile: Profile) -> None:
        """1e309, -1e400, 400-digit integers and NaN in any number field: 400 or 422, never stored."""
        base = captured_body()
        fields = ["frame_index", "total_frames", "fps", "frame_width", "frame_height", "pixel_x"]
        huge = st.sampled_from(["1e309", "-1e400", "9" * 400, "-" + "9" * 40, "NaN", "Infinity", "-Infinity", "1" + "0" * 31, "1e-400"])

        def send(chosen: tuple[str, str]) -> None:
            name, number = chosen
            if name == "pixel_x":
                text = json.dumps(base).replace(f'"pixel_x": {base["labels"][0]["pixel_x"]}', f'"pixel_x": {number}', 1)
            else:
                text = json.dumps(base).replace(f'"{name}": {json.dumps(base[name])}', f'"{name}": {number}', 1)
            status = fuzzed.post(text.encode()).status_code
            assert status in (400, 422) or number == "1e-400" and status in (200, 202, 422)

        run_examples(st.tuples(st.sampled_from(fields), huge), profile.fuzz_examples, send)

    def test_deep_nesting_is_refused_at_any_depth(self, fuzzed: Fuzzed, profile: Profile) -> None:
        """Arrays or objects nested 17 to 30,000 deep, in metadata or alone: 400 or 413."""

        def send(chosen: tuple[int, bool, bool]) -> None:
            depth, objects, in_metadata = chosen
            opening, closing = ('{"a":' * depth, "}" * depth) if objects else ("[" * depth, "]" * depth)
            nested = opening + "1" + closing
            text = json.dumps(captured_body())[:-1] + ', "metadata": ' + nested + "}" if in_metadata else nested
            assert fuzzed.post(text.encode()).status_code in (400, 413)

        run_examples(st.tuples(st.integers(17, 30_000), st.booleans(), st.booleans()), profile.fuzz_examples, send)

    def test_huge_bodies_are_refused_whether_declared_or_streamed(self, fuzzed: Fuzzed, profile: Profile) -> None:
        """Past the 64 KiB limit, with or without Content-Length (chunked): 413, and the server goes on."""

        def send(chosen: tuple[int, bool]) -> None:
            size, chunked = chosen
            body = captured_body()
            body["metadata"] = {"note": "x" * size}
            data = json.dumps(body).encode()
            if chunked:
                response = fuzzed.client.post(f"{fuzzed.server.url}/api/labels", content=iter([data[i : i + 8192] for i in range(0, len(data), 8192)]), headers=JSON)
                fuzzed.judge("POST", response.status_code, response.content, response)
            else:
                response = fuzzed.post(data)
            assert response.status_code == 413

        run_examples(st.tuples(st.integers(70_000, 4_000_000), st.booleans()), max(5, profile.fuzz_examples // 4), send)
