"""Evidence in plain words: for each atom, the field, the observed value, the operator and the
threshold, formatted the way an analyst reads them (¥366.3 billion, 16.2%).

Each atom's evidence is prepared once per ruleset (``AtomEvidence``): its label, its operator's
words and, for a literal, the formatted threshold are fixed, so an evaluation only formats the
observed value (and a compared field's value) and joins the words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from service.engine.evaluation.facts import ABSENT
from service.engine.language.catalog import field_catalog
from service.engine.language.fieldspec import FieldSpec
from service.engine.language.model import Atom, FieldRef, Scale
from service.engine.language.operators import OPERATORS
from service.engine.language.templates import show

_SCALES = ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"))
NOT_GIVEN = "not given"


def money(value: float, symbol: str) -> str:
    for scale, word in _SCALES:
        if abs(value) >= scale:
            return f"{symbol}{value / scale:,.3g} {word}"
    return f"{symbol}{value:,.0f}"


def _whole(value: float) -> str:
    return f"{value:.0f}"


# how a number reads, by the unit of its field (``show`` for a number without one)
NUMBER_FORMATS: dict[str | None, Callable[[float], str]] = {
    "JPY": lambda value: money(value, "¥"),
    "USD": lambda value: money(value, "$"),
    "ratio": lambda value: f"{value * 100:.3g}%",
    "count": _whole,
    "years": _whole,
    "year": _whole,
    "weight": lambda value: f"{value:.2f}",
}


def format_value(value: Any, spec: FieldSpec) -> str:
    if isinstance(value, tuple):
        return ", ".join(format_value(v, spec) for v in value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return show(value)
    return NUMBER_FORMATS.get(spec.unit, show)(value)


class AtomEvidence:
    """One atom of one rule as the explanation reports it: raw values for machines, a sentence
    for people. ``report`` takes the observed value, the compared field's value (``ABSENT``
    when the proposal does not give it; ignored for a literal) and whether the atom holds."""

    def __init__(self, atom: Atom) -> None:
        catalog = field_catalog()
        spec = catalog[atom.field]
        operator = OPERATORS[atom.op]
        reference = atom.value.path if isinstance(atom.value, FieldRef) else None
        self.atom = atom
        self._spec = spec
        self._number = NUMBER_FORMATS.get(spec.unit, show)  # what format_value does to a float
        self._head = f"{spec.label} is "
        self._asks = f"; the rule asks that it {operator.words}"
        self._reference = reference
        self._threshold_spec = catalog[reference] if reference else spec
        self._after = f" ({self._threshold_spec.label})" if reference else ""
        takes_value = operator.value != "none"
        literal = atom.value if takes_value and not reference else None
        if literal is not None:  # its words are fixed
            self._asks += f" {format_value(literal, spec)}"
        self._literal_list = literal if isinstance(literal, tuple) else None
        # per outcome: the entry with every fixed value in place, in the order results show
        # them, and how its text ends
        self._entries: dict[bool, dict[str, Any]] = {holds: {
            "field": atom.field, "label": spec.label, "observed": None, "op": atom.op,
            "threshold": spec.reported(literal), "threshold_field": reference,
            "holds": holds, "text": None,
        } for holds in (True, False)}
        self._ends = {True: " — met.", False: " — not met."}
        self._tails = {holds: self._asks + end for holds, end in self._ends.items()}

    def report(self, observed: Any, threshold: Any, holds: bool) -> dict[str, Any]:
        entry = self._entries[holds].copy()
        if type(observed) is float:
            shown = self._number(observed)
            entry["observed"] = self._spec.reported(observed)
        elif observed is ABSENT:
            shown = NOT_GIVEN
        else:
            shown = format_value(observed, self._spec)
            entry["observed"] = observed
        if self._reference is None:
            if self._literal_list is not None:
                entry["threshold"] = list(self._literal_list)  # each result its own list
            entry["text"] = self._head + shown + self._tails[holds]
            return entry
        if threshold is ABSENT:
            compared = NOT_GIVEN
        else:
            compared = format_value(threshold, self._threshold_spec)
            entry["threshold"] = self._threshold_spec.reported(threshold)
        entry["text"] = (self._head + shown + self._asks + " " + compared + self._after
                         + self._ends[holds])
        return entry


class ScaleReading:
    """A graded rule's scale as the explanation reports it, prepared once: the field's label
    and the scale in words are fixed, so a reading only formats the observed value and the
    points read off it."""

    def __init__(self, scale: Scale) -> None:
        spec = field_catalog()[scale.field]
        self.scale = scale
        self._spec = spec
        self._number = NUMBER_FORMATS.get(spec.unit, show)
        self._head = f"{spec.label} is "
        steps = ", ".join(f"{format_value(x, spec)} → {p:+g}" for x, p in scale.breakpoints)
        self._middle = f"; on the scale {steps} (level beyond its ends) that gives "
        self._fixed = {"field": scale.field, "label": spec.label}

    def points(self, observed: float) -> float:
        return self.scale.points_at(observed)

    def report(self, observed: float) -> dict[str, Any]:
        points = self.scale.points_at(observed)
        return {**self._fixed, "observed": self._spec.reported(observed),
                "breakpoints": [[self._spec.reported(x), p] for x, p in self.scale.breakpoints],
                "points": points,
                "text": f"{self._head}{self._number(observed)}{self._middle}{points:+g} points."}
