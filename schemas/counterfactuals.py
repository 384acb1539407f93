"""The ``counterfactuals`` of an evaluation with ``explain=full``: what would it take to reach the
next band, a better recommendation, or lift a deficiency cap. Each option is verified: its
``result`` is the evaluation of the changed proposal."""

from __future__ import annotations

from marshmallow import Schema, fields

from schemas.fields import one_of
from schemas.vocabulary import RATINGS, RECOMMENDATIONS


class ProposalChangeSchema(Schema):
    field = fields.String(required=True, metadata={"description": "A dotted path into the "
                                                                  "proposal as submitted.",
                                                   "example": "capabilities.datalinks"})
    from_ = fields.Raw(required=True, allow_none=True, attribute="from", data_key="from", metadata={
        "description": "The value before (null when the field was absent)."})
    to = fields.Raw(required=True, allow_none=True, metadata={
        "description": "The value after (null when the change leaves the field out)."})


class ChangedResultSchema(Schema):
    overall_score = fields.Float(required=True)
    rating = one_of(RATINGS, required=True)
    recommendation = one_of(RECOMMENDATIONS, required=True)
    capped_by = fields.List(fields.String(), required=True)


class OptionSchema(Schema):
    changes = fields.List(fields.Nested(ProposalChangeSchema), required=True)
    result = fields.Nested(ChangedResultSchema, required=True, metadata={
        "description": "The evaluation of the changed proposal."})
    rules_gained = fields.List(fields.String(), required=True)
    rules_lost = fields.List(fields.String(), required=True)
    caps_remaining = fields.List(fields.String(), required=True, metadata={
        "description": "Deficiency rules that would still cap the recommendation."})
    sentence = fields.String(required=True)


class NextBandSchema(Schema):
    rating = one_of(RATINGS, required=True)
    min_score = fields.Float(required=True)
    gap = fields.Float(required=True, metadata={"description": "Points of overall score short."})


class CapSchema(Schema):
    rule_id = fields.String(required=True)
    removed_by = fields.List(fields.Nested(OptionSchema), required=True)


class WhyNotSchema(Schema):
    rule_id = fields.String(required=True)
    criterion = fields.String(required=True)
    title = fields.String(required=True)
    kind = one_of(("bonus", "penalty"), required=True, metadata={
        "description": "A bonus not earned, or a penalty taken."})
    points = fields.Float(required=True, metadata={"description": "The points at stake."})
    change = fields.List(fields.Nested(ProposalChangeSchema), required=True, allow_none=True,
                         metadata={"description": "The smallest single change that turns "
                                                  "the rule; null when none does."})
    result = fields.Nested(ChangedResultSchema, required=True, allow_none=True)
    sentence = fields.String(required=True)


class SearchedSchema(Schema):
    single_field = fields.Integer(required=True)
    pairs = fields.Integer(required=True)
    ms = fields.Float(required=True)


class CounterfactualsSchema(Schema):
    next_band = fields.Nested(NextBandSchema, required=True, allow_none=True, metadata={
        "description": "Null when already in the top band."})
    options = fields.List(fields.Nested(OptionSchema), required=True)
    caps = fields.List(fields.Nested(CapSchema), required=True)
    reason = fields.String(required=True, allow_none=True, metadata={
        "description": "Why there is no option (null when there are)."})
    why_not = fields.List(fields.Nested(WhyNotSchema), required=True, metadata={
        "description": "Per rule a change could turn, most points at stake first."})
    searched = fields.Nested(SearchedSchema, required=True)
