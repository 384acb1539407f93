"""The compiled form of a ruleset: what the loader produces and both evaluators consume."""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from schemas.vocabulary import ACQUISITION_PATHS, SYSTEM_CATEGORIES, VALUE_LABELS, a_system
from service.engine.language.reference import Context


@dataclass(frozen=True)
class FieldRef:
    """A comparison with another field of the same proposal instead of a literal."""

    path: str


@dataclass(frozen=True)
class Atom:
    """``field op value``; after normalization ``op`` is never negated by an enclosing ``not``."""

    field: str
    op: str
    value: Any = None
    # where it was written, not what it means (``field`` is shadowed by the attribute above)
    line: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Atom | AllOf | AnyOf | Not


def operands(condition: AllOf | AnyOf | Not) -> tuple[Condition, ...]:
    """The children of a group; evaluators only ever see normalized trees, where ``not`` is
    gone, so meeting one is a programming error."""
    if isinstance(condition, Not):
        raise TypeError("conditions are normalized (no 'not') before they are evaluated")
    return condition.items


@dataclass(frozen=True)
class Scale:
    """Points read off a piecewise-linear scale of a number instead of fixed points, so that a
    score moves with the figure rather than jumping where a threshold is crossed.

    ``breakpoints`` are (value, points) pairs with strictly increasing values; between two of
    them the points are interpolated, beyond the ends they stay at the end's points.
    """

    field: str
    breakpoints: tuple[tuple[float, float], ...]

    def points_at(self, value: float) -> float:
        """The points at ``value``, to two decimals: an explanation shows them so, and every
        evaluator reads the same figure."""
        xs = [x for x, _ in self.breakpoints]
        index = bisect.bisect_right(xs, value)
        if index == 0:
            points = self.breakpoints[0][1]
        elif index == len(xs):
            points = self.breakpoints[-1][1]
        else:
            (x0, p0), (x1, p1) = self.breakpoints[index - 1], self.breakpoints[index]
            points = p0 + (p1 - p0) * (value - x0) / (x1 - x0)
        return round(points, 2) + 0.0  # + 0.0: never -0.0

    @property
    def lowest(self) -> float:
        return min(p for _, p in self.breakpoints)

    @property
    def highest(self) -> float:
        return max(p for _, p in self.breakpoints)


def _narrow(allowed: tuple[str, ...] | None, vocabulary: tuple[str, ...],
            field_path: str, line: int) -> tuple[Atom, ...]:
    """The test of one scope dimension, in the shorter of its two forms (``in`` the allowed
    values or ``not_in`` the others), as few comparisons as durable-rules can be given."""
    if allowed is None:
        return ()
    others = tuple(v for v in vocabulary if v not in allowed)
    if len(others) < len(allowed):
        return (Atom(field_path, "not_in", others, line),)
    return (Atom(field_path, "in", allowed, line),)


def _either(words: Iterable[str]) -> str:
    """"a, b or c": alternatives as a sentence lists them."""
    listed = list(words)
    if not listed:  # a scope narrowed by its group's to nothing
        return "nothing"
    return " or ".join(filter(None, (", ".join(listed[:-1]), listed[-1])))


@dataclass(frozen=True)
class Scope:
    """The system categories and acquisition paths a rule is meant for. Outside them the rule
    is not applicable: it neither fires nor counts as a condition that failed.

    ``None`` means every value; the allowed values are kept in vocabulary order.
    """

    categories: tuple[str, ...] | None = None
    paths: tuple[str, ...] | None = None
    line: int = field(default=0, compare=False)

    def atoms(self) -> tuple[Atom, ...]:
        return (*_narrow(self.categories, SYSTEM_CATEGORIES, "system.category", self.line),
                *_narrow(self.paths, ACQUISITION_PATHS, "acquisition.path", self.line))

    def applies(self, fact: Mapping[str, Any]) -> bool:
        return ((self.categories is None or fact["system.category"] in self.categories)
                and (self.paths is None or fact["acquisition.path"] in self.paths))

    def describe(self) -> str:
        """The scope in words: "cyber or space systems, bought through fms"."""
        parts = []
        for allowed, vocabulary, noun in ((self.categories, SYSTEM_CATEGORIES, "categories"),
                                          (self.paths, ACQUISITION_PATHS, "paths")):
            if allowed is None:
                continue
            others = [v for v in vocabulary if v not in allowed]
            parts.append(f"{noun} other than {', '.join(others)}" if len(others) < len(allowed)
                         else f"{noun} {', '.join(allowed)}")
        return "; ".join(parts) or "every proposal"

    def in_words(self) -> str:
        """The scope as an analyst reads it, by labels rather than codes: "a cyber-defense
        system or a space system bought through Foreign Military Sales"."""
        kinds = "any system"
        if self.categories is not None:
            others = [c for c in SYSTEM_CATEGORIES if c not in self.categories]
            kinds = (f"any system other than {_either(map(a_system, others))},"
                     if len(others) < len(self.categories)
                     else _either(map(a_system, self.categories)))
        if self.paths is None:
            return kinds.rstrip(",")
        return f"{kinds} bought through {_either(VALUE_LABELS[p] for p in self.paths)}"

    def within(self, outer: Scope | None) -> Scope:
        """This scope inside a group's: only what both allow."""
        if outer is None:
            return self
        return Scope(_both(self.categories, outer.categories, SYSTEM_CATEGORIES),
                     _both(self.paths, outer.paths, ACQUISITION_PATHS), self.line)


def _both(inner: tuple[str, ...] | None, outer: tuple[str, ...] | None,
          vocabulary: tuple[str, ...]) -> tuple[str, ...] | None:
    if inner is None or outer is None:
        return outer if inner is None else inner
    return tuple(v for v in vocabulary if v in inner and v in outer)


@dataclass(frozen=True)
class Rule:
    id: str
    criterion: str
    title: str
    description: str
    condition: Condition  # in negation normal form: no Not inside
    points: float | None  # None for a graded rule: its points are read off its scale
    because: str
    otherwise: str | None = None
    deficiency: str | None = None  # the recommendation this rule caps at, when it fires
    line: int = 0
    scale: Scale | None = None
    scope: Scope | None = None

    @cached_property
    def guard(self) -> Condition:
        """What decides whether the rule fires: its scope and its condition, as one condition
        (still in negation normal form), so that every evaluator decides scopes too."""
        if self.scope is None or not self.scope.atoms():
            return self.condition
        own = self.condition.items if isinstance(self.condition, AllOf) else (self.condition,)
        return AllOf((*self.scope.atoms(), *own))

    def points_for(self, fact: Mapping[str, Any]) -> float:
        """The points the rule gives when it fires on ``fact``. A graded rule fires only when
        its scale's field is given (the loader makes its condition require it)."""
        if self.scale is not None:
            return self.scale.points_at(fact[self.scale.field])
        return self.points or 0.0  # a rule without a scale always has points

    @property
    def point_range(self) -> tuple[float, float]:
        """The fewest and the most points the rule can give when it fires."""
        if self.scale is not None:
            return self.scale.lowest, self.scale.highest
        points = self.points or 0.0
        return points, points

    def applies(self, fact: Mapping[str, Any]) -> bool:
        return self.scope is None or self.scope.applies(fact)


# What `rules check` finds that a ruleset may acknowledge, with a reason, instead of fixing.
CHECKS = ("monotonicity", "missing-value", "cliff", "overlap", "registry")


@dataclass(frozen=True)
class Acknowledgment:
    """A finding of ``rules check`` the ruleset's authors accept, and why: a known debt that is
    written down rather than hidden. ``rules`` (or ``systems``, for the registry check) name
    what it covers; a finding is acknowledged when all its rules are among them."""

    check: str
    rules: tuple[str, ...]
    systems: tuple[str, ...]
    reason: str
    line: int = 0


@dataclass(frozen=True)
class Criterion:
    name: str
    label: str
    weight: float
    baseline: float
    rationale: str
    # directions this criterion adds to the catalog's: (field path, "higher" or "lower")
    better: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Band:
    rating: str
    min_score: float
    recommendation: str


@dataclass(frozen=True)
class Range:
    low: float
    high: float

    @property
    def width(self) -> float:
        return self.high - self.low


@dataclass(frozen=True)
class Uncertainty:
    """How far the ruleset's own figures may be off, for robustness analysis of a batch: an
    evaluation never reads it. Weights move either within intervals or around the stated
    weights with a Dirichlet concentration (never both); costs move by acquisition path, and
    the JPY/USD rate as a fraction of the context's rate. What is not named is exact."""

    weights: dict[str, Range] = field(default_factory=dict)  # criterion -> weight interval
    weight_concentration: float | None = None
    cost_by_path: dict[str, Range] = field(default_factory=dict)  # actual / stated cost
    exchange_rate: Range | None = None  # the rate used / the context's rate


# Who asks and what is asked for: a counterfactual never changes them, declared or not.
IDENTITY_FIELDS = ("id", "title", "requesting_country", "fiscal_year", "system.name",
                   "system.category", "system.origin_country", "system.prime_contractor")


@dataclass(frozen=True)
class NumberChange:
    """The values a number may take in a counterfactual: within [low, high], on the step."""

    low: float
    high: float
    step: float


@dataclass(frozen=True)
class Changeable:
    """The ruleset's ``counterfactuals:`` section: what a "what would it take" answer may
    change. ``fixed`` fields never change (the identity fields always among them); a number
    moves within its declared range on its step (else the schema's range, by whole units for
    whole numbers and by cents otherwise); a list gains only items of its declared vocabulary
    (else the items the rules name)."""

    fixed: tuple[str, ...] = IDENTITY_FIELDS
    numbers: dict[str, NumberChange] = field(default_factory=dict)
    lists: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Ruleset:
    name: str
    version: str
    description: str
    criteria: tuple[Criterion, ...]
    bands: tuple[Band, ...]  # highest min_score first
    rules: tuple[Rule, ...]
    context: Context
    content_hash: str
    source: str = ""
    # the ruleset as data with its context inline: what is hashed, stored and published
    document: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    uncertainty: Uncertainty | None = None  # declared in the file, hashed with it
    acknowledged: tuple[Acknowledgment, ...] = ()
    changeable: Changeable = field(default_factory=Changeable)  # declared, hashed with it

    @cached_property
    def graded_criteria(self) -> frozenset[str]:
        """The criteria with a graded rule: their points have two decimals, not whole ones."""
        return frozenset(rule.criterion for rule in self.rules if rule.scale is not None)

    @property
    def identity(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "hash": self.content_hash}

    def band_for(self, score: float) -> Band:
        return next(b for b in self.bands if score >= b.min_score)
