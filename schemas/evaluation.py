"""Request and response bodies of the HTTP API (the proposal itself is ``schemas.proposal``).

These schemas are the contract the OpenAPI document publishes. The evaluation schemas mirror
the engine's result exactly: dumping an engine result through them must give it back unchanged
(a test holds them to that), so a field the engine adds cannot silently vanish from the API.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from schemas.counterfactuals import CounterfactualsSchema
from schemas.errors import ProblemSchema
from schemas.fields import Verbatim, one_of
from schemas.vocabulary import ASSUMPTION_KINDS, EXPLAIN_LEVELS, RATINGS, RECOMMENDATIONS

JOB_STATUSES = ("queued", "running", "done", "failed")
TIME_DESCRIPTION = "ISO 8601 in UTC, to the millisecond: `2026-11-30T20:38:56.123+00:00`."


def timestamp(**kwargs: Any) -> fields.String:
    """A time as the service writes every time it shows (``service.clock``): one form, so
    that times compare as text."""
    return fields.String(metadata={"format": "date-time", "description": TIME_DESCRIPTION,
                                   **kwargs.pop("metadata", {})}, **kwargs)



# --- requests ---------------------------------------------------------------------------------


class EvaluateQuerySchema(Schema):
    explain = fields.String(
        load_default="summary",
        validate=validate.OneOf(EXPLAIN_LEVELS),
        metadata={"description": "`full` also lists the rules that did not fire, each with the "
                                 "condition that failed (the why-not)."},
    )


class PreferHeaderSchema(Schema):
    """Only documents the header: preferences are parsed leniently, as RFC 7240 asks."""

    prefer = fields.String(
        data_key="Prefer",
        metadata={"description": "RFC 7240. `respond-async` answers 202 at once; `wait=N` waits "
                                 "at most N seconds (never longer than the server's limit).",
                  "example": "respond-async"},
    )


# --- the engine's result ----------------------------------------------------------------------


class RulesetIdentitySchema(Schema):
    name = fields.String(required=True)
    version = fields.String(required=True)
    hash = fields.String(required=True, metadata={"description": "sha256 of the ruleset content"})


class EvidenceSchema(Schema):
    """One atom of a rule's condition, as it held (or did not) for this proposal."""

    field = fields.String(required=True, metadata={"example": "capabilities.datalinks"})
    label = fields.String(required=True)
    observed = fields.Raw(allow_none=True, metadata={"description": "The proposal's value."})
    op = fields.String(required=True, metadata={"example": "contains"})
    threshold = fields.Raw(allow_none=True, metadata={"description": "What the rule compares "
                                                                     "against."})
    threshold_field = fields.String(
        allow_none=True, metadata={"description": "Set when the threshold is another field."}
    )
    holds = fields.Boolean(required=True)
    text = fields.String(required=True, metadata={"description": "The atom in plain words."})


class ScaleReadingSchema(Schema):
    """How a graded rule's points were read off its scale."""

    field = fields.String(required=True, metadata={"example": "derived.share_of_annual_budget"})
    label = fields.String(required=True)
    observed = fields.Float(required=True, metadata={"description": "The proposal's value."})
    breakpoints = fields.List(fields.List(fields.Float()), required=True, metadata={
        "description": "[value, points] pairs; points are interpolated between them and level "
                       "beyond the ends."})
    points = fields.Float(required=True)
    text = fields.String(required=True, metadata={"description": "The reading in plain words."})


class FindingSchema(Schema):
    """A rule that fired: its points count towards its criterion's score."""

    rule_id = fields.String(required=True)
    title = fields.String(required=True)
    points = fields.Float(required=True)
    sentence = fields.String(required=True, metadata={"description": "The rule's explanation, "
                                                                     "rendered for this proposal."})
    evidence = fields.List(fields.Nested(EvidenceSchema), required=True)
    scale = fields.Nested(ScaleReadingSchema, metadata={"description": "For a graded rule: "
                                                                       "where its points come "
                                                                       "from."})
    caps_at = one_of(RECOMMENDATIONS, metadata={"description": "For a deficiency: the strongest "
                                                              "recommendation still allowed."})


class CriterionResultSchema(Schema):
    criterion = fields.String(required=True, metadata={"example": "interoperability"})
    label = fields.String(required=True)
    weight = fields.Float(required=True)
    rationale = fields.String(required=True, metadata={"description": "Why the weight is what "
                                                                      "it is."})
    baseline = fields.Float(required=True)
    points = fields.Float(required=True, metadata={"description": "Sum of the fired rules' "
                                                                  "points."})
    raw_score = fields.Float(required=True, metadata={"description": "baseline + points"})
    score = fields.Float(required=True, metadata={"description": "raw_score clamped to 0..100"})
    weighted_score = fields.Float(required=True, metadata={"description": "weight × score"})
    strengths = fields.List(fields.Nested(FindingSchema), required=True)
    weaknesses = fields.List(fields.Nested(FindingSchema), required=True)
    deficiencies = fields.List(fields.Nested(FindingSchema), required=True)


class NotFiredSchema(Schema):
    rule_id = fields.String(required=True)
    criterion = fields.String(required=True)
    title = fields.String(required=True)
    points = fields.Float(required=True)
    sentence = fields.String(allow_none=True, metadata={"description": "The rule's `otherwise` "
                                                                       "text, if it has one."})
    failed = fields.List(fields.Nested(EvidenceSchema), required=True,
                         metadata={"description": "The atoms that did not hold."})
    scale = fields.Nested(ScaleReadingSchema, metadata={"description": "For a graded rule "
                                                                       "whose field is given."})


class NotApplicableSchema(Schema):
    """A rule scoped to other kinds of proposal: not a failed condition, not a missed point."""

    rule_id = fields.String(required=True)
    criterion = fields.String(required=True)
    title = fields.String(required=True)
    scope = fields.String(required=True, metadata={"description": "What the rule applies to."})
    text = fields.String(required=True)


class AssumptionSchema(Schema):
    """A default the result rests on, or a claim the reference data does not confirm."""

    kind = one_of(ASSUMPTION_KINDS, required=True, metadata={
        "description": "`default`: a figure the context or the proposal did not give; "
                       "`unverified`: a claim the context cannot check; `unsupported`: a claim "
                       "the context contradicts; `unmatched`: a system not in the partner "
                       "registry."})
    field = fields.String(required=True, metadata={"description": "The field concerned."})
    text = fields.String(required=True)


class CostYearSchema(Schema):
    fiscal_year = fields.Integer(required=True)
    budget_fiscal_year = fields.Integer(required=True, metadata={
        "description": "The context's year whose budget it is set against."})
    amount_jpy = fields.Float(required=True)
    share_of_annual_budget = fields.Float(required=True)


class RatingStabilitySchema(Schema):
    """How far one criterion's weight can move, the others rescaled in proportion to keep the
    sum 1, before the evaluation's rating changes; computed exactly, not sampled."""

    criterion = fields.String(required=True, metadata={"example": "interoperability"})
    weight = fields.Float(required=True, metadata={"description": "The stated weight."})
    lower = fields.Float(required=True, metadata={"description": "The rating holds for any "
                                                                 "weight from `lower` …"})
    upper = fields.Float(required=True, metadata={"description": "… to `upper`; 0 or 1 when "
                                                                 "it holds all the way."})
    below = one_of(RATINGS, allow_none=True, required=True,
                   metadata={"description": "The rating just below `lower` (null at 0)."})
    above = one_of(RATINGS, allow_none=True, required=True,
                   metadata={"description": "The rating just above `upper` (null at 1)."})


class EvaluationSchema(Schema):
    """A scored recommendation: deterministic for a given proposal, ruleset and explain level."""

    decision_id = fields.String(required=True)
    input_hash = fields.String(required=True)
    proposal_id = fields.String(allow_none=True)
    title = fields.String(required=True)
    ruleset = fields.Nested(RulesetIdentitySchema, required=True)
    overall_score = fields.Float(required=True, metadata={"description": "Σ weight × score"})
    rating = one_of(RATINGS, required=True)
    recommendation = one_of(RECOMMENDATIONS, required=True)
    band_recommendation = one_of(RECOMMENDATIONS, required=True,
                                metadata={"description": "What the rating alone recommends, "
                                                         "before deficiencies cap it."})
    capped_by = fields.List(fields.String(), required=True)
    summary = fields.String(required=True)
    criteria = fields.List(fields.Nested(CriterionResultSchema), required=True)
    derived = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True,
                          metadata={"description": "Fields computed before the rules ran."})
    assumptions = fields.List(fields.Nested(AssumptionSchema), required=True, metadata={
        "description": "The defaults used and the claims not confirmed by the reference data."})
    cost_by_year = fields.List(fields.Nested(CostYearSchema), metadata={
        "description": "With a phasing: each fiscal year's spend and its share of that year's "
                       "budget."})
    not_fired = fields.List(fields.Nested(NotFiredSchema),
                            metadata={"description": "Only with `explain=full`."})
    not_applicable = fields.List(fields.Nested(NotApplicableSchema), metadata={
        "description": "Only with `explain=full`: rules scoped to other categories or paths."})
    rating_stability = fields.List(
        fields.Nested(RatingStabilitySchema),
        metadata={"description": "Only with `explain=full`: per criterion, in the ruleset's "
                                 "order, the weight interval within which the rating stays "
                                 "the same."})
    counterfactuals = fields.Nested(CounterfactualsSchema, metadata={
        "description": "Only with `explain=full`: what it would take to reach the next band, a "
                       "better recommendation or lift a deficiency cap."})


# --- the API's own resources ------------------------------------------------------------------


class EvaluationJobSchema(Schema):
    """An evaluation request and, once a worker has run it, its result."""

    id = fields.String(required=True, metadata={"example": "0f8fad5b-d9cb-469f-a165-70867728950e"})
    status = one_of(JOB_STATUSES, required=True)
    explain = one_of(EXPLAIN_LEVELS, required=True)
    submitted_at = timestamp(required=True)
    completed_at = timestamp(allow_none=True)
    evaluation = Verbatim(EvaluationSchema, metadata={"description": "When `done`."})
    error = fields.Nested(ProblemSchema, metadata={"description": "When `failed`."})


class BrokerHealthSchema(Schema):
    kind = one_of(("redis", "embedded"), required=True)
    reachable = fields.Boolean(required=True)
    detail = fields.String()


class HealthSchema(Schema):
    status = one_of(("ok", "degraded"), required=True,
                   metadata={"description": "`degraded` when the broker cannot be reached."})
    ruleset = fields.Nested(RulesetIdentitySchema, required=True)
    engine = one_of(("durable", "native"), required=True)
    broker = fields.Nested(BrokerHealthSchema, required=True)
