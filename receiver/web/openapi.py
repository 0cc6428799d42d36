"""The OpenAPI 3.1 document, generated from the schema files so it cannot drift from them.

Schemas are copied in from `schemas/` with their `$defs` hoisted into
`components/schemas` and references rewritten to point there; nothing about a
submission's structure is written in this module.
"""

from __future__ import annotations

import copy
from typing import Any

from receiver.contract.schemas import RECORD, SUBMISSION, load_schema

__all__ = ["openapi_document"]


def _component(schema: dict[str, Any], components: dict[str, Any], refs: dict[str, str]) -> dict[str, Any]:
    schema = copy.deepcopy(schema)
    for key in ("$schema", "$id"):
        schema.pop(key, None)
    for name, definition in schema.pop("$defs", {}).items():
        components[name.capitalize()] = _rewrite(definition, refs)
    rewritten: dict[str, Any] = _rewrite(schema, refs)
    return rewritten


def _rewrite(node: Any, refs: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: (refs.get(v, v) if k == "$ref" else _rewrite(v, refs)) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite(item, refs) for item in node]
    return node


def _message(description: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {"message": {"type": "string", "description": "A sentence for the volunteer."}}
    properties.update(extra or {})
    return {"description": description, "content": {"application/json": {"schema": {"type": "object", "properties": properties}}}}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


#: The volunteer session the receiver issued (POST /api/sessions), sent with each request of the labeling page.
SESSION_PARAMETER = {
    "name": "X-Volunteer-Session",
    "in": "header",
    "description": "The session POST /api/sessions issued; the receiver never takes identity from anything else.",
    "schema": {"type": "string", "maxLength": 200},
}


#: A frame's model prediction as next-frame hands it out (imported by `receiver predictions import`), shown as suggestions.
PREDICTION = {
    "type": "object",
    "description": "Present only on a frame with an imported prediction: the model's version and, per keypoint id, its point and score or null.",
    "required": ["model", "keypoints"],
    "properties": {
        "model": {"type": "string", "description": "The model version; the page sends it back as metadata.model."},
        "keypoints": {
            "type": "object",
            "additionalProperties": {
                "anyOf": [
                    {"type": "object", "required": ["x", "y"], "properties": {"x": {"type": "number"}, "y": {"type": "number"}, "score": {"type": ["number", "null"]}}},
                    {"type": "null"},
                ]
            },
        },
    },
}


#: What a handed-out frame says about its animals: the page sends `instances` when more than one is allowed.
ANIMALS = {
    "animals": {"type": "integer", "minimum": 1, "description": "How many animals this frame's video allows (absent: 1): 1 sends labels, more may send instances."},
    "tracks": {"type": "array", "items": {"type": "string"}, "description": "Present when the video names tracks: the identities an instance's track may take, each once per frame."},
}


def _volunteer_paths() -> dict[str, Any]:
    """sessions, next-frame, progress, frames and review (receiver/web/sessions.py, frame_api.py); 404 when no videos are configured."""
    volunteer = {
        "name": "volunteer",
        "in": "query",
        "description": "Without a session: an id to keep frames apart (not an identity; its frames come without leases).",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"},
    }
    video = {"name": "video", "in": "query", "schema": {"type": "string", "maxLength": 2048}}
    refused = _error("The session is not one this receiver issued, or it expired: ask POST /api/sessions for a new one.")
    return {
        "/api/sessions": {
            "post": {
                "summary": "A new volunteer session: an opaque signed token and its public pseudonym",
                "operationId": "createSession",
                "responses": {
                    "201": _message(
                        "The session, to send as X-Volunteer-Session with every request.",
                        {"session": {"type": "string"}, "pseudonym": {"type": "string", "pattern": "^v-[a-z2-7]{10}$"}, "expires_in": {"type": "integer"}},
                    ),
                    "429": _error("Too many new sessions from this client's network; see Retry-After."),
                    "503": _error("The receiver is starting; see Retry-After."),
                },
            }
        },
        "/api/next-frame": {
            "get": {
                "summary": "The frame(s) this volunteer should label next, each leased to their session: not retired, not labelled by them, fewest agreeing labels first",
                "operationId": "nextFrame",
                "parameters": [SESSION_PARAMETER, volunteer, {"name": "count", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10}}, video],
                "responses": {
                    "200": _message(
                        "The frame to label (frame_index null when none is left for this volunteer); with a session each frame carries its lease.",
                        {
                            "frames": {
                                "type": "array",
                                "items": {"type": "object", "properties": {"lease": {"type": "string"}, "prediction": PREDICTION, **ANIMALS}},
                            },
                            "prediction": PREDICTION,
                            **ANIMALS,
                        },
                    ),
                    "400": _error("Neither a session nor a volunteer id was sent, or the id or count is invalid."),
                    "401": refused,
                    "404": _error("No videos are configured, or the video is not one of them."),
                },
            }
        },
        "/api/progress": {
            "get": {
                "summary": "Frames retired, in progress, untouched and reopened per video; the volunteer's count",
                "operationId": "progress",
                "parameters": [SESSION_PARAMETER, volunteer, video],
                "responses": {
                    "200": _message("Progress."),
                    "400": _error("The volunteer id is invalid."),
                    "401": refused,
                    "404": _error("No videos are configured, or the video is not one of them."),
                },
            }
        },
        "/api/frames/{video}/{index}": {
            "get": {
                "summary": "One frame decoded by the receiver, as an image sized as the video (a video's frame_url names it)",
                "operationId": "frameImage",
                "parameters": [
                    {"name": "video", "in": "path", "required": True, "description": "The video's id: the first 16 hex digits of the SHA-256 of its URL.",
                     "schema": {"type": "string", "pattern": "^[0-9a-f]{16}$"}},
                    {"name": "index", "in": "path", "required": True, "description": "The frame's place in the video's frame table, from 0.",
                     "schema": {"type": "integer", "minimum": 0, "maximum": 999999999}},
                    {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["jpeg", "png", "webp"], "default": "jpeg"}},
                ],
                "responses": {
                    "200": {
                        "description": "The frame, exactly as the decoder presents it at that place in the frame table.",
                        "content": {kind: {"schema": {"type": "string", "format": "binary"}} for kind in ("image/jpeg", "image/png", "image/webp")},
                    },
                    "400": _error("The index is not a whole number, or the format is not jpeg, png or webp."),
                    "404": _error("No video with this id has decoded frames here, or the index is past its last frame."),
                },
            }
        },
        "/api/review/{id}": {
            "get": {
                "summary": "One record with the other labels of its frame and their consensus",
                "operationId": "review",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}],
                "responses": {"200": _message("The record and its frame."), "404": _error("No submission has this id.")},
            }
        },
    }


def openapi_document(version: str) -> dict[str, Any]:
    """The receiver's API description, for /openapi.json, /docs and API fuzzers."""
    refs = {
        "#/$defs/label": "#/components/schemas/Label",
        "#/$defs/instance": "#/components/schemas/Instance",
        "submission.schema.json": "#/components/schemas/Submission",
    }
    components: dict[str, Any] = {}
    components["Submission"] = _component(load_schema(SUBMISSION), components, refs)
    components["Record"] = _component(load_schema(RECORD), components, refs)
    components["Error"] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string", "description": "What was wrong and what to do, in one sentence."},
            "details": {"type": "array", "items": {"type": "string"}},
            "problems": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"pointer": {"type": "string"}, "message": {"type": "string"}},
                },
            },
        },
    }
    accepted = {
        "id": {"type": "string"},
        "status": {"type": "string"},
        "status_url": {"type": "string"},
        "assigned": {"type": "boolean", "description": "With a session: whether the frame was leased to it (only then does the label count toward retirement)."},
    }
    lease = {
        "name": "X-Volunteer-Lease",
        "in": "header",
        "description": "The lease next-frame gave this session for the frame the labels are of.",
        "schema": {"type": "string", "maxLength": 200},
    }
    submit = {
        "summary": "Submit the labels of one video frame",
        "description": (
            "No token is needed from an allowed origin (public mode); a bearer token names the submitter. A volunteer"
            " session (X-Volunteer-Session) names the volunteer, and the frame's lease (X-Volunteer-Lease) makes the label count."
        ),
        "parameters": [SESSION_PARAMETER, lease],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Submission"}}}},
        "responses": {
            "202": _message("Kept in the journal; delivery to the repository follows.", accepted),
            "200": _message("Already received: the existing record.", accepted),
            "400": _error("The body is not JSON."),
            "401": _error("The Authorization header is malformed, a token is required, or the volunteer session is not one this receiver issued."),
            "403": _error("The token is not known."),
            "413": _error("The body is too large."),
            "415": _error("The body is not sent as application/json."),
            "422": _error("The labels break a rule; every problem is listed."),
            "429": _error("Too many submissions from this client; see Retry-After."),
            "503": _error("The receiver cannot keep submissions right now; see Retry-After."),
        },
        "security": [{}, {"bearer": []}],
    }
    listing = {
        "summary": "List received annotations, oldest first",
        "parameters": [
            {"name": "video_url", "in": "query", "schema": {"type": "string", "maxLength": 2048}},
            {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000000}},
            {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
        ],
        "responses": {"200": _message("One page of annotations."), "400": _error("A query parameter is invalid.")},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Pose annotation receiver", "version": version},
        "paths": {
            "/api/labels": {"post": {**submit, "operationId": "submitLabels"}},
            "/api/annotations": {"post": {**submit, "operationId": "submitAnnotations"}, "get": {**listing, "operationId": "listAnnotations"}},
            "/api/submissions/{id}": {
                "get": {
                    "summary": "The state of one submission: queued, delivered or failed",
                    "operationId": "getSubmission",
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}],
                    "responses": {
                        "200": _message(
                            "The submission's state; with a session, its pseudonym and whether it was assigned.",
                            {"volunteer": {"type": "string"}, "assigned": {"type": "boolean"}},
                        ),
                        "404": _error("No submission has this id."),
                    },
                }
            },
            "/health": {"get": {"summary": "Journal backlog and store state", "operationId": "health", "responses": {"200": _message("Health.")}}},
            **_volunteer_paths(),
            "/api/skeleton": {
                "get": {
                    "summary": "The keypoints to place, in order (id and name), and the skeleton's edges, as the labeling page reads them",
                    "operationId": "skeleton",
                    "responses": {"200": _message("The skeleton.", {"keypoints": {"type": "array"}, "edges": {"type": "array"}})},
                }
            },
        },
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
