"""The decision log as the API serves it."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from schemas.evaluation import EvaluationSchema, timestamp
from schemas.fields import Verbatim
from schemas.vocabulary import RATINGS, RECOMMENDATIONS


class DecisionQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    since = fields.AwareDateTime(metadata={"description": "ISO 8601 with a time zone."})
    until = fields.AwareDateTime()
    ruleset_version = fields.String(validate=validate.Length(max=64))
    rating = fields.String(validate=validate.OneOf(RATINGS))
    caller = fields.String(validate=validate.Length(max=200),
                           metadata={"description": "The API key name that asked."})
    # a Redis stream id: two unsigned 64-bit numbers (19 digits always fit)
    cursor = fields.String(validate=validate.Regexp(r"^\d{1,19}-\d{1,19}$"),
                           metadata={"description": "`next_cursor` of the previous page."})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class DecisionSchema(Schema):
    log_id = fields.String(required=True, metadata={"description": "Position in the log."})
    evaluation_id = fields.String(required=True)
    batch_id = fields.String()
    decision_id = fields.String(required=True)
    time = timestamp(required=True)
    caller = fields.String(required=True)
    input_hash = fields.String(required=True)
    input = fields.Dict(required=True, metadata={
        "description": "The proposal as sent, fields of DECISION_LOG_MASK shown as ***."})
    ruleset_version = fields.String(required=True)
    ruleset_hash = fields.String(required=True)
    rating = fields.String(required=True, validate=validate.OneOf(RATINGS))
    recommendation = fields.String(required=True, validate=validate.OneOf(RECOMMENDATIONS))
    overall_score = fields.Float(required=True)
    result = Verbatim(EvaluationSchema, required=True)


class DecisionPageSchema(Schema):
    decisions = fields.List(fields.Nested(DecisionSchema), required=True)
    next_cursor = fields.String(required=True, allow_none=True)
