"""Reference context: the facts a ruleset is evaluated against (budget, threats, partners).

It lives in YAML beside the rules and is versioned and hashed with them, so a result can
always be traced to the budget figures and threat weights that produced it.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from schemas.fields import CountryCode, StrictFloat, StrictInteger, StrictString
from schemas.vocabulary import CAPABILITY_AREAS, THREATS


class YearKey(StrictInteger):
    """A fiscal year as a mapping key: an integer in YAML, a digit string once the context has
    been through JSON (a published ruleset is stored as JSON, whose keys are strings)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        return super()._deserialize(value, attr, data, **kwargs)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class FiscalYearSchema(_Strict):
    annual_budget_jpy = StrictFloat(required=True, validate=validate.Range(min=1))
    usd_jpy = StrictFloat(required=True, validate=validate.Range(min=1))
    source = StrictString(required=True)


class CapabilityAreaSchema(_Strict):
    program_total_jpy = StrictFloat(required=True, validate=validate.Range(min=0))
    committed_jpy = StrictFloat(required=True, validate=validate.Range(min=0))
    source = StrictString(required=True)


class ThreatSchema(_Strict):
    weight = StrictFloat(required=True, validate=validate.Range(min=0, max=1))
    source = StrictString(required=True)


class PartnerSystemSchema(_Strict):
    system = StrictString(required=True)
    match = fields.List(StrictString(), required=True, validate=validate.Length(min=1))
    operators = fields.List(CountryCode(), load_default=list)
    co_developers = fields.List(CountryCode(), load_default=list)
    note = StrictString()


class ContextSchema(_Strict):
    name = StrictString(required=True)
    description = StrictString(required=True)
    requesting_country = CountryCode(required=True)
    priority_threshold = StrictFloat(required=True, validate=validate.Range(min=0, max=1))
    fiscal_years = fields.Dict(
        keys=YearKey(), values=fields.Nested(FiscalYearSchema), required=True,
        validate=validate.Length(min=1),
    )
    capability_areas = fields.Dict(
        keys=StrictString(validate=validate.OneOf(CAPABILITY_AREAS)),
        values=fields.Nested(CapabilityAreaSchema),
        required=True,
    )
    threats = fields.Dict(
        keys=StrictString(validate=validate.OneOf(THREATS)),
        values=fields.Nested(ThreatSchema),
        required=True,
    )
    partner_registry = fields.List(fields.Nested(PartnerSystemSchema), required=True)
