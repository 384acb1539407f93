"""Reference context: the facts a ruleset is evaluated against (budget, threats, partners).

It lives in YAML beside the rules and is versioned and hashed with them, so a result can
always be traced to the budget figures and threat weights that produced it.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from schemas.fields import CountryCode, StrictFloat, StrictInteger, StrictString
from schemas.vocabulary import CAPABILITY_AREAS, SYSTEM_CATEGORIES, THREATS


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
    # left out when no public figure says what is committed: nothing is then taken as
    # committed, and every result in that area says so
    committed_jpy = StrictFloat(validate=validate.Range(min=0))
    source = StrictString(required=True)


class ThreatSchema(_Strict):
    weight = StrictFloat(required=True, validate=validate.Range(min=0, max=1))
    source = StrictString(required=True)


class PartnerSystemSchema(_Strict):
    """One system of the partner registry, matched by its identifier or one of its aliases.

    ``aliases`` match a proposal's ``system.name`` exactly, after normalization (case, spaces
    and punctuation). ``match`` is the registry's first form, substrings of the name; it is
    still read as it always was, so that a ruleset published with it scores as it did, and
    ``policy-eval rules check`` reports every entry that uses it.
    """

    system = StrictString(required=True)
    aliases = fields.List(StrictString(), validate=validate.Length(min=1))
    match = fields.List(StrictString(), validate=validate.Length(min=1))
    operators = fields.List(CountryCode(), load_default=list)
    co_developers = fields.List(CountryCode(), load_default=list)
    note = StrictString()

    @validates_schema
    def _one_way_to_match(self, data: dict[str, Any], **_: Any) -> None:
        if "aliases" in data and "match" in data:
            raise ValidationError("Give aliases (exact names) or match (substrings), not both.",
                                  field_name="match")


class CategorySchema(_Strict):
    """What a category of system can plausibly do: the claims a proposal of that category may
    make without being flagged."""

    capability_areas = fields.List(
        StrictString(validate=validate.OneOf(CAPABILITY_AREAS)), required=True,
        validate=validate.Length(min=1))
    threats = fields.List(StrictString(validate=validate.OneOf(THREATS)), required=True)
    service_life_years = StrictInteger(validate=validate.Range(min=1, max=100))
    source = StrictString(required=True)


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
    categories = fields.Dict(
        keys=StrictString(validate=validate.OneOf(SYSTEM_CATEGORIES)),
        values=fields.Nested(CategorySchema), load_default=dict,
    )
