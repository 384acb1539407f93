"""The robustness analysis of a batch: what ``POST /v1/batches/{id}/robustness`` takes, and the
result its job answers once done (``/v1/jobs/{id}``)."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from schemas.batch import PortfolioQuerySchema
from schemas.fields import one_of

MAX_SAMPLES = 100_000
MAX_TOP_K = 1000
MAX_SEED = 2**53 - 1  # every JSON reader keeps it exactly, JavaScript's doubles included
CORE_STATUSES = ("core", "borderline", "exterior")


class RobustnessRequestSchema(PortfolioQuerySchema):
    """`budget` and `currency` as for the portfolio; every field may be left out."""

    class Meta:
        unknown = RAISE

    samples = fields.Integer(
        load_default=10_000, validate=validate.Range(min=1, max=MAX_SAMPLES),
        metadata={"description": "Weight and cost samples for the rank acceptability. The "
                                 "portfolio core indices use the first 500 of them (each is "
                                 "an optimal portfolio, ~60 times a ranking's cost)."})
    top_k = fields.Integer(
        load_default=10, validate=validate.Range(min=1, max=MAX_TOP_K),
        metadata={"description": "The size of the top set whose stability and acceptability "
                                 "are reported."})
    seed = fields.Integer(
        validate=validate.Range(min=0, max=MAX_SEED),
        metadata={"description": "Draws the samples; the same seed gives the same answer. "
                                 "Default: derived from the batch id, so the same request on "
                                 "the same batch gives the same answer."})


# --- the result -------------------------------------------------------------------------------


class ProposalRefSchema(Schema):
    index = fields.Integer(required=True, metadata={"description": "Its place in the upload."})
    proposal_id = fields.String(allow_none=True)
    title = fields.String(allow_none=True)


class CrossingSchema(Schema):
    takes_over = fields.List(fields.Nested(ProposalRefSchema), required=True,
                             metadata={"description": "Who ranks in, just past the bound."})
    gives_way = fields.List(fields.Nested(ProposalRefSchema), required=True,
                            metadata={"description": "Whom they displace."})


class StabilityIntervalSchema(Schema):
    lower = fields.Float(required=True)
    upper = fields.Float(required=True)
    below = fields.Nested(CrossingSchema, required=True,
                          metadata={"description": "Just under `lower` (empty at 0)."})
    above = fields.Nested(CrossingSchema, required=True,
                          metadata={"description": "Just over `upper` (empty at 1)."})


class WeightStabilitySchema(Schema):
    criterion = fields.String(required=True)
    weight = fields.Float(required=True, metadata={"description": "The stated weight."})
    first = fields.Nested(StabilityIntervalSchema, required=True,
                          metadata={"description": "The weights (others rescaled in "
                                                   "proportion) for which the first place "
                                                   "stays the same: exact, not sampled."})
    top_k = fields.Nested(StabilityIntervalSchema, required=True,
                          metadata={"description": "The same for the set of the first "
                                                   "`top_k`."})


class AcceptabilitySchema(ProposalRefSchema):
    overall_score = fields.Float(required=True, metadata={"description": "As ranked."})
    rank = fields.Integer(required=True, metadata={"description": "Its rank as the batch "
                                                                  "ranks it (stated weights)."})
    first = fields.Float(required=True, metadata={"description": "Share of samples in which "
                                                                 "it ranks first."})
    top_k = fields.Float(required=True, metadata={"description": "Share of samples in which "
                                                                 "it is in the top k."})
    expected_rank = fields.Float(required=True)
    rank_interval = fields.List(fields.Integer(), required=True,
                                metadata={"description": "5 % and 95 % of samples rank it "
                                                         "at least this well, and this "
                                                         "badly."})
    rank_interval_exact = fields.Boolean(
        required=True, metadata={"description": "False: past rank 100 ranks are counted in "
                                                "bins, and the interval is widened to theirs."})
    central_weights = fields.Dict(
        keys=fields.String(), values=fields.Float(), allow_none=True, required=True,
        metadata={"description": "The mean weights of the samples in which it ranks first "
                                 "(null when it never does)."})


class CoreIndexSchema(ProposalRefSchema):
    share = fields.Float(required=True, metadata={"description": "Share of samples whose "
                                                                 "optimal portfolio funds it."})
    standard_error = fields.Float(required=True, metadata={"description": "√(share × (1 − "
                                                                          "share) / samples)"})
    status = one_of(CORE_STATUSES, required=True,
                    metadata={"description": "`core`: funded in at least 99 % of samples; "
                                             "`exterior`: in none; else `borderline`."})


class CoreIndicesSchema(Schema):
    budget = fields.Float(allow_none=True, required=True)
    currency = one_of(("JPY", "USD"), required=True)
    samples = fields.Integer(required=True, metadata={"description": "Portfolio samples: the "
                                                                     "first of the samples."})
    inexact_samples = fields.Integer(
        required=True, metadata={"description": "Samples whose portfolio search stopped at "
                                                "its node limit (best found, not proven)."})
    proposals = fields.List(fields.Nested(CoreIndexSchema), required=True,
                            metadata={"description": "Most often funded first."})


class ChartLinksSchema(Schema):
    tornado = fields.String(required=True, metadata={"description": "SVG: the weight-stability "
                                                                    "intervals."})
    rank_acceptability = fields.String(data_key="rank-acceptability", required=True,
                                       metadata={"description": "SVG: the heat map of ranks."})
    core_indices = fields.String(data_key="core-indices",
                                 metadata={"description": "SVG: the portfolio core indices."})


class RobustnessSchema(Schema):
    """How far the batch's ranking and portfolio hold under the uncertainty its ruleset
    declares (`uncertainty`; none declared: the stated weights and costs in every sample)."""

    batch_id = fields.String(required=True)
    ruleset_version = fields.String(required=True)
    samples = fields.Integer(required=True)
    top_k = fields.Integer(required=True)
    seed = fields.Integer(required=True)
    uncertainty = fields.Dict(allow_none=True, required=True,
                              metadata={"description": "The ruleset's `uncertainty:` section."})
    weight_stability = fields.List(fields.Nested(WeightStabilitySchema), required=True)
    rank_acceptability = fields.List(fields.Nested(AcceptabilitySchema), required=True,
                                     metadata={"description": "Every scored proposal, best "
                                                              "expected rank first."})
    portfolio = fields.Nested(CoreIndicesSchema, required=True)
    charts = fields.Nested(ChartLinksSchema, required=True)
