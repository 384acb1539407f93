"""A portfolio report: the portfolio with what makes it traceable (the batch, the ruleset
version and hash it was scored with, and the decision id of every proposal in it)."""

from __future__ import annotations

from marshmallow import Schema, fields

from schemas.batch import BatchSchema, PortfolioSchema
from schemas.evaluation import RulesetIdentitySchema


class PortfolioReportSchema(Schema):
    batch = fields.Nested(BatchSchema, required=True)
    ruleset = fields.Nested(RulesetIdentitySchema, allow_none=True,
                            metadata={"description": "The version the batch was scored with."})
    portfolio = fields.Nested(PortfolioSchema, required=True)
    decisions = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                            metadata={"description": "Item index -> decision id, for every "
                                                     "proposal funded or left out that has a "
                                                     "score."})
