"""Evidence in plain words: for each atom, the field, the observed value, the operator and the
threshold, formatted the way an analyst reads them (¥366.3 billion, 16.2%)."""

from __future__ import annotations

from typing import Any

from service.engine.evaluation.interpreter import AtomResult
from service.engine.language.catalog import field_catalog
from service.engine.language.fieldspec import FieldSpec
from service.engine.language.model import FieldRef, Scale
from service.engine.language.operators import OPERATORS
from service.engine.language.templates import show

_SCALES = ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"))


def money(value: float, symbol: str) -> str:
    for scale, word in _SCALES:
        if abs(value) >= scale:
            return f"{symbol}{value / scale:,.3g} {word}"
    return f"{symbol}{value:,.0f}"


def format_value(value: Any, spec: FieldSpec) -> str:
    if isinstance(value, tuple):
        return ", ".join(format_value(v, spec) for v in value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return show(value)
    if spec.unit == "JPY":
        return money(value, "¥")
    if spec.unit == "USD":
        return money(value, "$")
    if spec.unit == "ratio":
        return f"{value * 100:.3g}%"
    if spec.unit in ("count", "years", "year"):
        return f"{value:.0f}"
    if spec.unit == "weight":
        return f"{value:.2f}"
    return show(value)


def evidence(result: AtomResult) -> dict[str, Any]:
    """One atom as the explanation reports it: raw values for machines, a sentence for people."""
    catalog = field_catalog()
    atom = result.atom
    spec = catalog[atom.field]
    reference = atom.value.path if isinstance(atom.value, FieldRef) else None
    operator = OPERATORS[atom.op]
    observed = format_value(result.observed, spec) if result.present else "not given"
    text = f"{spec.label} is {observed}; the rule asks that it {operator.words}"
    if operator.value != "none":
        threshold_spec = catalog[reference] if reference else spec
        text += f" {format_value(result.threshold, threshold_spec)}"
        if reference:
            text += f" ({threshold_spec.label})"
    text += f" — {'met' if result.holds else 'not met'}."
    return {
        "field": atom.field,
        "label": spec.label,
        "observed": result.observed if result.present else None,
        "op": atom.op,
        "threshold": _plain(result.threshold) if operator.value != "none" else None,
        "threshold_field": reference,
        "holds": result.holds,
        "text": text,
    }


def scale_reading(scale: Scale, observed: float) -> dict[str, Any]:
    """A graded rule's points as the explanation reports them: the observed value, the scale
    and the points read off it."""
    spec = field_catalog()[scale.field]
    points = scale.points_at(observed)
    steps = ", ".join(f"{format_value(x, spec)} → {p:+g}" for x, p in scale.breakpoints)
    return {
        "field": scale.field,
        "label": spec.label,
        "observed": observed,
        "breakpoints": [[x, p] for x, p in scale.breakpoints],
        "points": points,
        "text": f"{spec.label} is {format_value(observed, spec)}; on the scale {steps} "
                f"(level beyond its ends) that gives {points:+g} points.",
    }


def _plain(value: Any) -> Any:
    """Tuples (literal lists) as JSON lists; a missing field reference as null."""
    if isinstance(value, tuple):
        return list(value)
    return value if isinstance(value, (str, int, float, bool, list)) else None
