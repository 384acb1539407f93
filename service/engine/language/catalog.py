"""The catalog of field paths a rule may use: the proposal schema's leaves and the derived fields.

It is read from the marshmallow schema itself, so the rules and the API can never disagree about
what a proposal contains.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from marshmallow import Schema, fields, missing, validate

from schemas.fields import ISO_ALPHA2, CountryCode, StrictBoolean, StrictFloat, StrictInteger
from schemas.proposal import ProposalSchema
from service.engine.language.derived import DERIVED_FIELDS
from service.engine.language.fieldspec import Better, FieldSpec, Kind, Unit

# How explanations name proposal fields; a path not listed reads as its words ("Fiscal year").
LABELS = {
    "system.name": "System",
    "system.category": "System category",
    "acquisition.path": "Acquisition path",
    "acquisition.quantity": "Quantity",
    "acquisition.unit_cost.amount": "Unit cost",
    "acquisition.total_cost.amount": "Total cost",
    "acquisition.sustainment_cost_per_year.amount": "Sustainment cost per year",
    "acquisition.delivery_start_year": "First delivery year",
    "acquisition.capability_area": "Capability area",
    "capabilities.datalinks": "Datalinks",
    "capabilities.iff_modes": "IFF modes",
    "capabilities.standards": "Standards",
    "capabilities.munitions_commonality": "Munitions commonality with U.S. forces",
    "threats_addressed": "Threats addressed",
    "partners.operators": "Partner operators named in the proposal",
    "partners.co_developers": "Co-developers named in the proposal",
    "partners.training_with": "Training partners",
    "acquisition.service_life_years": "Service life (years)",
}

_CHEAPER = "the same thing for less leaves money for everything else"
# Which way each proposal field is better, whatever the criterion (a criterion may add
# directions for the fields left out here, with `better:`). Fields with no direction are those
# whose better value depends on what is bought: the quantity, the path, the category, the year.
DIRECTIONS: dict[str, Better] = {
    "acquisition.unit_cost.amount": Better("lower", _CHEAPER),
    "acquisition.total_cost.amount": Better("lower", _CHEAPER),
    "acquisition.sustainment_cost_per_year.amount": Better(
        "lower", "a cheaper fleet to keep; an unstated cost is no cheaper than the highest",
        absent_is_worst=True),
    "acquisition.delivery_start_year": Better(
        "lower", "an earlier capability; a year before the funding is not credible and a "
        "missing year is no earlier than the latest", not_below="fiscal_year",
        absent_is_worst=True),
    "capabilities.datalinks": Better("more", "another datalink is another network it joins"),
    "capabilities.iff_modes": Better("more", "another IFF mode is another force that can "
                                             "identify it"),
    "capabilities.standards": Better("more", "another open or common standard is easier "
                                             "integration"),
    "capabilities.munitions_commonality": Better(
        "order", "the more common with U.S. forces, the more stocks can be shared",
        order=("none", "partial", "full")),
    "threats_addressed": Better(
        "more", "answering another priority threat, one the system can plausibly address",
        priority_only=True),
    "partners.operators": Better("more", "another operator is shared spares, training and "
                                         "upgrades"),
    "partners.co_developers": Better("more", "another co-developer binds another partner"),
    "partners.training_with": Better("more", "another training partner is readier coalition "
                                             "operations"),
}


def _label(path: str) -> str:
    return LABELS.get(path) or path.replace(".", " ").replace("_", " ").capitalize()


def _scalar(field: fields.Field) -> tuple[Kind, tuple[str, ...] | None, str | None]:
    if isinstance(field, (StrictFloat, StrictInteger)):
        return "number", None, None
    if isinstance(field, StrictBoolean):
        return "bool", None, None
    if isinstance(field, CountryCode):
        return "string", None, ISO_ALPHA2.pattern
    enum = field.metadata.get("enum")
    return "string", tuple(enum) if enum else None, None


def _walk(schema: Schema, prefix: str, optional: bool) -> Iterator[FieldSpec]:
    for name, field in schema.fields.items():
        path = f"{prefix}{name}"
        absent = optional or (not field.required and field.load_default is missing)
        if isinstance(field, fields.Nested):
            yield from _walk(field.schema, f"{path}.", absent)
            continue
        if isinstance(field, fields.List):
            if isinstance(field.inner, fields.Nested):
                continue  # a list of records (the phasing): rules read it as derived fields
            _, values, pattern = _scalar(field.inner)
            yield FieldSpec(path, "list", _label(path), values=values, pattern=pattern,
                            better=DIRECTIONS.get(path))
            continue
        kind, values, pattern = _scalar(field)
        unit: Unit | None = "year" if path.endswith("year") else None
        description = "ISO 3166-1 alpha-2 code" if pattern else ""
        ranges = [v for v in field.validators if isinstance(v, validate.Range)]
        yield FieldSpec(
            path, kind, _label(path), description, values, pattern, unit, optional=absent,
            better=DIRECTIONS.get(path), continuous=path.endswith(".amount"),
            low=ranges[0].min if ranges else None, high=ranges[0].max if ranges else None,
            integer=isinstance(field, StrictInteger),
        )


@cache
def field_catalog() -> dict[str, FieldSpec]:
    """Every usable path, proposal fields first, then ``derived.*``."""
    catalog = {spec.path: spec for spec in _walk(ProposalSchema(), "", optional=False)}
    catalog.update((spec.path, spec) for spec in DERIVED_FIELDS)
    return catalog
