"""What the rule language knows about a field: its kind, its allowed values, how to show it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["number", "string", "bool", "list"]
Unit = Literal["USD", "JPY", "ratio", "count", "years", "weight", "year"]
Way = Literal["higher", "lower", "more", "order"]
# How a derived field moves when one of its inputs grows (a list gains an item): with it, against
# it, or either way (a lookup, such as the envelope of another capability area).
Moves = Literal["+", "-", "?"]


@dataclass(frozen=True)
class Better:
    """Which way a field is better, for every criterion, and how its absence ranks.

    ``higher``/``lower`` for numbers (and true over false for ``higher`` on a yes/no field),
    ``more`` for lists (an item added), ``order`` for a closed vocabulary ranked worst first.
    ``priority_only``: only the addition of a priority threat that the system's category can
    plausibly address counts as an improvement (claiming more is not better). ``not_below``:
    a value below that field's is not credible (a delivery before the year it is funded), so
    improvements stop there. ``absent_is_worst``: leaving the field out must never score better
    than its worst stated value.
    """

    way: Way
    why: str
    order: tuple[str, ...] = ()
    priority_only: bool = False
    not_below: str | None = None
    absent_is_worst: bool = False

    @property
    def words(self) -> str:
        if self.way == "order":
            return "later in " + " → ".join(self.order)
        if self.way == "more":
            return "more priority threats" if self.priority_only else "more items"
        return self.way


@dataclass(frozen=True)
class FieldSpec:
    """One path a rule may test (``acquisition.quantity``, ``derived.total_cost_jpy``).

    ``values`` closes the vocabulary of a string (or of a list's items); ``pattern`` constrains
    it when the vocabulary is open but shaped, as ISO country codes are.
    """

    path: str
    kind: Kind
    label: str
    description: str = ""
    values: tuple[str, ...] | None = None
    pattern: str | None = None
    unit: Unit | None = None
    optional: bool = False
    better: Better | None = None
    # for a derived field: the proposal fields it is computed from, and how it moves with each,
    # and the items of a list input it singles out (us_operated: US among the operators)
    inputs: tuple[tuple[str, Moves], ...] = ()
    singles_out: tuple[str, ...] = ()
    # a figure that can take any value (money): a score that jumps where it crosses a threshold
    # has a cliff
    continuous: bool = False
    # the values the proposal schema accepts for a number, and whether only whole ones
    low: float | None = None
    high: float | None = None
    integer: bool = False

    def precise(self, value: float) -> float:
        """A computed amount to the precision money has: yen to the yen, dollars to the cent.
        Derived amounts are rounded so in the fact too, so a rule compares the amount its
        explanation shows (ratios are not: a share rounded for the fact could fall on the
        other side of a comparison of the two amounts it divides)."""
        if self.unit == "JPY":
            return float(round(value))
        if self.unit == "USD":
            return round(value, 2)
        return value

    @property
    def whole(self) -> bool:
        """Whether the field only holds whole numbers (counts, years, yen, integer fields)."""
        return self.integer or self.unit in ("count", "year", "years", "JPY")

    def reported(self, value: Any) -> Any:
        """``value`` as results write it: a ratio to 4 significant digits, a whole number as an
        integer (``2026``, not ``2026.0``: the fact holds floats, as durable-rules compares JSON
        numbers as doubles)."""
        if type(value) is not float:
            return value
        if self.unit == "ratio":
            return float(f"{value:.4g}")
        if self.whole and value.is_integer():
            return int(value)
        return value

    @property
    def item_kind(self) -> Kind:
        """The kind a literal compared with this field must have (a list's items are strings)."""
        return "string" if self.kind == "list" else self.kind

    def accepts_literal(self, literal: Any) -> str | None:
        """Why ``literal`` cannot be compared with this field, or None when it can."""
        expected = self.item_kind
        if expected == "number":
            if isinstance(literal, bool) or not isinstance(literal, (int, float)):
                return f"{self.path} is a number; {literal!r} is not"
            return None
        if expected == "bool":
            return None if isinstance(literal, bool) else f"{self.path} is true/false"
        if not isinstance(literal, str):
            return f"{self.path} holds text; {literal!r} is not text"
        if self.values is not None and literal not in self.values:
            return f"{literal!r} is not a value {self.path} can take"
        if self.pattern is not None and not re.fullmatch(self.pattern, literal):
            return f"{literal!r} does not have the form of {self.path} ({self.description})"
        return None
