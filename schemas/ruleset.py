"""Ruleset bodies of the HTTP API: the active ruleset, published versions, publishing,
activation and the impact of a version on proposals."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from schemas.evaluation import timestamp
from schemas.fields import FullMatch, exactly_one_of, one_of
from schemas.proposal import ProposalSchema
from schemas.vocabulary import IMPACT_CHANGE_KINDS, RATINGS, RECOMMENDATIONS

MAX_IMPACT_PROPOSALS = 5000  # sent in one body: MAX_CONTENT_LENGTH keeps them fewer anyway
# A ruleset version is a path segment of /v1/rulesets/{version}, a label of the metrics and a
# field of every result: letters, digits, '.', '-' and '+' (a semantic version such as
# 2026.1.0 or 2.0.0-rc.1+build.5 fits), starting with a letter or a digit, at most 64.
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]{0,63}$")
VERSION_RULE = ("letters, digits, '.', '-' and '+', starting with a letter or a digit, at most "
                "64 characters (a semantic version such as 2026.1.0 is recommended)")
VERSION_ERROR = f"Not a ruleset version: {VERSION_RULE}."


def version_field(**kwargs: Any) -> fields.String:
    """A ruleset version, as the loader accepts it (VERSION_PATTERN)."""
    return fields.String(validate=FullMatch(VERSION_PATTERN, error=VERSION_ERROR), **kwargs)


class CriterionSchema(Schema):
    name = fields.String(required=True)
    label = fields.String(required=True)
    weight = fields.Float(required=True)
    baseline = fields.Float(required=True)
    rationale = fields.String(required=True)


class BandSchema(Schema):
    rating = one_of(RATINGS, required=True)
    min_score = fields.Float(required=True)
    recommendation = one_of(RECOMMENDATIONS, required=True)


class ScaleSchema(Schema):
    field = fields.String(required=True, metadata={"example": "derived.share_of_annual_budget"})
    breakpoints = fields.List(fields.List(fields.Float()), required=True, metadata={
        "description": "[value, points] pairs: points are interpolated between them and level "
                       "beyond the ends."})


class RuleSummarySchema(Schema):
    id = fields.String(required=True)
    criterion = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    points = fields.Float(required=True, allow_none=True,
                          metadata={"description": "Fixed points; null for a graded rule."})
    scale = fields.Nested(ScaleSchema, metadata={"description": "For a graded rule: the scale "
                                                               "its points are read off."})
    scope = fields.String(metadata={"description": "For a scoped rule: the categories and "
                                                   "paths it applies to, in words."})
    deficiency = one_of(RECOMMENDATIONS, allow_none=True,
                       metadata={"description": "Set for a deficiency: the recommendation it "
                                                "caps at when it fires."})


class RulesetSchema(Schema):
    name = fields.String(required=True)
    version = fields.String(required=True)
    hash = fields.String(required=True)
    description = fields.String(required=True)
    engine = one_of(("durable", "native"), required=True)
    criteria = fields.List(fields.Nested(CriterionSchema), required=True)
    bands = fields.List(fields.Nested(BandSchema), required=True,
                        metadata={"description": "Highest first."})
    rules = fields.List(fields.Nested(RuleSummarySchema), required=True)


class VersionSchema(Schema):
    """A published version, without its content."""

    version = fields.String(required=True, metadata={"example": "2026.2.0"})
    name = fields.String(required=True)
    hash = fields.String(required=True)
    note = fields.String(required=True, metadata={"example": "adds IOP-17 (Link 22)"})
    author = fields.String(required=True)
    created_at = timestamp(required=True)
    active = fields.Boolean(required=True)


class ActivationSchema(Schema):
    version = fields.String(required=True)
    by = fields.String(required=True)
    at = timestamp(required=True)


class VersionListSchema(Schema):
    active = fields.String(required=True, allow_none=True)
    versions = fields.List(fields.Nested(VersionSchema), required=True,
                           metadata={"description": "Oldest first."})
    activations = fields.List(fields.Nested(ActivationSchema), required=True,
                              metadata={"description": "Every change of the active version."})


class VersionDetailSchema(RulesetSchema):
    note = fields.String(required=True)
    author = fields.String(required=True)
    created_at = timestamp(required=True)
    active = fields.Boolean(required=True)
    document = fields.Dict(required=True, metadata={
        "description": "The ruleset as published, its context inline; POST it back to "
                       "republish it."})


class PublishQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    note = fields.String(load_default="", validate=validate.Length(max=500))
    author = fields.String(load_default="anonymous", validate=validate.Length(min=1, max=100))
    activate = fields.Boolean(load_default=False,
                              metadata={"description": "Activate the version once published."})
    source = fields.String(load_default="ruleset.yaml", validate=validate.Length(max=300),
                           metadata={"description": "The file name problems are reported "
                                                    "against, as `policy-eval rules check` does."})


class ActivateSchema(Schema):
    class Meta:
        unknown = RAISE

    version = version_field(required=True)
    by = fields.String(load_default="anonymous", validate=validate.Length(min=1, max=100))


class ImpactRequestSchema(Schema):
    OPENAPI_EXTRA: ClassVar[dict[str, Any]] = exactly_one_of("proposals", "batch_id")

    class Meta:
        unknown = RAISE

    proposals = fields.List(fields.Nested(ProposalSchema),
                            validate=validate.Length(min=1, max=MAX_IMPACT_PROPOSALS))
    batch_id = fields.String(validate=validate.Length(min=1, max=64), metadata={
        "description": "Instead of `proposals`: the proposals of a stored batch of yours, "
                       "however many (its invalid items are left out)."})
    against = version_field(metadata={"description": "The version to compare with; default: "
                                                    "the active one."})

    @validates_schema
    def _one_source(self, data: dict[str, Any], **_: Any) -> None:
        if ("proposals" in data) == ("batch_id" in data):
            raise ValidationError("Give exactly one of proposals or batch_id.",
                                  field_name="proposals")


class SideSchema(Schema):
    overall = fields.Float(required=True)
    scores = fields.Dict(keys=fields.String(), values=fields.Float(), required=True,
                         metadata={"description": "Each criterion's score."})
    rating = one_of(RATINGS, required=True)
    recommendation = one_of(RECOMMENDATIONS, required=True)
    rank = fields.Integer(required=True, metadata={"description": "1 is the best score among "
                                                                  "the proposals sent."})
    points = fields.Dict(keys=fields.String(), values=fields.Float(), required=True,
                         metadata={"description": "Points of each rule that fired."})


class DeltaSchema(Schema):
    overall_score = fields.Float(required=True, metadata={"description": "new − old, to 0.01."})
    scores = fields.Dict(keys=fields.String(), values=fields.Float(), required=True,
                         metadata={"description": "new − old of each criterion score that "
                                                  "changed (by 0.01 or more)."})


class ChangeSchema(Schema):
    proposal = fields.String(required=True, metadata={"description": "Its id, else its title."})
    old = fields.Nested(SideSchema, required=True)
    new = fields.Nested(SideSchema, required=True)
    delta = fields.Nested(DeltaSchema, required=True)
    rules = fields.List(fields.String(), required=True,
                        metadata={"description": "Rules that fired on one side only, or with "
                                                 "other points: those responsible. Empty when "
                                                 "only the rank moved (other proposals' scores "
                                                 "changed)."})
    changed = fields.List(one_of(IMPACT_CHANGE_KINDS), required=True)


class ImpactSummarySchema(Schema):
    changed = fields.Integer(required=True, metadata={"description": "Proposals listed under "
                                                                     "`changes`."})
    overall_score = fields.Integer(required=True)
    criterion_scores = fields.Integer(required=True)
    rating = fields.Integer(required=True)
    recommendation = fields.Integer(required=True)
    rank = fields.Integer(required=True)


class ImpactSchema(Schema):
    old_version = fields.String(required=True)
    new_version = fields.String(required=True)
    total = fields.Integer(required=True)
    summary = fields.Nested(ImpactSummarySchema, required=True, metadata={
        "description": "How many of `changes` changed in each way, counted from the list."})
    changes = fields.List(fields.Nested(ChangeSchema), required=True,
                          metadata={"description": "Proposals whose overall score, a criterion "
                                                   "score, rating, recommendation or rank "
                                                   "changes."})
