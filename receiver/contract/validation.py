"""The one validator: every rule a submission or a stored record must satisfy.

The receiver, `receiver validate` and CI all call `Validator`, so the same
document gets the same verdict everywhere. Structure and types come from the
JSON Schemas in `schemas/`; this module adds only what a schema cannot say
(the skeleton's keypoint set, placed implies coordinates, `visible` and `origin` only on a
placed keypoint, coordinates inside the frame, frame_index within the video, a real calendar timestamp, a label's
name being the skeleton's, a stored file's name and content agreeing, how
many animals a video's frame may hold and which tracks it names, and
characters outside the basic multilingual plane that a schema pattern cannot
portably name).

A video's allowance (`Allowance`: how many animals, which tracks) comes from
the operator's videos file, which this package does not read: whoever builds
the `Validator` hands it a mapping from video URL to allowance, and every
other video in it gets the default of one animal and no tracks. The receiver
always knows its videos and so always hands one (empty without a videos
file). A validator built without one (reading stored records for an export,
or `receiver validate` without `--videos`) does not know what each video
allows and judges only what a record says of itself: each track once. It returns problems; it never raises on bad input and never
touches the network (the video URL is not fetched).

Volunteer text ends up in pull requests and commits, so control, format and
bidi characters are refused wherever text is accepted, and whitespace too in
the URL and ids: what the schemas' patterns say for the common ranges, this
module says by Unicode category for all of them. `fill_names` completes a
submission whose labels leave out their names, before its record is built.
"""

from __future__ import annotations

import math
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeGuard
from urllib.parse import urlsplit

import jsonschema
import jsonschema.validators
import jsonschema_rs
from referencing import Registry, Resource

from receiver.contract import records
from receiver.contract.schemas import RECORD, SUBMISSION, Skeleton, load_schema, load_skeleton

__all__ = ["Allowance", "Problem", "Validator", "pointer", "is_record", "is_stored_path", "fill_names", "refused_character"]

Prefix = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a document: where (a JSON pointer) and what to do about it."""

    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message}"


@dataclass(frozen=True)
class Allowance:
    """How many animals one video's frames may hold, and the track names its animals may carry."""

    animals: int = 1
    tracks: tuple[str, ...] = ()


#: What a video the validator was not told about allows: one animal, no tracks, as before instances existed.
SINGLE_ANIMAL = Allowance()

#: The schema's alternatives for the labelled animals, recognised in its errors.
_LABELS_OR_INSTANCES = [{"required": ["labels"]}, {"required": ["instances"]}]
_NOT_BOTH = {"required": ["labels", "instances"]}


def pointer(parts: Iterable[str | int]) -> str:
    """RFC 6901 JSON pointer for a path of keys and indices."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


_TYPE_NAMES = {
    "integer": "a whole number",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
    "null": "null",
}

_PATTERN_HINTS = {
    "timestamp": "must be an ISO-8601 date and time with a zone, like 2024-01-15T12:34:56Z",
    "id": "must be a keypoint id: lowercase letters, digits and underscores, like left_front_paw",
    "received_at": "must be a UTC time like 2024-01-15T12:34:56Z",
    "submitter": "must be a short name of letters, digits, '.', '_' or '-'",
    "track": "must be a track name of letters, digits, '.', '_' or '-', like mouse_1",
}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"[:60]
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# Unicode categories refused in any volunteer text: controls (line breaks, tabs,
# escapes), format characters (zero-width, bidi overrides, soft hyphens),
# surrogates, and line and paragraph separators. URLs and ids also refuse
# every space separator: whitespace has no business in either.
_NOT_TEXT = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_NOT_IN_TOKEN = _NOT_TEXT | {"Zs"}

_CHARACTER_ADVICE = {
    "video_url": "send the URL as the address bar shows it, with spaces written as %20",
    "id": "send the keypoint id alone, like left_front_paw",
    "name": "send the skeleton's name for the keypoint, or leave name out",
    "timestamp": "send the time alone, like 2024-01-15T12:34:56Z",
    "metadata": "send plain text",
    "track": "send one of the video's track names, like mouse_1",
}


def refused_character(text: str, *, whitespace: bool = False) -> str | None:
    """The first character of `text` no volunteer text may hold, named (e.g. 'U+202E RIGHT-TO-LEFT OVERRIDE'), or None.

    With `whitespace`, spaces of every kind are refused too (for URLs and ids).
    """
    if text.isascii() and text.isprintable() and not (whitespace and " " in text):
        # The common case, without a lookup per character: printable ASCII holds
        # no control, format or separator character but the space.
        return None
    refused = _NOT_IN_TOKEN if whitespace else _NOT_TEXT
    for character in text:
        if unicodedata.category(character) in refused:
            return f"U+{ord(character):04X} {unicodedata.name(character, 'CONTROL CHARACTER')}"
    return None


def _text_kind(path: Sequence[str | int]) -> str | None:
    """Which kind of volunteer text sits at `path` (a submission's own, or inside a record)."""
    if path and path[0] == "submission":
        path = path[1:]
    if list(path) in (["video_url"], ["timestamp"]):
        return str(path[0])
    if len(path) == 3 and path[0] == "labels" and path[2] in ("id", "name"):
        return str(path[2])
    if len(path) == 5 and path[0] == "instances" and path[2] == "labels" and path[4] in ("id", "name"):
        return str(path[4])
    if len(path) == 3 and path[0] == "instances" and path[2] == "track":
        return "track"
    if len(path) == 2 and path[0] == "metadata":
        return "metadata"
    return None


def _character_sentence(path: Sequence[str | int], value: Any) -> str | None:
    """The sentence for a refused character in the text at `path`, or None when it has none."""
    kind = _text_kind(path)
    if kind is None or not isinstance(value, str):
        return None
    found = refused_character(value, whitespace=kind in ("video_url", "id", "timestamp", "track"))
    if found is None:
        return None
    what = "a space, line break or invisible character" if kind in ("video_url", "id", "timestamp", "track") else "a line break, control or invisible character"
    return f"contains {what} ({found}); {_CHARACTER_ADVICE[kind]}"


def _schema_problems(error: jsonschema.ValidationError) -> Iterator[Problem]:
    """Translate one jsonschema error into sentences a volunteer can act on."""
    path = list(error.absolute_path)
    where = pointer(path)
    keyword = error.validator
    expected: Any = error.validator_value
    value: Any = error.instance
    schema: Any = error.schema
    field = str(path[-1]) if path else ""
    if keyword == "anyOf" and expected == _LABELS_OR_INSTANCES:
        yield Problem(pointer([*path, "labels"]), "is missing; every submission needs 'labels' (one animal) or 'instances' (several)")
    elif keyword == "not" and expected == _NOT_BOTH:
        # `required` holds for anything but an object, so `not` also fails there; the type's own error says that.
        if isinstance(value, dict):
            yield Problem(pointer([*path, "instances"]), "cannot come with labels; send labels for one animal or instances for several, not both")
    elif keyword == "required" and isinstance(value, dict):
        whole = "animal in instances" if len(path) >= 2 and path[-2] == "instances" else "submission"
        for name in expected:
            if name not in value:
                yield Problem(pointer([*path, name]), f"is missing; every {whole} needs '{name}'")
    elif keyword == "additionalProperties" and isinstance(value, dict):
        known = set(schema.get("properties", {}))
        hint = " (a labeling tool's own facts may go under /metadata)" if not path else ""
        for name in sorted(set(value) - known):
            yield Problem(pointer([*path, name]), f"'{name[:40]}' is not a known field; remove it{hint}")
    elif keyword == "type":
        names = [expected] if isinstance(expected, str) else list(expected)
        wanted = " or ".join(_TYPE_NAMES.get(n, n) for n in names)
        yield Problem(where, f"must be {wanted}, not {_kind(value)}")
    elif keyword in ("minimum", "exclusiveMinimum"):
        bound = "greater than" if keyword == "exclusiveMinimum" else "at least"
        yield Problem(where, f"{_short(value)} is too small; it must be {bound} {expected}")
    elif keyword in ("maximum", "exclusiveMaximum"):
        yield Problem(where, f"{_short(value)} is too large; it must be at most {expected}")
    elif keyword in ("minLength", "maxLength"):
        limit = "at least" if keyword == "minLength" else "at most"
        yield Problem(where, f"is {len(value)} characters long; it must be {limit} {expected}")
    elif keyword in ("minItems", "maxItems"):
        limit = "at least" if keyword == "minItems" else "at most"
        yield Problem(where, f"has {len(value)} entries; it must have {limit} {expected}")
    elif keyword == "maxProperties":
        yield Problem(where, f"has {len(value)} fields; it may have at most {expected}")
    elif keyword == "propertyNames" or "propertyNames" in error.absolute_schema_path:
        yield Problem(where, "field names must start with a letter and use letters, digits, '_', '.' or '-'")
    elif keyword == "enum" and field == "origin":
        yield Problem(where, f"{_short(value)} is not an origin; send 'suggested' for a model's point accepted unchanged or 'placed' for one the volunteer placed or moved")
    elif keyword == "pattern" and (sentence := _character_sentence(path, value)):
        yield Problem(where, sentence)
    elif keyword == "pattern":
        yield Problem(where, _PATTERN_HINTS.get(field, f"{_short(value)} does not match {expected}"))
    elif keyword == "anyOf" and (sentence := _character_sentence(path, value)):
        yield Problem(where, sentence)
    elif keyword == "anyOf" and _text_kind(path) == "metadata" and isinstance(value, str):
        yield Problem(where, f"is {len(value)} characters long; a metadata string may be at most 256")
    elif keyword == "anyOf" and path[:1] in (["metadata"], ["submission"]):
        yield Problem(where, "must be a short string, a number, true/false or null")
    else:
        yield Problem(where, error.message[:200])


def _end_anchored_pattern(
    validator: jsonschema.Draft202012Validator, pattern: str, instance: Any, schema: Mapping[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    """`pattern` as ECMA-262 and the compiled fast path read it: `$` ends the string.

    Python's `$` also matches before a final line break, so jsonschema alone
    would let "nose\\n" through `^[a-z]+$`; the two paths must agree.
    """
    if isinstance(instance, str) and not re.search(_strict_end(pattern), instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _strict_end(pattern: str) -> str:
    # Our schemas' patterns use `$` only as the end anchor, never escaped.
    return re.sub(r"(?<!\\)\$", r"\\Z", pattern)


# jsonschema ships `extend` without annotations; the class it returns is a Draft 2020-12 validator.
_StrictValidator: type[jsonschema.Draft202012Validator] = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft202012Validator, {"pattern": _end_anchored_pattern}
)


class Validator:
    """Checks submissions and stored records against the schemas and the skeleton.

    Build one per process and reuse it: compiling the schemas is the expensive
    part. Valid documents take a compiled fast path; only a failing document
    pays for jsonschema's detailed errors.
    """

    def __init__(self, skeleton: Skeleton | None = None, *, allowances: Mapping[str, Allowance] | None = None) -> None:
        """`allowances` maps a video URL to what its frames may hold, every other video one animal and no tracks; None: not known here."""
        self.skeleton = skeleton or load_skeleton()
        self.allowances: Mapping[str, Allowance] | None = None if allowances is None else dict(allowances)
        submission, record = load_schema(SUBMISSION), load_schema(RECORD)
        registry: Registry[Any] = Registry().with_resource(
            submission["$id"], Resource.from_contents(submission)
        )
        self._submission = _StrictValidator(submission)
        self._record = _StrictValidator(record, registry=registry)
        fast_registry = jsonschema_rs.Registry([(submission["$id"], submission)])
        self._fast_submission = jsonschema_rs.validator_for(submission)
        self._fast_record = jsonschema_rs.validator_for(record, registry=fast_registry)

    def check_submission(self, document: Any) -> list[Problem]:
        """Every problem with a posted submission, empty when it is acceptable."""
        if self._fast_submission.is_valid(document):
            if _plainly_acceptable(document, self.skeleton, allowance_of=self.allowance_of):
                return []
            schema: list[Problem] = []
        else:
            schema = self._structure(self._submission, document)
        return _merge(schema, self._rules(document, ()))

    def check_record(self, document: Any, *, filename: str | None = None) -> list[Problem]:
        """Every problem with a stored record; `filename` (a repository path) is checked against its id."""
        submission = document.get("submission") if isinstance(document, dict) else None
        rules: list[Problem] = []
        if self._fast_record.is_valid(document):
            schema: list[Problem] = []
            # What CI runs over every stored file: the clean case skips the rules, as a post does.
            if not _plainly_acceptable(submission, self.skeleton, stored=True, allowance_of=self.allowance_of):
                rules = list(self._rules(submission, ("submission",)))
        else:
            schema = self._structure(self._record, document)
            rules = list(self._rules(submission, ("submission",)))
        if not schema and not rules:
            rules += _identity_rules(document, filename)
        return _merge(schema, rules)

    def check_stored(self, document: Any, *, filename: str | None = None) -> list[Problem]:
        """Every problem with a file kept in the data repository: a stored record with its receipt, never a bare submission."""
        if not is_record(document):
            return [Problem("/receipt", f"is missing: a file under {records.ANNOTATIONS_DIR}/ is a stored record the receiver wrote, with its receipt; post the submission to the receiver instead of committing it")]
        return self.check_record(document, filename=filename)

    def check_document(self, document: Any, *, filename: str | None = None) -> list[Problem]:
        """Check a file under annotations/ or with a receipt as a stored record, anything else as a submission.

        The folder decides before the content does: a bare submission filed
        under annotations/ is a broken record, not valid input.
        """
        if (filename is not None and is_stored_path(filename)) or is_record(document):
            return self.check_stored(document, filename=filename)
        return self.check_submission(document)

    def allowance_of(self, video_url: Any) -> Allowance | None:
        """What the video at `video_url` allows: its entry's allowance, else one animal and no tracks; None when this validator was told no videos."""
        if self.allowances is None:
            return None
        return self.allowances.get(video_url, SINGLE_ANIMAL) if isinstance(video_url, str) else SINGLE_ANIMAL

    @staticmethod
    def _structure(validator: jsonschema.Draft202012Validator, document: Any) -> list[Problem]:
        return [p for error in validator.iter_errors(document) for p in _schema_problems(error)]

    def _rules(self, document: Any, prefix: Prefix) -> Iterator[Problem]:
        if not isinstance(document, dict):
            if not prefix:
                yield Problem("", f"must be a JSON object with the submission's fields, not {_kind(document)}")
            return
        yield from _finite_rules(document, prefix)
        yield from _character_rules(document, prefix)
        yield from _url_rules(document, prefix)
        yield from _time_rules(document, prefix)
        yield from _frame_rules(document, prefix)
        labels = document.get("labels")
        if isinstance(labels, list):
            yield from _label_rules(labels, document, self.skeleton, prefix, stored=bool(prefix))
        instances = document.get("instances")
        if isinstance(instances, list):
            yield from _instance_rules(instances, document, self.skeleton, self.allowance_of(document.get("video_url")), prefix)


def _plainly_acceptable(
    document: Any, skeleton: Skeleton, *, stored: bool = False, allowance_of: Callable[[Any], Allowance | None] | None = None
) -> bool:
    """Whether a schema-valid submission is the common, clean case no rule objects to, in one pass.

    The receiver's hot path: a True skips the rules, which name problems and
    so walk the document once per rule. It may say False to a good document
    (odd but fine text, floats where ints are usual); then the rules decide.
    It must never say True where a rule has something to say:
    tests/contract/test_validation_properties.py holds it to that.
    """
    if type(document) is not dict:
        return False
    for value in document.values():
        if type(value) is float and not math.isfinite(value):
            return False
    url, stamp = document.get("video_url"), document.get("timestamp")
    if not (type(url) is str and type(stamp) is str and _plain(url) and _plain(stamp)):
        return False
    if not _web_address(url):
        return False
    try:
        if datetime.fromisoformat(stamp).tzinfo is None:
            return False
    except ValueError:
        return False
    index, total = document.get("frame_index"), document.get("total_frames")
    width, height = document.get("frame_width"), document.get("frame_height")
    if type(index) is not int or type(total) is not int or index > total or type(width) is not int or type(height) is not int:
        return False
    metadata = document.get("metadata")
    if metadata is not None:
        if type(metadata) is not dict:
            return False
        for value in metadata.values():
            if not _plain(value) or (type(value) is float and not math.isfinite(value)):
                return False
    labels = document.get("labels")
    names = skeleton.names
    if type(labels) is not list:
        # Several animals: each instance must be plain, and the video must allow them and their tracks.
        instances = document.get("instances")
        if type(instances) is not list or not instances or "labels" in document:
            return False
        allowance = allowance_of(url) if allowance_of is not None else None
        if allowance is not None and len(instances) > allowance.animals:
            return False
        tracks: set[str] = set()
        for instance in instances:
            if type(instance) is not dict:
                return False
            track = instance.get("track")
            if track is not None:
                if (allowance is not None and track not in allowance.tracks) or track in tracks:
                    return False
                tracks.add(track)
            if not _plain_labels(instance.get("labels"), names, width, height, stored=stored):
                return False
        return True
    return _plain_labels(labels, names, width, height, stored=stored)


def _plain_labels(labels: Any, names: Mapping[str, str], width: int, height: int, *, stored: bool) -> bool:
    """Whether one animal's labels are the clean case: every keypoint once, placed ones inside the frame, one placed at least."""
    if type(labels) is not list or len(labels) != len(names):
        return False
    seen: set[str] = set()
    placed_any = False
    for label in labels:
        if type(label) is not dict:
            return False
        key, placed = label.get("id"), label.get("placed")
        if type(key) is not str or key not in names or key in seen or not _plain(key):
            return False
        seen.add(key)
        if "name" in label and (label["name"] != names[key] or refused_character(names[key]) is not None):
            return False
        if stored and "name" not in label:
            return False  # a stored record names every keypoint
        if placed is True:
            x, y = label.get("pixel_x"), label.get("pixel_y")
            if type(x) not in (int, float) or type(y) not in (int, float) or not (0 <= x <= width and 0 <= y <= height):
                return False
            placed_any = True
        elif placed is False:
            if label.get("pixel_x") is not None or label.get("pixel_y") is not None or "visible" in label or "origin" in label:
                return False
        else:
            return False
    return placed_any


def is_record(document: Any) -> bool:
    """A stored record carries a receipt; a raw submission does not."""
    return isinstance(document, dict) and "receipt" in document


def is_stored_path(filename: str) -> bool:
    """A file in a folder named `annotations` (at any depth): where stored records live."""
    folders = filename.replace("\\", "/").split("/")[:-1]
    return records.ANNOTATIONS_DIR in folders


def _merge(schema: Sequence[Problem], rules: Iterable[Problem]) -> list[Problem]:
    """Schema problems first; a rule problem at an already-flagged place adds nothing."""
    flagged = {p.pointer for p in schema}
    merged = list(dict.fromkeys(schema))
    merged += [p for p in dict.fromkeys(rules) if p.pointer not in flagged]
    return merged


def _number(value: Any) -> TypeGuard[int | float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    # JSON integers may have any number of digits; past float range math.isfinite raises OverflowError, so compare instead.
    return math.isfinite(value) if isinstance(value, float) else -sys.float_info.max <= value <= sys.float_info.max


def _finite_rules(document: Mapping[str, Any], prefix: Prefix) -> Iterator[Problem]:
    # The parser refuses NaN, but a Python caller can still hand it in, and
    # every comparison with NaN is false, so the schema's bounds let it through.
    # Numbers live only at these places in a well-formed submission.
    for key, value in document.items():
        if type(value) is float and not math.isfinite(value):
            yield Problem(pointer([*prefix, key]), f"{value} is not a number; send a finite number")
    for at, labels in _label_lists(document):
        for i, label in enumerate(labels):
            if not isinstance(label, dict):
                continue
            for axis in ("pixel_x", "pixel_y"):
                value = label.get(axis)
                if isinstance(value, float) and not math.isfinite(value):
                    yield Problem(pointer([*prefix, *at, "labels", i, axis]), f"{value} is not a number; send a finite number")
    metadata = document.get("metadata")
    if isinstance(metadata, dict):
        for key, value in metadata.items():
            if isinstance(value, float) and not math.isfinite(value):
                yield Problem(pointer([*prefix, "metadata", key]), f"{value} is not a number; send a finite number")


def _character_rules(document: Mapping[str, Any], prefix: Prefix) -> Iterator[Problem]:
    # The schemas' patterns name the refused characters of the basic plane;
    # these rules refuse by category, so format characters past it (tags,
    # musical-symbol formatting) are refused as well.
    places: list[tuple[Prefix, Any]] = [((key,), document.get(key)) for key in ("video_url", "timestamp")]
    for at, labels in _label_lists(document):
        places += [((*at, "labels", i, key), label.get(key)) for i, label in enumerate(labels) if isinstance(label, dict) for key in ("id", "name")]
    instances = document.get("instances")
    if isinstance(instances, list):
        places += [(("instances", i, "track"), instance.get("track")) for i, instance in enumerate(instances) if isinstance(instance, dict)]
    metadata = document.get("metadata")
    if isinstance(metadata, dict):
        places += [(("metadata", key), value) for key, value in metadata.items()]
    for where, value in places:
        if _plain(value):
            continue  # nothing any kind of text refuses: skip the per-kind sentence
        if sentence := _character_sentence(where, value):
            yield Problem(pointer([*prefix, *where]), sentence)


def _label_lists(document: Mapping[str, Any]) -> Iterator[tuple[Prefix, list[Any]]]:
    """Each animal's labels with where they sit: the submission's own `labels`, then each instance's."""
    labels = document.get("labels")
    if isinstance(labels, list):
        yield (), labels
    instances = document.get("instances")
    if isinstance(instances, list):
        for i, instance in enumerate(instances):
            if isinstance(instance, dict) and isinstance(instance.get("labels"), list):
                yield ("instances", i), instance["labels"]


def _plain(value: Any) -> bool:
    """Text no rule refuses a character of (printable ASCII without spaces), or no text at all."""
    return not isinstance(value, str) or (value.isascii() and value.isprintable() and " " not in value)


def _url_rules(document: Mapping[str, Any], prefix: Prefix) -> Iterator[Problem]:
    url = document.get("video_url")
    if isinstance(url, str) and refused_character(url, whitespace=True) is None and not _web_address(url):
        yield Problem(pointer([*prefix, "video_url"]), "must be an http or https URL, like https://example.org/mouse.mp4")


def _web_address(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed [ in the host: not a URL at all
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _time_rules(document: Mapping[str, Any], prefix: Prefix) -> Iterator[Problem]:
    stamp = document.get("timestamp")
    if not isinstance(stamp, str) or refused_character(stamp, whitespace=True):
        return
    try:
        parsed = datetime.fromisoformat(stamp)
    except ValueError:
        yield Problem(pointer([*prefix, "timestamp"]), f"{_short(stamp)} is not a real date and time; send ISO-8601 like 2024-01-15T12:34:56Z")
        return
    if parsed.tzinfo is None:
        yield Problem(pointer([*prefix, "timestamp"]), "has no time zone; end it with Z or an offset like +02:00")


def _frame_rules(document: Mapping[str, Any], prefix: Prefix) -> Iterator[Problem]:
    index, total = document.get("frame_index"), document.get("total_frames")
    # The page derives both from a user-editable FPS by rounding, so the last
    # moment of a video can round to total_frames itself: allow equality.
    if _number(index) and _number(total) and not isinstance(index, float) and index > total:
        yield Problem(
            pointer([*prefix, "frame_index"]),
            f"{index} is past the end of the video ({total} frames); check the FPS setting",
        )


def _label_rules(
    labels: Sequence[Any], document: Mapping[str, Any], skeleton: Skeleton, prefix: Prefix, *, stored: bool
) -> Iterator[Problem]:
    size = {"pixel_x": document.get("frame_width"), "pixel_y": document.get("frame_height")}
    # The frame's size is checked once, not once per label and axis.
    limits: dict[str, int | float] = {axis: limit for axis, limit in size.items() if _number(limit)}
    dimension = {"pixel_x": "width", "pixel_y": "height"}
    names = skeleton.names
    known = skeleton.ids
    seen: dict[str, int] = {}
    placed_any = False
    for index, label in enumerate(labels):
        if not isinstance(label, dict):
            continue
        at = (*prefix, "labels", index)
        key = label.get("id")
        if isinstance(key, str) and refused_character(key, whitespace=True) is None:
            if key in seen:
                yield Problem(pointer([*at, "id"]), f"repeats keypoint '{key}' already given at {pointer([*prefix, 'labels', seen[key]])}; send each keypoint once")
            else:
                seen[key] = index
            if key not in known:
                yield Problem(pointer([*at, "id"]), f"'{key[:40]}' is not a keypoint of the {skeleton.name} skeleton; expected one of {', '.join(k.id for k in skeleton.keypoints)}")
            yield from _name_rules(label, names.get(key), skeleton, at, stored=stored)
        placed = label.get("placed")
        for axis in ("pixel_x", "pixel_y"):
            value = label.get(axis)
            if placed is True and value is None and axis in label:
                yield Problem(pointer([*at, axis]), "is null but the keypoint is marked placed; click it on the frame or mark it not placed")
            elif placed is False and value is not None:
                yield Problem(pointer([*at, axis]), "must be null when the keypoint is not placed")
            elif value is not None and (limit := limits.get(axis)) is not None and _number(value) and not 0 <= value <= limit:
                yield Problem(pointer([*at, axis]), f"{value} is outside the frame ({dimension[axis]} {limit})")
        if placed is False and "visible" in label:
            # Hidden or seen only means something for a point that was placed;
            # on an unplaced one it would be a claim with nothing behind it.
            yield Problem(pointer([*at, "visible"]), "applies only to a placed keypoint; remove visible, or place the keypoint and then say whether it is seen")
        if placed is False and "origin" in label:
            # Nothing was accepted or placed: an origin there would count a vote that is not one.
            yield Problem(pointer([*at, "origin"]), "applies only to a placed keypoint; remove origin, or place the keypoint (or accept its suggestion)")
        placed_any = placed_any or (placed is True)
    missing = [k.id for k in skeleton.keypoints if k.id not in seen]
    if missing and seen:
        yield Problem(pointer([*prefix, "labels"]), f"keypoint(s) {', '.join(missing)} missing; send every keypoint of the skeleton, placed or not")
    if labels and not placed_any and all(isinstance(x, dict) for x in labels):
        yield Problem(pointer([*prefix, "labels"]), "no keypoint is placed; place at least one before submitting")


def _instance_rules(
    instances: Sequence[Any], document: Mapping[str, Any], skeleton: Skeleton, allowance: Allowance | None, prefix: Prefix
) -> Iterator[Problem]:
    """Each animal's labels as a single animal's, then what the video allows: how many animals, which tracks, each track once."""
    stored = bool(prefix)
    if "labels" in document:
        return  # the schema already says labels and instances do not mix; which one was meant is the sender's call
    if allowance is not None and len(instances) > allowance.animals:
        allowed = "one animal; send it as labels" if allowance.animals == 1 else f"at most {allowance.animals} animals; label the {allowance.animals} clearest"
        yield Problem(pointer([*prefix, "instances"]), f"has {len(instances)} animals but this video allows {allowed}")
    first: dict[str, int] = {}
    for i, instance in enumerate(instances):
        if not isinstance(instance, dict):
            continue
        at = (*prefix, "instances", i)
        labels = instance.get("labels")
        if isinstance(labels, list):
            yield from _label_rules(labels, document, skeleton, at, stored=stored)
        track = instance.get("track")
        if not isinstance(track, str) or refused_character(track, whitespace=True) is not None:
            continue
        if track in first:
            yield Problem(pointer([*at, "track"]), f"repeats track '{track[:40]}' already given at {pointer([*prefix, 'instances', first[track], 'track'])}; give each animal its own track")
            continue
        first[track] = i
        if allowance is None:
            continue
        if not allowance.tracks:
            yield Problem(pointer([*at, "track"]), "this video names no tracks; leave track out")
        elif track not in allowance.tracks:
            yield Problem(pointer([*at, "track"]), f"'{track[:40]}' is not a track of this video; expected one of {', '.join(allowance.tracks)}")


def _name_rules(label: Mapping[str, Any], expected: str | None, skeleton: Skeleton, at: Prefix, *, stored: bool) -> Iterator[Problem]:
    # A label's name is the skeleton's, never the volunteer's own words: it is
    # shown to maintainers, so only text the operator chose may reach them.
    if expected is None:
        return
    name = label.get("name")
    if "name" not in label and stored:
        yield Problem(pointer([*at, "name"]), f"is missing; a stored record names each keypoint as the skeleton does ('{expected}')")
    elif isinstance(name, str) and name != expected and refused_character(name) is None:
        yield Problem(pointer([*at, "name"]), f"must be '{expected}', the {skeleton.name} skeleton's name for {label['id']}; send that or leave name out")


def fill_names(submission: Mapping[str, Any], skeleton: Skeleton) -> dict[str, Any]:
    """The submission with each label that leaves out its name given the skeleton's; the input is not changed.

    Call it on a submission that passed validation, before building its
    record: the record (and so its id) holds the names, whether the page sent
    them or not.
    """
    names = skeleton.names
    filled = dict(submission)
    if "labels" not in submission:
        filled["instances"] = [{**instance, "labels": _named(instance["labels"], names)} for instance in submission["instances"]]
        return filled
    filled["labels"] = [
        label if "name" in label else {**label, "name": names[label["id"]]}
        for label in submission["labels"]
    ]
    return filled


def _named(labels: Sequence[Mapping[str, Any]], names: Mapping[str, str]) -> list[Any]:
    return [label if "name" in label else {**label, "name": names[label["id"]]} for label in labels]


def _identity_rules(document: Mapping[str, Any], filename: str | None) -> Iterator[Problem]:
    receipt, submission = document["receipt"], document["submission"]
    expected = records.record_id(submission, receipt["submitter"])
    if receipt["id"] != expected:
        yield Problem("/receipt/id", f"does not match the record's content (expected {expected}); the record was edited after it was received")
        return
    if filename is None:
        return
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    if name != f"{expected}.json":
        yield Problem("", f"the file is named {name[:80]} but its id is {expected}; name it {expected}.json")
        return
    marker = filename.replace("\\", "/").rfind(records.ANNOTATIONS_DIR + "/")
    if marker != -1 and (marker == 0 or filename[marker - 1] in "/\\"):
        stored_at = filename.replace("\\", "/")[marker:]
        # Records stored before the deeper layout stay valid where they are.
        belongs = records.record_paths(expected, submission["video_url"])
        if stored_at not in belongs:
            yield Problem("", f"the file is stored at {stored_at[:120]} but belongs at {belongs[0]} (or, stored before that layout, {belongs[1]})")
