"""The compiled form of a ruleset: what the loader produces and both evaluators consume."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

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
class Rule:
    id: str
    criterion: str
    title: str
    description: str
    condition: Condition  # in negation normal form: no Not inside
    points: float
    because: str
    otherwise: str | None = None
    deficiency: str | None = None  # the recommendation this rule caps at, when it fires
    line: int = 0


@dataclass(frozen=True)
class Criterion:
    name: str
    label: str
    weight: float
    baseline: float
    rationale: str


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

    @property
    def identity(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "hash": self.content_hash}

    def band_for(self, score: float) -> Band:
        return next(b for b in self.bands if score >= b.min_score)
