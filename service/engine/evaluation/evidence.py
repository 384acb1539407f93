"""Evidence in plain words: for each atom, the field, the observed value, the operator and the
threshold, formatted the way an analyst reads them (¥366.3 billion, 16.2%)."""

from __future__ import annotations

from typing import Any

from service.engine.evaluation.interpreter import AtomResult
from service.engine.language.catalog import field_catalog
from service.engine.language.fieldspec import FieldSpec
from service.engine.language.model import FieldRef
from service.engine.language.operators import OPERATORS
from service.engine.language.templates import show

_SCALES = ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"))


def _money(value: float, symbol: str) -> str:
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
        return _money(value, "¥")
    if spec.unit == "USD":
        return _money(value, "$")
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
        shown = (format_value(result.threshold, threshold_spec) if result.threshold_present
                 else "not given")
        text += f" {shown}"
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


def _plain(value: Any) -> Any:
    """Tuples (literal lists) as JSON lists; a missing field reference as null."""
    if isinstance(value, tuple):
        return list(value)
    return value if isinstance(value, (str, int, float, bool, list)) else None
