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
from service.engine.language.model import Atom, FieldRef
from service.engine.language.operators import OPERATORS
from service.engine.language.templates import show

_SCALES = ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"))
NOT_GIVEN = "not given"


def _money(value: float, symbol: str) -> str:
    for scale, word in _SCALES:
        if abs(value) >= scale:
            return f"{symbol}{value / scale:,.3g} {word}"
    return f"{symbol}{value:,.0f}"


def _whole(value: float) -> str:
    return f"{value:.0f}"


# how a number reads, by the unit of its field (``show`` for a number without one)
NUMBER_FORMATS: dict[str | None, Callable[[float], str]] = {
    "JPY": lambda value: _money(value, "¥"),
    "USD": lambda value: _money(value, "$"),
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
    for people. Called with the observed value, the compared field's value (``ABSENT`` when
    the proposal does not give it; ignored for a literal) and whether the atom holds."""

    def __init__(self, atom: Atom) -> None:
        catalog = field_catalog()
        spec = catalog[atom.field]
        operator = OPERATORS[atom.op]
        self.atom = atom
        self._spec = spec
        self._number = NUMBER_FORMATS.get(spec.unit, show)  # what format_value does to a float
        self._head = f"{spec.label} is "
        self._asks = f"; the rule asks that it {operator.words}"
        self._reference = atom.value.path if isinstance(atom.value, FieldRef) else None
        self._takes_value = operator.value != "none"
        self._threshold_spec = catalog[self._reference] if self._reference else spec
        self._after = f" ({self._threshold_spec.label})" if self._reference else ""
        if self._takes_value and not self._reference:  # a literal: its words are fixed
            self._asks += f" {format_value(atom.value, spec)}"

    def __call__(self, observed: Any, threshold: Any, holds: bool) -> dict[str, Any]:
        present = observed is not ABSENT
        if type(observed) is float:
            text = self._head + self._number(observed)
        else:
            text = self._head + (format_value(observed, self._spec) if present else NOT_GIVEN)
        text += self._asks
        if self._reference:
            given = threshold is not ABSENT
            text += (" " + (format_value(threshold, self._threshold_spec) if given else NOT_GIVEN)
                     + self._after)
            plain = threshold if given else None
        else:
            literal = self.atom.value
            plain = list(literal) if isinstance(literal, tuple) else literal
        return {
            "field": self.atom.field,
            "label": self._spec.label,
            "observed": observed if present else None,
            "op": self.atom.op,
            "threshold": plain if self._takes_value else None,
            "threshold_field": self._reference,
            "holds": holds,
            "text": text + (" — met." if holds else " — not met."),
        }
