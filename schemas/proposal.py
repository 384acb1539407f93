"""The proposal: one acquisition, as a client submits it.

Every field path is a name the rule language may use (``acquisition.quantity``); the rule
loader reads this schema to check rules, so a field added here is usable in rules at once.
"""

from __future__ import annotations

from typing import Any, ClassVar

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from schemas.fastload import FastLoad
from schemas.fields import (
    CountryCode,
    StrictFloat,
    StrictInteger,
    StrictString,
    exactly_one_of,
)
from schemas.vocabulary import (
    ACQUISITION_PATHS,
    CAPABILITY_AREAS,
    CURRENCIES,
    DATALINKS,
    IFF_MODES,
    MUNITIONS_COMMONALITY,
    STANDARDS,
    SYSTEM_CATEGORIES,
    THREATS,
)

MAX_AMOUNT = 1e15  # a quadrillion: above any defense budget in either currency
MAX_LIST = 64
MAX_PHASING_YEARS = 40
# Phased amounts are published rounded (three tranches of ¥33.3 billion for ¥100 billion), so
# they must add up to the total within this fraction of it, not to the yen.
PHASING_TOLERANCE = 0.005


def _line(max_length: int, **kwargs: Any) -> StrictString:
    """Free text on one line (an id, a title, a name): it lands in summaries, sentences, table
    cells and log lines, where a line break or an invisible character would forge or hide
    what follows."""
    return StrictString(max_length=max_length, single_line=True, **kwargs)


def _enum(values: tuple[str, ...], **kwargs: Any) -> StrictString:
    return StrictString(validate=validate.OneOf(values), metadata={"enum": list(values)},
                        strip=False, **kwargs)


def _enum_list(values: tuple[str, ...]) -> fields.List:
    return fields.List(
        _enum(values), load_default=list, validate=validate.Length(max=MAX_LIST)
    )


def _country_list() -> fields.List:
    return fields.List(CountryCode(), load_default=list, validate=validate.Length(max=MAX_LIST))


class StrictSchema(Schema):
    """Refuses unknown fields at every level: a misspelt key must not be silently dropped."""

    class Meta:
        unknown = RAISE


class MoneySchema(StrictSchema):
    amount = StrictFloat(required=True, validate=validate.Range(min=0, max=MAX_AMOUNT))
    currency = _enum(CURRENCIES, required=True)


class SystemSchema(StrictSchema):
    name = _line(200, required=True)
    category = _enum(SYSTEM_CATEGORIES, required=True)
    origin_country = CountryCode(load_default="US")
    prime_contractor = _line(200)


class PhasingSchema(StrictSchema):
    """What is spent in one fiscal year of the acquisition."""

    fiscal_year = StrictInteger(required=True, validate=validate.Range(min=1990, max=2100))
    amount = StrictFloat(required=True, validate=validate.Range(min=0, max=MAX_AMOUNT))
    currency = _enum(CURRENCIES, required=True)


def _total(data: dict[str, Any]) -> dict[str, Any] | None:
    """The acquisition's total cost as {amount, currency}, or None when it has no cost."""
    if "total_cost" in data:
        total: dict[str, Any] = data["total_cost"]
        return total
    if "unit_cost" in data and "quantity" in data:
        unit = data["unit_cost"]
        return {"amount": unit["amount"] * data["quantity"], "currency": unit["currency"]}
    return None


class AcquisitionSchema(StrictSchema):
    OPENAPI_EXTRA: ClassVar[dict[str, Any]] = exactly_one_of("unit_cost", "total_cost")

    path = _enum(ACQUISITION_PATHS, required=True)
    quantity = StrictInteger(required=True, validate=validate.Range(min=1, max=1_000_000))
    unit_cost = fields.Nested(MoneySchema)
    total_cost = fields.Nested(MoneySchema)
    sustainment_cost_per_year = fields.Nested(MoneySchema)
    delivery_start_year = StrictInteger(validate=validate.Range(min=1990, max=2100))
    capability_area = _enum(CAPABILITY_AREAS, required=True)
    phasing = fields.List(
        fields.Nested(PhasingSchema), validate=validate.Length(min=1, max=MAX_PHASING_YEARS),
        metadata={"description": "The cost by fiscal year; the amounts add up to the total cost "
                                 f"(within {PHASING_TOLERANCE:.1%}), in its currency."},
    )
    service_life_years = StrictInteger(
        validate=validate.Range(min=1, max=100),
        metadata={"description": "Years in service, for the life-cycle cost (acquisition plus "
                                 "sustainment over the service life)."},
    )

    @validates_schema
    def _one_cost(self, data: dict[str, Any], **_: Any) -> None:
        """The cost is stated once: two figures could disagree and the rules would not know
        which to believe."""
        if ("unit_cost" in data) == ("total_cost" in data):
            raise ValidationError(
                "Give exactly one of unit_cost or total_cost.", field_name="total_cost"
            )

    @validates_schema
    def _phasing_adds_up(self, data: dict[str, Any], **_: Any) -> None:
        """A phasing that does not add up to the total would put spend in years that the total
        does not pay for (or leave part of the total in no year)."""
        phasing, total = data.get("phasing"), _total(data)
        if not phasing or total is None:
            return
        years = [entry["fiscal_year"] for entry in phasing]
        if len(set(years)) != len(years):
            raise ValidationError("Each fiscal year appears once in the phasing.",
                                  field_name="phasing")
        if any(entry["currency"] != total["currency"] for entry in phasing):
            raise ValidationError(f"Phase the cost in its own currency ({total['currency']}).",
                                  field_name="phasing")
        phased = sum(entry["amount"] for entry in phasing)
        # within the tolerance, or within one unit of the currency: a float's rounding of a
        # tiny amount split over years is not a phasing error
        if abs(phased - total["amount"]) > max(PHASING_TOLERANCE * total["amount"], 1.0):
            raise ValidationError(
                f"The phasing adds up to {phased:,.0f} {total['currency']}, not to the total "
                f"cost of {total['amount']:,.0f} (within {PHASING_TOLERANCE:.1%}).",
                field_name="phasing")


class CapabilitiesSchema(StrictSchema):
    datalinks = _enum_list(DATALINKS)
    iff_modes = _enum_list(IFF_MODES)
    standards = _enum_list(STANDARDS)
    munitions_commonality = _enum(MUNITIONS_COMMONALITY, load_default="none")


class PartnersSchema(StrictSchema):
    operators = _country_list()
    co_developers = _country_list()
    training_with = _country_list()


class ProposalSchema(FastLoad, StrictSchema):
    """Loads through ``schemas.fastload``: the same result in a fraction of the time (the API,
    the workers, batches and the command line all load proposals), and through marshmallow's
    own walk whenever the fast path is not certain, so errors are worded as they always were.
    """

    id = _line(128)
    title = _line(300, required=True)
    requesting_country = CountryCode(load_default="JP")
    fiscal_year = StrictInteger(required=True, validate=validate.Range(min=1990, max=2100))
    system = fields.Nested(SystemSchema, required=True)
    acquisition = fields.Nested(AcquisitionSchema, required=True)
    capabilities = fields.Nested(
        CapabilitiesSchema, load_default=lambda: _empty(CapabilitiesSchema)
    )
    threats_addressed = _enum_list(THREATS)
    partners = fields.Nested(PartnersSchema, load_default=lambda: _empty(PartnersSchema))


def _empty(schema: type[Schema]) -> dict[str, Any]:
    """An omitted section loads as if sent empty, so its lists and defaults are present."""
    loaded: dict[str, Any] = schema().load({})
    return loaded
