"""The fact: a proposal and its derived fields as one flat mapping of field path to value.

Both evaluators read the same fact, so they cannot disagree about what the proposal says.
Numbers are all floats, because durable-rules compares JSON numbers as doubles and the compiled
evaluator must see exactly what it sees.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from service.engine.evaluation.enrichment import enrich
from service.engine.language.derived import DERIVED_FIELDS
from service.engine.language.reference import Context

Fact = dict[str, Any]


class _Absent:
    """What a lookup of a field the proposal does not give returns (never a value in a fact)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


def value_at(proposal: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of a proposal as submitted, or ``ABSENT``."""
    node: Any = proposal
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return ABSENT
        node = node[key]
    return node


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


Rounding = tuple[Callable[[float], float], Callable[[float], Any]]


@cache
def _roundings() -> dict[str, Rounding]:
    """For each derived number that is rounded or reported otherwise than computed (keyed
    without ``derived.``): ``FieldSpec.precise`` and ``FieldSpec.reported``, looked up once."""
    return {spec.path.removeprefix("derived."): (spec.precise, spec.reported)
            for spec in DERIVED_FIELDS
            if spec.kind == "number" and (spec.unit in ("JPY", "USD", "ratio") or spec.whole)}


def fact_and_derived(proposal: dict[str, Any], context: Context) -> tuple[Fact, dict[str, Any]]:
    """The fact, and its derived fields keyed without ``derived.`` as results report them.

    Derived amounts are rounded to what money has (``FieldSpec.precise``) in the fact itself, so
    a rule compares the amount its explanation shows; the report writes ratios to 4 significant
    digits and whole numbers as integers (``FieldSpec.reported``)."""
    fact: Fact = {}
    _flatten(proposal, "", fact)
    derived: dict[str, Any] = {}
    _flatten(enrich(proposal, context), "", derived)
    roundings = _roundings()
    for key, value in derived.items():
        rounding = roundings.get(key)
        if rounding is not None and type(value) is float:
            value = rounding[0](value)
            derived[key] = rounding[1](value)
        fact["derived." + key] = value
    return fact, derived


def build_fact(proposal: dict[str, Any], context: Context) -> Fact:
    """Flatten a validated proposal and add ``derived.*``; absent optional fields stay absent."""
    return fact_and_derived(proposal, context)[0]
