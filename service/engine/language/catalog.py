"""The catalog of field paths a rule may use: the proposal schema's leaves and the derived fields.

It is read from the marshmallow schema itself, so the rules and the API can never disagree about
what a proposal contains.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from marshmallow import Schema, fields, missing

from schemas.fields import ISO_ALPHA2, CountryCode, StrictBoolean, StrictFloat, StrictInteger
from schemas.proposal import ProposalSchema
from service.engine.language.derived import DERIVED_FIELDS
from service.engine.language.fieldspec import FieldSpec, Kind, Unit

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
            _, values, pattern = _scalar(field.inner)
            yield FieldSpec(path, "list", _label(path), values=values, pattern=pattern)
            continue
        kind, values, pattern = _scalar(field)
        unit: Unit | None = "year" if path.endswith("year") else None
        description = "ISO 3166-1 alpha-2 code" if pattern else ""
        yield FieldSpec(
            path, kind, _label(path), description, values, pattern, unit, optional=absent
        )


@cache
def field_catalog() -> dict[str, FieldSpec]:
    """Every usable path, proposal fields first, then ``derived.*``."""
    catalog = {spec.path: spec for spec in _walk(ProposalSchema(), "", optional=False)}
    catalog.update((spec.path, spec) for spec in DERIVED_FIELDS)
    return catalog
