"""The single-field changes worth trying, taken from the rules themselves.

A rule's outcome changes only where one of its atoms changes truth (or a scale its slope), so
per proposal field the candidates are: for a number, the two values on the field's step either
side of every threshold a rule compares it with, directly or through a derived field that moves
with it (``derived.share_of_annual_budget`` through the cost, found by the straight line the
derived field follows: two facts give it, and the step grid points around the crossing are the
candidates) and the two ends of its declared range; a scale's breakpoints likewise; for a
list, each item a rule names (or the ruleset declares) added, and each named item removed (any
item, for a declared list); for a closed vocabulary, each value a rule names
(every value when a derived lookup reads the field); for an optional field, leaving it out.
Between two neighbouring candidates of one field no atom changes truth, so trying them all is
an exact search over that field.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from service.engine.evaluation.facts import ABSENT, fact_and_derived, value_at
from service.engine.language.catalog import field_catalog
from service.engine.language.fieldspec import FieldSpec
from service.engine.language.model import Atom, FieldRef, NumberChange, Ruleset
from service.engine.language.operators import atoms as atoms_of
from service.engine.whatif.changes import Change, apply

# the currency of an amount is part of how it is stated, not something to change
UNCHANGED_SUFFIXES = (".currency",)
DEFAULT_CURRENCY = "JPY"


@dataclass
class FieldPlan:
    """What the rules test of one changeable proposal field."""

    spec: FieldSpec
    thresholds: set[tuple[str, float]] = field(default_factory=set)  # (fact field, value)
    # (fact field, the fact field it is compared with): a threshold that is the proposal's own
    references: set[tuple[str, str]] = field(default_factory=set)
    items: dict[str, None] = field(default_factory=dict)  # list items or enum values named
    every_value: bool = False  # a lookup reads it, or a count: every value may matter
    declared: bool = False  # a list whose gains the ruleset declares: any item may go


@dataclass(frozen=True)
class Plan:
    """Per ruleset, the changeable fields its rules test; built once per ruleset."""

    fields: dict[str, FieldPlan]
    numbers: dict[str, NumberChange]


_PLANS: dict[str, Plan] = {}


def plan_for(ruleset: Ruleset) -> Plan:
    plan = _PLANS.get(ruleset.content_hash)
    if plan is None:
        plan = _PLANS[ruleset.content_hash] = _plan(ruleset)
    return plan


def _inputs(spec: FieldSpec) -> list[tuple[str, str]]:
    """The proposal fields a fact field moves with: itself, or a derived field's inputs."""
    return list(spec.inputs) if spec.path.startswith("derived.") else [(spec.path, "+")]


def _plan(ruleset: Ruleset) -> Plan:
    catalog = field_catalog()
    fixed = ruleset.changeable.fixed
    fields: dict[str, FieldPlan] = {}
    for rule in ruleset.rules:
        tested = [(a.field, a, a.value.path if isinstance(a.value, FieldRef) else None)
                  for a in atoms_of(rule.guard)]
        tested += [(a.value.path, a, a.field) for a in atoms_of(rule.guard)
                   if isinstance(a.value, FieldRef)]
        if rule.scale is not None:
            tested += [(rule.scale.field, Atom(rule.scale.field, "gte", x), None)
                       for x, _ in rule.scale.breakpoints]
        for fact_field, atom, other in tested:
            spec = catalog[fact_field]
            for path, moves in _inputs(spec):
                target = catalog.get(path)
                if target is None or _fixed(path, fixed) or path.endswith(UNCHANGED_SUFFIXES):
                    continue
                plan = fields.setdefault(path, FieldPlan(target))
                _note(plan, spec, atom, moves, other)
                plan.items.update((item, None) for item in spec.singles_out)
    for path, items in ruleset.changeable.lists.items():
        if path in fields:
            fields[path].items = dict.fromkeys(items)
            fields[path].every_value = False
            fields[path].declared = True
    return Plan(fields, _numbers(ruleset, fields))


def _fixed(path: str, fixed: tuple[str, ...]) -> bool:
    """Whether ``path`` is fixed, itself or as part of a fixed object."""
    return any(path == f or path.startswith(f + ".") for f in fixed)


def _note(plan: FieldPlan, tested: FieldSpec, atom: Atom, moves: str, other: str | None
          ) -> None:
    """Record what ``atom`` on ``tested`` (compared with the fact field ``other`` when it
    compares two fields) says about the field ``plan`` is for."""
    value = atom.value
    if plan.spec.kind == "number":
        if moves not in "+-":
            return
        if other is not None:
            plan.references.add((tested.path, other))
        numbers = value if isinstance(value, (tuple, list)) else (value,)
        plan.thresholds.update((tested.path, float(v)) for v in numbers
                               if isinstance(v, (int, float)) and not isinstance(v, bool))
        return
    if other is not None:
        plan.every_value = plan.every_value or plan.spec.values is not None
        return
    named = value if isinstance(value, (tuple, list)) else (value,)
    strings = [v for v in named if isinstance(v, str)]
    if tested.kind == "number" or moves == "?" or (not strings and tested.kind != "bool"):
        plan.every_value = plan.every_value or plan.spec.values is not None
    plan.items.update((v, None) for v in strings if plan.spec.accepts_literal(v) is None)


def _numbers(ruleset: Ruleset, fields: dict[str, FieldPlan]) -> dict[str, NumberChange]:
    declared = ruleset.changeable.numbers
    found = {}
    for path, plan in fields.items():
        spec = plan.spec
        if spec.kind != "number":
            continue
        found[path] = declared.get(path) or NumberChange(
            spec.low if spec.low is not None else -1e15,
            spec.high if spec.high is not None else 1e15, 1.0 if spec.whole else 0.01)
    return found


def singles(ruleset: Ruleset, proposal: Mapping[str, Any]) -> Iterator[Change]:
    """Every single-field candidate change of the validated ``proposal``, each once."""
    plan = plan_for(ruleset)
    seen: set[tuple[str, str]] = set()
    for path, field_plan in plan.fields.items():
        for change in _field_changes(ruleset, plan, path, field_plan, proposal):
            key = (change.field, repr(change.after))
            if key not in seen and change.after != change.before:
                seen.add(key)
                yield change


def _field_changes(ruleset: Ruleset, plan: Plan, path: str, field_plan: FieldPlan,
                   proposal: Mapping[str, Any]) -> Iterator[Change]:
    spec = field_plan.spec
    current = value_at(proposal, path)
    if spec.kind == "number":
        yield from _number_changes(ruleset, plan.numbers[path], path, field_plan, proposal)
    elif spec.kind == "list":
        yield from _list_changes(path, field_plan, current if current is not ABSENT else [])
    elif spec.kind == "bool":
        yield Change(path, current, not current if isinstance(current, bool) else True)
    else:
        values = spec.values if field_plan.every_value and spec.values else field_plan.items
        yield from (Change(path, current, value) for value in values if value != current)
    if spec.optional and current is not ABSENT:
        holder = _holder(path)
        yield Change(holder, value_at(proposal, holder), ABSENT)


def _holder(path: str) -> str:
    """What is left out to leave out ``path``: an amount's whole money object."""
    return path.rsplit(".", 1)[0] if path.endswith(".amount") else path


def _list_changes(path: str, plan: FieldPlan, current: list[Any]) -> Iterator[Change]:
    vocabulary = list(plan.items)
    if plan.every_value and plan.spec.values:
        vocabulary += [v for v in plan.spec.values if v not in plan.items]
    for item in vocabulary:
        if item not in current:
            yield Change(path, current, [*current, item])
    for item in current:
        if item in plan.items or plan.every_value or plan.declared:
            yield Change(path, current, [v for v in current if v != item])


def set_number(proposal: Mapping[str, Any], path: str, value: float) -> Change:
    """The change giving ``path`` the value; an absent amount is given in the default
    currency, as its whole money object."""
    holder = _holder(path)
    before = value_at(proposal, holder)
    value = int(value) if float(value).is_integer() else value
    if holder != path and before is ABSENT:
        return Change(holder, ABSENT, {"amount": value, "currency": DEFAULT_CURRENCY})
    return Change(path, value_at(proposal, path), value)


def _number_changes(ruleset: Ruleset, declared: NumberChange, path: str, plan: FieldPlan,
                    proposal: Mapping[str, Any]) -> Iterator[Change]:
    current = value_at(proposal, path)
    lines, base = _lines(ruleset, declared, path, plan, proposal, current)
    thresholds = set(plan.thresholds)
    thresholds.update((fact_field, float(base[other])) for fact_field, other in plan.references
                      if isinstance(base.get(other), (int, float))
                      and not isinstance(base.get(other), bool))
    # the ends of the range: given at all (what ``exists`` asks), and where a value outside
    # the range comes in (the crossings beyond an end are reached there first)
    yield set_number(proposal, path, declared.low)
    yield set_number(proposal, path, _on_grid(declared.high, declared))
    for fact_field, threshold in sorted(thresholds):
        line = lines.get(fact_field)
        if line is None:
            continue
        at, slope, value = line
        if slope == 0:
            continue
        for x in _grid_around(at + (threshold - value) / slope, declared):
            yield set_number(proposal, path, x)


def _lines(ruleset: Ruleset, declared: NumberChange, path: str, plan: FieldPlan,
           proposal: Mapping[str, Any], current: Any
           ) -> tuple[dict[str, tuple[float, float, float]], dict[str, Any]]:
    """Per fact field this number moves, a point on its straight line and its slope: from the
    facts of two proposals that differ only in this number; and the first of the two facts."""
    start = float(current) if current is not ABSENT else declared.low
    width = declared.high - declared.low
    other = start + max(declared.step, min(width / 2, abs(start) or 1.0))
    if other > declared.high:
        other = start - max(declared.step, min(width / 2, abs(start) or 1.0))
    fields = {fact_field for fact_field, _ in plan.thresholds | plan.references}
    facts = []
    for x in (start, other):
        edited = apply(proposal, [set_number(proposal, path, _whole(x, plan.spec))])
        facts.append(fact_and_derived(edited, ruleset.context)[0])
    found = {}
    for fact_field in fields:
        a, b = facts[0].get(fact_field), facts[1].get(fact_field)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and other != start:
            found[fact_field] = (start, (float(b) - float(a)) / (other - start), float(a))
    return found, facts[0]


def _whole(x: float, spec: FieldSpec) -> float | int:
    return round(x) if spec.integer else x


def _on_grid(x: float, declared: NumberChange) -> float:
    """The highest value on the step grid at or below ``x``."""
    return round(declared.low + math.floor((x - declared.low) / declared.step + 1e-9)
                 * declared.step, 10)


def _grid_around(x: float, declared: NumberChange) -> list[float]:
    """The values on the step grid just below and just above ``x`` (and ``x`` itself when it
    is on the grid, with its neighbours), within the declared range."""
    if not math.isfinite(x):
        return []
    step, low = declared.step, declared.low
    k = math.floor((x - low) / step + 1e-9)
    on_grid = abs(low + k * step - x) <= 1e-9 * max(1.0, abs(x))
    ks = (k - 1, k, k + 1) if on_grid else (k, k + 1)
    values = [round(low + n * step, 10) for n in ks]
    return [v for v in values if declared.low <= v <= declared.high]
