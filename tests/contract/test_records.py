"""A record's identity: deterministic, stable across processes, sharded paths."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections import Counter
from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from receiver.contract.records import Record, branch_name, canonical, canonical_json, legacy_record_path, path_layout, record_id, record_path, record_paths
from tests.support.captured import captured_body

WHEN = datetime(2026, 11, 25, 8, 24, 17, 520000, tzinfo=timezone.utc)


def make(body: dict, submitter: str = "anonymous") -> Record:
    return Record.create(body, submitter=submitter, received_at=WHEN, receiver_version="0.1.0")


def test_same_submission_and_submitter_give_same_id() -> None:
    """Re-posting the same payload lands on the same id, path and branch."""
    first, second = make(captured_body()), make(captured_body())
    assert (first.id, first.path, first.branch) == (second.id, second.path, second.branch)


def test_receipt_time_does_not_change_the_id() -> None:
    later = Record.create(captured_body(), submitter="anonymous", received_at=datetime(2030, 1, 1, tzinfo=timezone.utc), receiver_version="9")
    assert later.id == make(captured_body()).id


def test_submitter_is_part_of_the_id() -> None:
    assert make(captured_body(), "alice").id != make(captured_body(), "bob").id


def test_key_order_and_integral_floats_do_not_change_the_id() -> None:
    """30 and 30.0, and any key order, are the same submission."""
    body = captured_body()
    reordered = dict(reversed(list(body.items())))
    reordered["fps"] = 30.0
    assert record_id(reordered, "anonymous") == record_id(body, "anonymous")


def test_canonical_json_is_compact_and_sorted() -> None:
    assert canonical_json({"b": 1.0, "a": [True, None, "é"]}) == '{"a":[true,null,"é"],"b":1}'.encode()


def _stdlib_canonical_json(value: object) -> bytes:
    """The definition of a record's canonical bytes: what every earlier release hashed."""
    text = json.dumps(canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(min_value=-1e-3, max_value=1e-3)
    | st.text(st.characters(exclude_categories=["Cs"]))
)
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(st.characters(exclude_categories=["Cs"]), max_size=6), inner, max_size=4), max_leaves=20)


# What these properties claim is about values; a per-example wall-clock deadline would fail them only when other
# processes (xdist's workers, other jobs) share the cores.
_VALUES_ONLY = settings(deadline=None)


@_VALUES_ONLY
@given(_json)
def test_canonical_json_is_the_standard_librarys_encoding_byte_for_byte(value: object) -> None:
    """Ids stay what they were: the fast encoder never changes a byte of the canonical form."""
    assert canonical_json(value) == _stdlib_canonical_json(value)


def _integral_floats_as_ints(value: object) -> object:
    """The definition of canonical values, walked in full."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _integral_floats_as_ints(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_ints(item) for item in value]
    return value


_with_integral_floats = st.recursive(
    _scalars | st.integers(min_value=-(2**60), max_value=2**60).map(float) | st.sampled_from([-0.0, 1e16, 1e300, 2.5e20]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@_VALUES_ONLY
@given(_with_integral_floats)
def test_canonical_turns_every_integral_float_into_an_integer_and_nothing_else(value: object) -> None:
    """The shortcut that skips the walk for documents without integral floats never skips one that has them."""
    expected = _integral_floats_as_ints(value)
    # repr tells 30 from 30.0, which == does not.
    assert repr(canonical(value)) == repr(expected)


def test_small_floats_and_huge_integers_keep_the_standard_librarys_form() -> None:
    for value in ({"x": 3.007433972161988e-05}, {"x": 1e-7}, {"x": 2**65}, [0.0001, -1.5e-5]):
        assert canonical_json(value) == _stdlib_canonical_json(value)


def test_id_path_and_branch_are_identical_in_another_process() -> None:
    """A fresh interpreter (new hash seed) derives the same identity."""
    body = captured_body("post_fps_29_97")
    record = make(body)
    script = (
        "import json,sys; from receiver.contract.records import record_id, record_path, branch_name;"
        "b=json.load(sys.stdin); i=record_id(b,'anonymous'); print(i, record_path(i,b['video_url']), branch_name(i))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], input=json.dumps(body), capture_output=True, text=True, check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"},
    ).stdout.split()
    assert out == [record.id, record.path, record.branch]


def test_known_id_is_stable_across_releases() -> None:
    """Pinned: changing how ids are derived would orphan every stored record."""
    identifier = record_id({"a": 1}, "anonymous")
    assert identifier == "edc9b24aeabfcdc47f364f1f13af16b6"
    assert record_path(identifier, "https://x.org/v.mp4") == "annotations/3e/3e6b330961b06151/e/dc/9/edc9b24aeabfcdc47f364f1f13af16b6.json"
    assert legacy_record_path(identifier, "https://x.org/v.mp4") == "annotations/3e/3e6b330961b06151/ed/edc9b24aeabfcdc47f364f1f13af16b6.json"


def test_path_is_under_annotations_and_named_by_id() -> None:
    record = make(captured_body())
    assert record.path.startswith("annotations/") and record.path.endswith(f"/{record.id}.json")
    assert branch_name(record.id) == f"annotations/{record.id}"


def test_no_folder_passes_a_thousand_entries_at_a_million_records() -> None:
    """A million records over a thousand videos: count every folder's direct entries."""
    entries: Counter[str] = Counter()
    seen: set[str] = set()
    for n in range(1_000_000):
        video = f"https://videos.example.org/{n % 1000}.mp4"
        path = record_path(f"{n:032x}"[::-1], video)
        parts = path.split("/")
        for depth in range(1, len(parts)):
            folder, child = "/".join(parts[:depth]), "/".join(parts[: depth + 1])
            if child not in seen:
                seen.add(child)
                entries[folder] += 1
    assert max(entries.values()) <= 1000


def test_one_videos_folders_stay_small_at_a_million_labels() -> None:
    """A million records of one video: 16, 256 and 16 entries in the folders below the video's, a few dozen in the last."""
    entries: Counter[str] = Counter()
    seen: set[str] = set()
    for n in range(1_000_000):
        # Ids are SHA-256 prefixes: those of the numbers are as evenly spread as those of submissions.
        parts = record_path(hashlib.sha256(b"%d" % n).hexdigest()[:32], "https://videos.example.org/one.mp4").split("/")
        for depth in range(1, len(parts)):
            child = "/".join(parts[: depth + 1])
            if child not in seen:
                seen.add(child)
                entries["/".join(parts[:depth])] += 1
    by_depth: dict[int, list[int]] = {}
    for folder, count in entries.items():
        by_depth.setdefault(folder.count("/"), []).append(count)
    assert [max(by_depth[depth]) for depth in (2, 3, 4)] == [16, 256, 16]
    assert len(by_depth[5]) == 65_536 and max(by_depth[5]) < 40


def test_path_depends_only_on_id_and_video() -> None:
    """Same id and URL, same path, in both layouts; the layouts differ only below the video's folder."""
    identifier = "0123456789abcdef0123456789abcdef"
    new, old = record_paths(identifier, "https://x.org/v.mp4")
    assert (new, old) == (record_path(identifier, "https://x.org/v.mp4"), legacy_record_path(identifier, "https://x.org/v.mp4"))
    assert new.rsplit("/", 4)[0] == old.rsplit("/", 2)[0]
    assert new.endswith("/0/12/3/0123456789abcdef0123456789abcdef.json") and old.endswith("/01/0123456789abcdef0123456789abcdef.json")


def test_each_path_names_its_layout() -> None:
    """The README's rule: folders of one, two and one characters is the current layout, one two-character folder the earlier."""
    identifier = record_id({"a": 1}, "anonymous")
    assert path_layout(record_path(identifier, "https://x.org/v.mp4")) == "sharded-3"
    assert path_layout(legacy_record_path(identifier, "https://x.org/v.mp4")) == "sharded-2"
    assert path_layout(f"annotations/{identifier}.json") is None


def test_a_records_legacy_path_is_the_earlier_layouts() -> None:
    """`Record.legacy_path` is where the record was stored before: looked at so a re-post is not stored twice."""
    record = make(captured_body())
    assert record.legacy_path == legacy_record_path(record.id, record.submission["video_url"]) != record.path
