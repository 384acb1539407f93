"""RFC 9457 problem details: the one shape of every error the API returns.

A client handles one error format, whatever failed (routing, JSON, validation, the broker), and
a validation problem lists every offending field by its dotted path (``acquisition.quantity``,
``capabilities.datalinks.1``) so a client can point at it without parsing prose.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, fields

from schemas.readiness import ReadinessCheckSchema

ROOT = "$"  # the path of the document itself (e.g. an array sent where an object belongs)


class FieldErrorSchema(Schema):
    field = fields.String(
        required=True,
        metadata={"description": "Dotted path of the offending field, list indexes included "
                                 f"(`capabilities.datalinks.1`); `{ROOT}` is the whole body.",
                  "example": "acquisition.quantity"},
    )
    message = fields.String(required=True, metadata={"example": "Missing data for required field."})
    location = fields.String(
        metadata={"description": "Where the field is: body, query or header.", "example": "body"}
    )


class RuleProblemSchema(Schema):
    file = fields.String(required=True)
    line = fields.Integer(required=True)
    col = fields.Integer(required=True)
    rule_id = fields.String(required=True)
    message = fields.String(required=True)
    hint = fields.String(required=True)
    text = fields.String(required=True, metadata={
        "description": "As `policy-eval rules check` prints it: file:line:col: rule-id: "
                       "message (hint)"})


class ProblemSchema(Schema):
    """``application/problem+json`` (RFC 9457), with ``errors`` as an extension member."""

    type = fields.String(
        required=True,
        metadata={"description": "URI identifying the problem type; `about:blank` when the "
                                 "HTTP status says it all."},
    )
    title = fields.String(required=True, metadata={"example": "Invalid proposal"})
    status = fields.Integer(required=True, metadata={"example": 422})
    detail = fields.String(metadata={"description": "What went wrong in this occurrence."})
    instance = fields.String(metadata={"description": "The request path that failed."})
    errors = fields.List(fields.Nested(FieldErrorSchema),
                         metadata={"description": "One entry per offending field and message."})
    evaluation_id = fields.String(metadata={"description": "The evaluation this problem is about."})
    problems = fields.List(fields.Nested(RuleProblemSchema),
                           metadata={"description": "For a ruleset that does not load: every "
                                                    "problem, with file, line and rule."})
    line = fields.Integer(metadata={"description": "For an unreadable batch upload: the line "
                                                   "where reading stopped, when known."})
    checks = fields.List(fields.Nested(ReadinessCheckSchema),
                         metadata={"description": "For `/problems/not-ready`: each check and "
                                                  "whether it passed."})
    stored_hash = fields.String(metadata={"description": "For a version published again with "
                                                         "other content: the published hash."})
    new_hash = fields.String(metadata={"description": "For a version published again with "
                                                      "other content: the hash sent."})


def field_errors(messages: Any, location: str | None = None) -> list[dict[str, str]]:
    """Flatten marshmallow's nested messages into ``[{field, message}]``, one per message.

    ``_schema`` (an error about a whole object) is reported at the object's own path, so
    ``{"acquisition": {"_schema": [...]}}`` names ``acquisition``.
    """
    found: list[dict[str, str]] = []

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                walk(value, path if key == "_schema" else (*path, str(key)))
        elif isinstance(node, (list, tuple)):
            for item in node:
                walk(item, path)
        else:
            entry = {"field": ".".join(path) or ROOT, "message": str(node)}
            if location is not None:
                entry["location"] = location
            found.append(entry)

    walk(messages, ())
    return found


class ProblemTypeSchema(Schema):
    """What a problem ``type`` URI of this API means."""

    type = fields.String(required=True, metadata={"example": "/problems/invalid-proposal"})
    title = fields.String(required=True)
    description = fields.String(required=True)
