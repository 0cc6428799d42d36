"""The fast intake: a posted body decoded straight into typed Structs, checked in one pass, and its record's bytes.

The submit path's common case (a page's JSON, every keypoint once, printable
ASCII text) costs one msgspec decode into Structs whose constraints are read
from `schemas/submission.schema.json`, one pass over the Structs for the rules
a schema cannot say (the same rules as `receiver.contract.validation`), and
one sorted msgspec encoding each for the id and for the stored bytes.

It only ever says "accepted, here is the record" or "not mine": anything it
cannot decode, any constraint or rule it does not pass, any text it would have
to look at character by character, goes to the full path (`parse_json`, then
`Validator.check_submission`, then `Record.create`), which writes every
refusal's status, pointer and sentence. So it never refuses anything itself,
and what it accepts gives the bytes, id and path `Record.create` gives
(tests/contract/test_decoding_differential.py holds it to both).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, Union

import msgspec

from receiver.contract.records import Record, format_time
from receiver.contract.schemas import SUBMISSION, Skeleton, load_schema
from receiver.contract.validation import Allowance, Validator, refused_character
from receiver.contract.validation import _web_address as _judged_url

__all__ = ["Decoded", "SubmissionDecoder", "UnsupportedSchema", "struct_type"]


class UnsupportedSchema(ValueError):
    """The schema uses a keyword this module cannot turn into a Struct constraint; the fast intake is then off."""


#: Where a key can end in the text: every key of a document ends so (and text inside strings may too).
_KEY_END = re.compile(rb'"[ \t\r\n]*:')

_BOUNDS = {"minimum": "ge", "maximum": "le", "exclusiveMinimum": "gt", "exclusiveMaximum": "lt"}
#: Keywords that only describe: they constrain nothing.
_NOTES = frozenset({"description", "title", "$comment", "examples"})
#: What `struct_type` turns into a type or a constraint; any other keyword in a node makes the schema unsupported.
_UNDERSTOOD = frozenset({
    "type", "enum", "$ref", "items", "properties", "required", "additionalProperties", "propertyNames", "pattern",
    "minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties", *_BOUNDS, *_NOTES,
})
#: The top level's keywords the one pass checks itself (the labels/instances alternatives), or that are no constraint.
_TOP_LEVEL = frozenset({"$schema", "$id", "$defs", "anyOf", "not"})
#: The one object whose named properties sit beside additional ones: the one pass checks those names (`model`).
_NAMED_BESIDE_ADDITIONAL = "Metadata"


def _strict_end(pattern: str) -> str:
    # ECMA-262's `$` ends the string; Python's also matches before a final line break (as validation.py says).
    return re.sub(r"(?<!\\)\$", r"\\Z", pattern)


def _meta(node: Mapping[str, Any], *, lengths: tuple[str, str] | None = None) -> msgspec.Meta | None:
    options: dict[str, Any] = {}
    for keyword, option in _BOUNDS.items():
        if keyword in node:
            options[option] = node[keyword]
    if lengths is not None:
        low, high = lengths
        if low in node:
            options["min_length"] = node[low]
        if high in node:
            options["max_length"] = node[high]
    if "pattern" in node:
        options["pattern"] = _strict_end(node["pattern"])
    return msgspec.Meta(**options) if options else None


def _annotated(base: Any, meta: msgspec.Meta | None) -> Any:
    return base if meta is None else Annotated[base, meta]


def struct_type(node: Mapping[str, Any], defs: Mapping[str, Any], name: str = "Submission") -> Any:
    """The msgspec type that accepts what `node` (a JSON Schema) accepts, for the keywords our schemas use.

    Objects with fixed properties become Structs that refuse unknown fields;
    what a Struct cannot say (the top level's anyOf/not, an object's named
    properties beside its additional ones) is left to the one pass of
    `SubmissionDecoder`, which knows to check it. Anything else raises `UnsupportedSchema`.
    """
    unknown = set(node) - _UNDERSTOOD
    if unknown:
        raise UnsupportedSchema(f"keyword(s) {', '.join(sorted(unknown))} in {name}")
    if "$ref" in node:
        if set(node) - {"$ref", *_NOTES}:
            raise UnsupportedSchema(f"keywords beside a reference in {name}")
        reference = node["$ref"]
        if not reference.startswith("#/$defs/"):
            raise UnsupportedSchema(f"reference {reference}")
        target = reference.removeprefix("#/$defs/")
        return struct_type(defs[target], defs, target.capitalize())
    if "enum" in node:
        values = node["enum"]
        if not all(isinstance(value, str) for value in values):
            raise UnsupportedSchema("an enum of other values than strings")
        return Literal[tuple(values)]
    kind = node.get("type")
    if isinstance(kind, list):
        return Union[tuple(struct_type({**node, "type": one}, defs, name) for one in kind)]  # noqa: UP007 - built at run time
    if kind == "string":
        return _annotated(str, _meta(node, lengths=("minLength", "maxLength")))
    if kind == "integer":
        return _annotated(int, _meta(node))
    if kind == "number":
        # A float field takes JSON integers too; the one pass writes integral values back as integers (`canonical`).
        return _annotated(float, _meta(node))
    if kind == "boolean":
        return bool
    if kind == "null":
        return None
    if kind == "array":
        return _annotated(list[struct_type(node["items"], defs, name)], _meta(node, lengths=("minItems", "maxItems")))  # type: ignore[misc]
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        if node.get("properties") and name != _NAMED_BESIDE_ADDITIONAL:
            raise UnsupportedSchema(f"named properties beside additional ones in {name}")
        if set(node.get("additionalProperties", {})) - _UNDERSTOOD - {"anyOf"}:
            raise UnsupportedSchema(f"additional properties of {name}")
        keys = node.get("propertyNames", {"type": "string"})
        values = node["additionalProperties"]
        value = Union[tuple(struct_type(one, defs, name) for one in values["anyOf"])] if "anyOf" in values else struct_type(values, defs, name)  # noqa: UP007
        return _annotated(dict[struct_type(keys, defs, name), value], _meta(node, lengths=("minProperties", "maxProperties")))  # type: ignore[misc]
    if kind == "object" and node.get("additionalProperties") is False:
        required = set(node.get("required", ()))
        fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
        for field, schema in node["properties"].items():
            typed = struct_type(schema, defs, field.capitalize())
            fields.append((field, typed) if field in required else (field, Union[typed, msgspec.UnsetType], msgspec.UNSET))  # noqa: UP007
        # Required fields first: a Struct's fields without a default come before those with one.
        fields.sort(key=lambda item: len(item) == 3)
        return msgspec.defstruct(name, fields, forbid_unknown_fields=True)
    raise UnsupportedSchema(f"a node of type {kind!r}")


def _known(node: Mapping[str, Any]) -> None:
    """Refuse a schema whose top level says something the Structs and the one pass do not check."""
    understood = {"$schema", "$id", "type", "required", "anyOf", "not", "additionalProperties", "properties", "$defs", *_NOTES}
    unknown = set(node) - understood
    if unknown:
        raise UnsupportedSchema(f"top-level keyword(s) {', '.join(sorted(unknown))}")
    if node.get("anyOf") != [{"required": ["labels"]}, {"required": ["instances"]}] or node.get("not") != {"required": ["labels", "instances"]}:
        raise UnsupportedSchema("the labels/instances alternatives changed")


def _key_endings(body: bytes) -> int:
    """How many places in the text a key could end: a quote, JSON whitespace, a colon (at least one per key written)."""
    if b'" ' in body or b'"\n' in body or b'"\t' in body or b'"\r' in body:
        return len(_KEY_END.findall(body))
    # No quote is followed by whitespace, so every key written ends in `":` (a page's compact JSON: far cheaper to count).
    return body.count(b'":')


def _implied_by_skeleton(defs: Mapping[str, Any], skeleton: Skeleton) -> dict[str, Any]:
    """The definitions without the label id's and name's patterns when every skeleton id and name meets them.

    The one pass takes only a skeleton id, and only its name (or none, then filling it in), so
    those patterns could never refuse what it accepts: matching them for every label is time spent for nothing.
    """
    label = defs.get("label", {}).get("properties", {})
    trimmed = {**defs}
    properties = dict(label)
    for field, values in (("id", [k.id for k in skeleton.keypoints]), ("name", [k.name for k in skeleton.keypoints])):
        node = label.get(field)
        if node is None or set(node) - {"type", "pattern", "minLength", "maxLength", *_NOTES} or node.get("type") != "string":
            continue
        try:
            msgspec.convert(values, list[struct_type(node, defs, field)])  # type: ignore[misc]
        except msgspec.ValidationError:
            continue
        properties[field] = {"type": "string"}
    if label:
        trimmed["label"] = {**defs["label"], "properties": properties}
    return trimmed


@functools.lru_cache(maxsize=1024)
def _web_address(url: str) -> bool:
    # A campaign has few videos: each URL is judged once, by the rules' own test.
    return _judged_url(url)


def _zoned(stamp: str) -> bool:
    try:
        return datetime.fromisoformat(stamp).tzinfo is not None
    except ValueError:
        return False


class Decoded:
    """A submission the fast intake accepted: its Struct, names filled and numbers canonical, and its two fields a lease needs."""

    __slots__ = ("submission", "video_url", "frame_index", "_decoder")

    def __init__(self, submission: Any, decoder: SubmissionDecoder) -> None:
        self.submission = submission
        self.video_url: str = submission.video_url
        self.frame_index: int = submission.frame_index
        self._decoder = decoder

    def document(self) -> dict[str, Any]:
        """The submission as plain values, as `fill_names` would give it."""
        document: dict[str, Any] = msgspec.to_builtins(self.submission)
        return document

    def record(
        self, *, submitter: str, received_at: datetime, receiver_version: str, volunteer: str | None = None, assigned: bool = False
    ) -> Record:
        """The record `Record.create` would build, its id and stored bytes written by msgspec."""
        encode = self._decoder.encode
        identity = encode({"submission": self.submission, "submitter": submitter})
        if b"e-" in identity or b"0.0000" in identity:
            # Floats under 1e-4: the id's definition is the standard library's writing of them (records._sorted_json).
            return Record.create(self.document(), submitter=submitter, received_at=received_at,
                                 receiver_version=receiver_version, volunteer=volunteer, assigned=assigned)
        identifier = hashlib.sha256(identity).hexdigest()[:32]
        receipt: dict[str, Any] = {"id": identifier, "received_at": format_time(received_at), "submitter": submitter, "receiver_version": receiver_version}
        if volunteer is not None:
            receipt["volunteer"], receipt["assigned"] = volunteer, bool(assigned)
        stored = msgspec.json.format(encode({"receipt": receipt, "submission": self.submission}), indent=2) + b"\n"
        record = Record(
            id=identifier,
            submission=self.document(),
            submitter=submitter,
            received_at=receipt["received_at"],
            receiver_version=receiver_version,
            volunteer=volunteer,
            assigned=None if volunteer is None else assigned,
        )
        record.__dict__["_encoded"] = stored  # what Record.to_bytes gives: the same bytes orjson would write
        return record


class SubmissionDecoder:
    """Decodes and checks a posted body in one pass; `decode` says None for anything the full path must judge."""

    def __init__(self, validator: Validator, schema: Mapping[str, Any] | None = None) -> None:
        schema = load_schema(SUBMISSION) if schema is None else schema
        _known(schema)
        skeleton = validator.skeleton
        top = {key: value for key, value in schema.items() if key not in _TOP_LEVEL}
        self._type = struct_type(top, _implied_by_skeleton(schema.get("$defs", {}), skeleton))
        self._decoder = msgspec.json.Decoder(self._type)
        self.encode = msgspec.json.Encoder(order="sorted").encode
        self._allowance_of = validator.allowance_of
        self._names = dict(skeleton.names)
        # A skeleton name the rules would refuse a character of: a label sending it goes to the full path.
        self._clean_names = {key for key, name in self._names.items() if refused_character(name) is None}
        metadata = schema["properties"].get("metadata", {})
        defs = schema.get("$defs", {})
        # Named metadata fields (model) are one type among the additional ones to the Struct; their own constraints are checked here.
        self._metadata_fields = {key: struct_type(node, defs, key) for key, node in metadata.get("properties", {}).items()}

    def decode(self, body: bytes) -> Decoded | None:
        """The accepted submission, or None: the full path then decides (and writes the refusal, if any)."""
        try:
            submission = self._decoder.decode(body)
        except msgspec.MsgspecError:
            return None
        keys = self._check(submission)
        if keys is None or _key_endings(body) != keys:
            # msgspec keeps the last of a repeated key, where the full path refuses the document. The text
            # has a key ending for every key written, so as many endings as keys kept means none repeated.
            return None
        return Decoded(submission, self)

    def _check(self, s: Any) -> int | None:
        """The number of keys the Structs hold when every rule passes (canonicalising numbers on the way), else None."""
        unset = msgspec.UNSET
        url, stamp = s.video_url, s.timestamp
        # The schema's patterns leave no control or space in ASCII text; past ASCII, the rules' own test by category.
        if not url.isascii() and refused_character(url, whitespace=True) is not None:
            return None
        if not (stamp.isascii() and _web_address(url) and _zoned(stamp)):
            return None
        index = s.frame_index
        if index > s.total_frames:
            return None
        if type(s.fps) is float and s.fps.is_integer():
            s.fps = int(s.fps)
        keys = 7
        metadata = s.metadata
        if metadata is not unset:
            keys += 1 + len(metadata)
            for key, value in metadata.items():
                if type(value) is str:
                    if not value.isascii() and refused_character(value) is not None:
                        return None
                elif type(value) is float and value.is_integer():
                    metadata[key] = int(value)
                if key in self._metadata_fields:
                    try:
                        msgspec.convert(value, self._metadata_fields[key])
                    except msgspec.ValidationError:
                        return None
        labels, instances = s.labels, s.instances
        width, height = s.frame_width, s.frame_height
        if labels is not unset:
            if instances is not unset:
                return None
            counted = self._labels(labels, width, height)
            return None if counted is None else keys + 1 + counted
        if instances is unset:
            return None
        allowance: Allowance | None = self._allowance_of(url)
        if allowance is not None and len(instances) > allowance.animals:
            return None
        keys += 1
        tracks: set[str] = set()
        for instance in instances:
            track = instance.track
            keys += 1
            if track is not unset:
                if (allowance is not None and track not in allowance.tracks) or track in tracks:
                    return None
                tracks.add(track)
                keys += 1
            counted = self._labels(instance.labels, width, height)
            if counted is None:
                return None
            keys += counted
        return keys

    def _labels(self, labels: list[Any], width: int, height: int) -> int | None:
        """One animal's labels: every keypoint once, names the skeleton's, placed ones inside the frame, one placed at least."""
        names = self._names
        if len(labels) != len(names):
            return None
        unset = msgspec.UNSET
        seen: set[str] = set()
        placed_any = False
        keys = 0
        for label in labels:
            key = label.id
            if key not in names or key in seen:
                return None
            seen.add(key)
            keys += 4
            if label.name is unset:
                label.name = names[key]
            elif label.name != names[key] or key not in self._clean_names:
                return None
            else:
                keys += 1
            x, y = label.pixel_x, label.pixel_y
            if label.placed:
                if x is None or y is None or x > width or y > height:
                    return None
                if type(x) is float and x.is_integer():
                    label.pixel_x = int(x)
                if type(y) is float and y.is_integer():
                    label.pixel_y = int(y)
                placed_any = True
            elif x is not None or y is not None or label.visible is not unset or label.origin is not unset:
                return None
            keys += (label.visible is not unset) + (label.origin is not unset)
        return keys if placed_any else None
