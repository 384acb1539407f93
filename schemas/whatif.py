"""Bodies of ``POST /v1/evaluations/{id}/what-if`` and ``POST /v1/comparisons``."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.counterfactuals import ProposalChangeSchema
from schemas.evaluation import EvaluationSchema, RulesetIdentitySchema
from schemas.fields import Verbatim, one_of
from schemas.proposal import ProposalSchema
from schemas.vocabulary import RATINGS, RECOMMENDATIONS

MAX_COMPARED = 20


class WhatIfRequestSchema(Schema):
    set = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True),
                      load_default=dict, metadata={
                          "description": "New values by dotted path into the proposal as "
                                         "submitted.",
                          "example": {"capabilities.datalinks": ["link16"]}})
    unset = fields.List(fields.String(), load_default=list, metadata={
        "description": "Dotted paths of fields to leave out.",
        "example": ["acquisition.delivery_start_year"]})


class ScoreChangeSchema(Schema):
    before = fields.Float(required=True)
    after = fields.Float(required=True)
    delta = fields.Float(required=True)


class CriterionChangeSchema(ScoreChangeSchema):
    criterion = fields.String(required=True)
    label = fields.String(required=True)


class RatingChangeSchema(Schema):
    before = one_of(RATINGS, required=True)
    after = one_of(RATINGS, required=True)
    changed = fields.Boolean(required=True)


class RecommendationChangeSchema(Schema):
    before = one_of(RECOMMENDATIONS, required=True)
    after = one_of(RECOMMENDATIONS, required=True)
    changed = fields.Boolean(required=True)


class RulePointsSchema(Schema):
    rule_id = fields.String(required=True)
    criterion = fields.String(required=True)
    title = fields.String(required=True)
    points = fields.Float(required=True)


class RuleRepointedSchema(RulePointsSchema):
    points_before = fields.Float(required=True)


class WhatIfDiffSchema(Schema):
    overall = fields.Nested(ScoreChangeSchema, required=True)
    criteria = fields.List(fields.Nested(CriterionChangeSchema), required=True)
    rating = fields.Nested(RatingChangeSchema, required=True)
    recommendation = fields.Nested(RecommendationChangeSchema, required=True)
    rules_gained = fields.List(fields.Nested(RulePointsSchema), required=True)
    rules_lost = fields.List(fields.Nested(RulePointsSchema), required=True)
    rules_changed = fields.List(fields.Nested(RuleRepointedSchema), required=True, metadata={
        "description": "Graded rules that fire both times with different points."})


class WhatIfSchema(Schema):
    evaluation_id = fields.String(required=True, metadata={"description": "The original's."})
    after_evaluation_id = fields.String(allow_none=True, metadata={
        "description": "The evaluation of the edited proposal (null for an empty change)."})
    changes = fields.List(fields.Nested(ProposalChangeSchema), required=True)
    before = Verbatim(EvaluationSchema, required=True)
    after = Verbatim(EvaluationSchema, required=True)
    diff = fields.Nested(WhatIfDiffSchema, required=True)


class ComparisonItemRequestSchema(Schema):
    proposal = fields.Nested(ProposalSchema, metadata={
        "description": "A proposal, evaluated for the comparison."})
    evaluation_id = fields.String(validate=validate.Length(min=1, max=64), metadata={
        "description": "An evaluation of the caller's, compared as it was answered."})

    @validates_schema
    def _one_of_them(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if ("proposal" in data) == ("evaluation_id" in data):
            raise ValidationError("Give either a proposal or an evaluation_id.", "_schema")


class ComparisonRequestSchema(Schema):
    items = fields.List(fields.Nested(ComparisonItemRequestSchema), required=True,
                        validate=validate.Length(min=2, max=MAX_COMPARED))


class CriterionHeadSchema(Schema):
    criterion = fields.String(required=True)
    label = fields.String(required=True)
    weight = fields.Float(required=True)


class ItemScoreSchema(Schema):
    score = fields.Float(required=True)
    weighted = fields.Float(required=True)
    rank = fields.Integer(required=True)


class ComparedItemSchema(Schema):
    index = fields.Integer(required=True)
    proposal_id = fields.String(allow_none=True, required=True)
    title = fields.String(required=True)
    evaluation_id = fields.String(allow_none=True, required=True)
    overall_score = fields.Float(required=True)
    rating = one_of(RATINGS, required=True)
    recommendation = one_of(RECOMMENDATIONS, required=True)
    rank = fields.Integer(required=True, metadata={"description": "1 = best; ties share."})
    scores = fields.Dict(keys=fields.String(), values=fields.Nested(ItemScoreSchema),
                         required=True)


class RuleDifferenceSchema(Schema):
    rule_id = fields.String(required=True)
    criterion = fields.String(required=True)
    title = fields.String(required=True)
    fired_in = one_of(("a", "b", "both"), required=True)
    points = fields.Float(required=True, metadata={
        "description": "Contribution to the overall difference (a minus b)."})


class PairSchema(Schema):
    a = fields.Integer(required=True)
    b = fields.Integer(required=True)
    score_difference = fields.Float(required=True)
    differences = fields.List(fields.Nested(RuleDifferenceSchema), required=True)
    other = fields.Float(required=True, metadata={
        "description": "What no rule explains (a criterion clamped to 0..100)."})


class ComparisonSchema(Schema):
    ruleset = fields.Nested(RulesetIdentitySchema, required=True)
    criteria = fields.List(fields.Nested(CriterionHeadSchema), required=True)
    items = fields.List(fields.Nested(ComparedItemSchema), required=True)
    pairs = fields.List(fields.Nested(PairSchema), required=True)
