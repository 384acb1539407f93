"""Bodies of the analysts' endpoints: a ruleset as a reader reads it (each condition in plain
words), its check report, its rule tests with coverage, and what changed between two versions."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from schemas.evaluation import RulesetIdentitySchema
from schemas.fields import one_of
from schemas.ruleset import BandSchema, CriterionSchema, ScaleSchema
from schemas.vocabulary import RECOMMENDATIONS


class ReadableRuleSchema(Schema):
    id = fields.String(required=True, metadata={"example": "BUD-07"})
    criterion = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True, metadata={"description": "Why the rule exists "
                                                                        "(its grounding)."})
    condition = fields.String(required=True, metadata={
        "description": "When it fires, in plain words (as loaded: a written `not` reads as "
                       "the negated operators).",
        "example": "Share of the remaining envelope is at least 5% and Share of the remaining "
                   "envelope is at most 25%"})
    points = fields.Float(required=True, allow_none=True,
                          metadata={"description": "Fixed points; null for a graded rule."})
    scale = fields.Nested(ScaleSchema, allow_none=True, metadata={
        "description": "For a graded rule: the scale its points are read off."})
    scope = fields.String(allow_none=True, metadata={
        "description": "The categories and paths it applies to, in words (null: every "
                       "proposal)."})
    deficiency = one_of(RECOMMENDATIONS, allow_none=True, metadata={
        "description": "For a deficiency: the strongest recommendation left when it fires."})
    because = fields.String(required=True, metadata={"description": "The sentence template a "
                                                                    "result renders when it "
                                                                    "fires."})
    otherwise = fields.String(allow_none=True, metadata={"description": "The template of the "
                                                                       "why-not, if any."})


class ReadableRulesetSchema(Schema):
    name = fields.String(required=True)
    version = fields.String(required=True)
    hash = fields.String(required=True)
    description = fields.String(required=True)
    active = fields.Boolean(required=True)
    criteria = fields.List(fields.Nested(CriterionSchema), required=True)
    bands = fields.List(fields.Nested(BandSchema), required=True,
                        metadata={"description": "Highest first."})
    rules = fields.List(fields.Nested(ReadableRuleSchema), required=True,
                        metadata={"description": "In file order."})


class WarningSchema(Schema):
    """A lint finding: the ruleset loads, but this is probably not what was meant."""

    rule_id = fields.String(required=True, metadata={"description": "Empty for a finding about "
                                                                    "the whole ruleset."})
    line = fields.Integer(allow_none=True, metadata={
        "description": "In the checked YAML; null for a published version (stored as JSON)."})
    message = fields.String(required=True)
    hint = fields.String(required=True)
    text = fields.String(required=True, metadata={"description": "As `policy-eval rules check` "
                                                                "prints it."})


class DefensibilityFindingSchema(Schema):
    """A defensibility finding of `rules check`: a rule set up so that a proposal's score moves
    against its merit, or counts one fact twice."""

    check = fields.String(required=True, metadata={
        "description": "monotonicity, missing-value, cliff, overlap or registry.",
        "example": "overlap"})
    rules = fields.List(fields.String(), required=True, metadata={
        "description": "The rules responsible, in file order."})
    systems = fields.List(fields.String(), required=True, metadata={
        "description": "For the registry check: the registry entries concerned."})
    line = fields.Integer(allow_none=True, metadata={
        "description": "In the checked YAML; null for a published version or the registry."})
    message = fields.String(required=True)
    details = fields.List(fields.String(), required=True, metadata={
        "description": "The counterexample in words, one a line."})
    acknowledged = fields.Boolean(required=True, metadata={
        "description": "Accepted in the ruleset's `acknowledged` list: it does not fail the "
                       "check."})
    reason = fields.String(allow_none=True, metadata={"description": "Why it is accepted."})
    text = fields.String(required=True, metadata={"description": "As `policy-eval rules "
                                                                "check` prints it."})


class DefensibilitySchema(Schema):
    passed = fields.Boolean(required=True, metadata={"description": "No finding fails it."})
    failing = fields.Integer(required=True)
    acknowledged = fields.Integer(required=True)
    findings = fields.List(fields.Nested(DefensibilityFindingSchema), required=True)
    stale_acknowledgments = fields.List(fields.String(), required=True, metadata={
        "description": "Acknowledgments that match no finding or name no rule (warnings)."})
    proven = fields.Integer(required=True, metadata={
        "description": "(criterion, field) pairs proven monotone by the rules alone."})
    searched = fields.Integer(required=True, metadata={
        "description": "(criterion, field) pairs searched with proposals."})
    evaluations = fields.Integer(required=True, metadata={"description": "Proposals scored."})
    cut_short = fields.List(fields.String(), required=True, metadata={
        "description": "Fields whose search stopped at its limit: findings there may be "
                       "missing."})


class CheckReportSchema(Schema):
    ruleset = fields.Nested(RulesetIdentitySchema, required=True)
    rules = fields.Integer(required=True, metadata={"description": "How many rules loaded."})
    warnings = fields.List(fields.Nested(WarningSchema), required=True)
    defensibility = fields.Nested(DefensibilitySchema, required=True, metadata={
        "description": "What `rules check` proves beyond loading."})


class CaseResultSchema(Schema):
    name = fields.String(required=True)
    file = fields.String(required=True, metadata={"description": "The test file, relative to "
                                                                "the rules folder."})
    line = fields.Integer(required=True)
    passed = fields.Boolean(required=True)
    failures = fields.List(fields.String(), required=True,
                           metadata={"description": "Expected against actual, one a line."})
    fired = fields.List(fields.String(), required=True)


class CriterionCoverageSchema(Schema):
    criterion = fields.String(required=True)
    covered = fields.Integer(required=True)
    total = fields.Integer(required=True)


class CoverageSchema(Schema):
    percent = fields.Float(required=True, metadata={"description": "Rules fired by at least "
                                                                   "one case."})
    criteria = fields.List(fields.Nested(CriterionCoverageSchema), required=True)
    uncovered = fields.List(fields.String(), required=True,
                            metadata={"description": "Rules no case fires."})


class RuleTestReportSchema(Schema):
    ruleset = fields.Nested(RulesetIdentitySchema, required=True)
    files = fields.List(fields.String(), required=True,
                        metadata={"description": "The test files run: those beside the "
                                                 "service's rules written for this ruleset."})
    passed = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    cases = fields.List(fields.Nested(CaseResultSchema), required=True)
    coverage = fields.Nested(CoverageSchema, required=True)


class DiffRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    against = fields.String(validate=validate.Length(min=1, max=100), metadata={
        "description": "The version to compare with; default: the active one."})


class PartChangeSchema(Schema):
    part = fields.String(required=True, metadata={"example": "points"})
    old = fields.Raw(allow_none=True, metadata={"description": "Null when absent."})
    new = fields.Raw(allow_none=True, metadata={"description": "Null when absent."})


class ItemChangeSchema(Schema):
    id = fields.String(required=True, metadata={"description": "The rule id, criterion name "
                                                              "or band rating."})
    parts = fields.List(fields.Nested(PartChangeSchema), required=True)


class DiffSchema(Schema):
    old = fields.Nested(RulesetIdentitySchema, required=True)
    new = fields.Nested(RulesetIdentitySchema, required=True)
    added = fields.List(fields.Nested(ReadableRuleSchema), required=True)
    removed = fields.List(fields.Nested(ReadableRuleSchema), required=True)
    changed = fields.List(fields.Nested(ItemChangeSchema), required=True,
                          metadata={"description": "Rules in both, with the parts that "
                                                   "differ (a condition as plain words)."})
    unchanged = fields.Integer(required=True)
    criteria = fields.List(fields.Nested(ItemChangeSchema), required=True)
    bands = fields.List(fields.Nested(ItemChangeSchema), required=True)
    context_changed = fields.Boolean(required=True, metadata={
        "description": "The reference context (budgets, envelopes, threats, partners) differs."})
