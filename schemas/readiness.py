"""The body of ``GET /readyz`` (a 503 answers problem+json with the same ``checks``)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class ReadinessCheckSchema(Schema):
    name = fields.String(required=True, validate=validate.OneOf(("redis", "workers", "worker")),
                         metadata={"description": "`redis` and `workers` with Redis; `worker` "
                                                  "(the in-process one) when embedded."})
    ok = fields.Boolean(required=True)
    detail = fields.String(required=True)


class ReadinessSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(("ready",)))
    checks = fields.List(fields.Nested(ReadinessCheckSchema), required=True)
