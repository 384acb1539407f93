"""Lint: rules that load but are probably wrong (the warnings of ``policy-eval rules check``).

The loader refuses what cannot work; lint warns about what works but cannot be what the analyst
meant: a rule that can never fire, two rules with the same condition, a rule that only ever
fires together with another, a rating band no proposal can reach.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

from service.engine.language.diagnostics import RuleProblem
from service.engine.language.model import (
    AllOf,
    AnyOf,
    Atom,
    Condition,
    FieldRef,
    Rule,
    Ruleset,
    operands,
)

MAX_BRANCHES = 256  # beyond this many alternatives, satisfiability is not worth the time


def branches(condition: Condition) -> list[tuple[Atom, ...]] | None:
    """The condition as alternatives of atom conjunctions (DNF), or None when too large."""
    if isinstance(condition, Atom):
        return [(condition,)]
    parts = [branches(item) for item in operands(condition)]
    if any(part is None for part in parts):
        return None
    if isinstance(condition, AnyOf):
        merged = [b for part in parts if part for b in part]
        return merged if len(merged) <= MAX_BRANCHES else None
    size = math.prod(len(part) for part in parts if part is not None)
    if size > MAX_BRANCHES:
        return None
    return [tuple(a for combo in product for a in combo)
            for product in itertools.product(*[p for p in parts if p is not None])]


@dataclass
class _Domain:
    """What one conjunction allows for one field."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    allowed: set[object] | None = None
    excluded: set[object] = field(default_factory=set)
    needs_value: bool = False  # any test but `missing` is false on an absent field
    needs_absence: bool = False
    contains: set[object] = field(default_factory=set)
    lacks: set[object] = field(default_factory=set)

    def restrict(self, values: set[object]) -> None:
        self.allowed = values if self.allowed is None else self.allowed & values

    def bound(self, op: str, value: float) -> None:
        if op in ("gt", "gte") and (value > self.low or (value == self.low and op == "gt")):
            self.low, self.low_open = value, op == "gt"
        if op in ("lt", "lte") and (value < self.high or (value == self.high and op == "lt")):
            self.high, self.high_open = value, op == "lt"

    def add(self, atom: Atom) -> None:
        op, value = atom.op, atom.value
        if op == "missing":
            self.needs_absence = True
            return
        self.needs_value = True
        if isinstance(value, FieldRef):
            return
        if op == "eq":
            self.restrict({value})
        elif op == "in":
            self.restrict(set(value))
        elif op == "ne":
            self.excluded.add(value)
        elif op == "not_in":
            self.excluded.update(value)
        elif op in ("lt", "lte", "gt", "gte"):
            self.bound(op, value)
        elif op in ("contains", "contains_all"):
            self.contains.update(value if op == "contains_all" else (value,))
        elif op in ("not_contains", "contains_none"):
            self.lacks.update(value if op == "contains_none" else (value,))

    def satisfiable(self) -> bool:
        if (self.needs_value and self.needs_absence) or self.contains & self.lacks:
            return False
        if self.low > self.high or (self.low == self.high and (self.low_open or self.high_open)):
            return False
        if self.allowed is None:
            return True
        return any(self._in_range(v) for v in self.allowed - self.excluded)

    def _in_range(self, value: object) -> bool:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return True
        above = value > self.low or (value == self.low and not self.low_open)
        below = value < self.high or (value == self.high and not self.high_open)
        return above and below


def satisfiable(conjunction: tuple[Atom, ...]) -> bool:
    domains: dict[str, _Domain] = {}
    for atom in conjunction:
        domains.setdefault(atom.field, _Domain()).add(atom)
    return all(domain.satisfiable() for domain in domains.values())


def _warning(ruleset: Ruleset, rule: Rule | None, message: str, hint: str = "") -> RuleProblem:
    return RuleProblem(ruleset.source, rule.line if rule else 1, 1, rule.id if rule else "",
                       message, hint)


def _never_fires(ruleset: Ruleset) -> Iterator[RuleProblem]:
    for rule in ruleset.rules:
        alternatives = branches(rule.guard)
        if alternatives is not None and not any(satisfiable(b) for b in alternatives):
            yield _warning(ruleset, rule, "this rule can never fire: its conditions contradict "
                           "each other", "check the operators and thresholds of its atoms")


def _overlaps(ruleset: Ruleset) -> Iterator[RuleProblem]:
    seen: dict[Condition, Rule] = {}
    for rule in ruleset.rules:
        twin = seen.get(rule.guard)
        if twin is not None:
            yield _warning(ruleset, rule, f"same condition as {twin.id} (line {twin.line})",
                           "merge the two rules, or make their conditions differ")
            continue
        seen[rule.guard] = rule
        yield from _shadowed(ruleset, rule)


def _sign(rule: Rule) -> int:
    """+1 for a rule that can only add points, -1 for one that can only take them away, 0 for
    a graded rule whose scale does both."""
    low, high = rule.point_range
    return 1 if low >= 0 and high > 0 else -1 if high <= 0 else 0


def _shadowed(ruleset: Ruleset, rule: Rule) -> Iterator[RuleProblem]:
    """A conjunction that includes all of an earlier rule's atoms only fires with it. With
    opposite signs that is a deliberate adjustment (a penalty on a strength); with the same
    sign the points stack, which is worth a second look."""
    mine = _conjunction(rule.guard)
    if mine is None or not _sign(rule):
        return
    for other in ruleset.rules:
        if (other is rule or other.line > rule.line or other.criterion != rule.criterion
                or _sign(other) != _sign(rule)):
            continue
        theirs = _conjunction(other.guard)
        if theirs is not None and theirs < mine:
            yield _warning(ruleset, rule, f"fires only when {other.id} (line {other.line}) "
                           "fires too, so their points always add up",
                           f"intended? if not, exclude {other.id}'s case from this rule")


def _conjunction(condition: Condition) -> frozenset[Atom] | None:
    if isinstance(condition, Atom):
        return frozenset((condition,))
    if isinstance(condition, AllOf) and all(isinstance(i, Atom) for i in condition.items):
        return frozenset(i for i in condition.items if isinstance(i, Atom))
    return None


def _reach(ruleset: Ruleset) -> Iterator[RuleProblem]:
    best = worst = 0.0
    for criterion in ruleset.criteria:
        ranges = [r.point_range for r in ruleset.rules if r.criterion == criterion.name]
        high = min(100.0, criterion.baseline + sum(max(hi, 0) for _, hi in ranges))
        low = max(0.0, criterion.baseline + sum(min(lo, 0) for lo, _ in ranges))
        best += criterion.weight * high
        worst += criterion.weight * low
        if high < 100 and not ranges:
            yield _warning(ruleset, None, f"criterion {criterion.name} has no rules: it always "
                           f"scores its baseline {criterion.baseline:g}")
    for band in ruleset.bands:
        if band.min_score > best:
            yield _warning(ruleset, None, f"band {band.rating} (from {band.min_score:g}) cannot be "
                           f"reached: the best possible overall score is {best:.2f}",
                           "raise baselines or points, or lower the band")
    lowest_reachable = [b for b in ruleset.bands if b.min_score <= worst]
    if len(lowest_reachable) > 1:
        top = lowest_reachable[0]
        yield _warning(ruleset, None, f"every proposal scores at least {worst:.2f}, so bands "
                       f"below {top.rating} can never be given",
                       "add weaknesses, or raise those bands")


def lint(ruleset: Ruleset) -> list[RuleProblem]:
    """Warnings for a loaded ruleset, in file order."""
    found = [*_never_fires(ruleset), *_overlaps(ruleset), *_reach(ruleset)]
    return sorted(found, key=lambda p: (p.line, p.rule_id, p.message))
