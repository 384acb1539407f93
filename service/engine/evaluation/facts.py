"""The fact: a proposal and its derived fields as one flat mapping of field path to value.

Both evaluators read the same fact, so they cannot disagree about what the proposal says.
Numbers are all floats, because durable-rules compares JSON numbers as doubles and the compiled
evaluator must see exactly what it sees.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from service.engine.evaluation.enrichment import enrich
from service.engine.language.derived import DERIVED_FIELDS
from service.engine.language.fieldspec import FieldSpec
from service.engine.language.reference import Context

Fact = dict[str, Any]


class _Absent:
    """What a lookup of a field the proposal does not give returns (never a value in a fact)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


def _value(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return float(value)


def _flatten(data: dict[str, Any], prefix: str, into: Fact) -> None:
    for key, value in data.items():
        kind = type(value)
        # the exact types of validated and derived data first, told apart by type alone
        if kind is str or kind is float or kind is bool:
            into[prefix + key] = value
        elif kind is int:
            into[prefix + key] = float(value)
        elif isinstance(value, dict):
            _flatten(value, f"{prefix}{key}.", into)
        elif kind is list and value and type(value[0]) is dict:
            continue  # records (the phasing) reach rules only through their derived fields
        else:
            into[prefix + key] = list(value) if isinstance(value, list) else _value(value)


@cache
def _derived_specs() -> dict[str, FieldSpec]:
    """The catalog's spec of each derived field, keyed without ``derived.``."""
    return {spec.path.removeprefix("derived."): spec for spec in DERIVED_FIELDS}


def fact_and_derived(proposal: dict[str, Any], context: Context) -> tuple[Fact, dict[str, Any]]:
    """The fact, and its derived fields keyed without ``derived.`` as results report them.

    Derived figures are rounded to what their data supports (``FieldSpec.precise``) in the fact
    itself, so a rule decides on the value its explanation shows; the report writes whole
    numbers as integers (``FieldSpec.reported``)."""
    fact: Fact = {}
    _flatten(proposal, "", fact)
    computed: dict[str, Any] = {}
    _flatten(enrich(proposal, context), "", computed)
    specs = _derived_specs()
    derived: dict[str, Any] = {}
    for key, value in computed.items():
        spec = specs.get(key)
        if spec is not None and type(value) is float:
            value = spec.precise(value)
            derived[key] = spec.reported(value)
        else:
            derived[key] = value
        fact["derived." + key] = value
    return fact, derived


def build_fact(proposal: dict[str, Any], context: Context) -> Fact:
    """Flatten a validated proposal and add ``derived.*``; absent optional fields stay absent."""
    return fact_and_derived(proposal, context)[0]
