"""A rule's condition in plain words, as an analyst reads a ruleset rather than writes it:
"Acquisition path is one of fms, dcs and (Datalinks contains link16 or IFF modes contains
mode5)". Labels, operator words and value formats are the ones the explanations use, so a rule
reads the same in the ruleset and in the evidence of a result.

The condition is the loaded one (negation normal form): a ``not`` the analyst wrote reads as
its negated operators, which is what the evaluators test.
"""

from __future__ import annotations

from service.engine.evaluation.evidence import format_value
from service.engine.language.catalog import field_catalog
from service.engine.language.model import AllOf, AnyOf, Atom, Condition, FieldRef, operands
from service.engine.language.operators import OPERATORS


def atom_words(atom: Atom) -> str:
    catalog = field_catalog()
    spec = catalog[atom.field]
    operator = OPERATORS[atom.op]
    words = f"{spec.label} {operator.words}"
    if operator.value == "none":
        return words
    if isinstance(atom.value, FieldRef):
        return f"{words} {catalog[atom.value.path].label}"
    return f"{words} {format_value(atom.value, spec)}"


def condition_words(condition: Condition) -> str:
    """The whole condition; nested groups are parenthesized so "and" and "or" never blur."""
    if isinstance(condition, Atom):
        return atom_words(condition)
    joiner = " and " if isinstance(condition, AllOf) else " or "
    parts = []
    for item in operands(condition):
        text = condition_words(item)
        parts.append(f"({text})" if isinstance(item, (AllOf, AnyOf)) else text)
    return joiner.join(parts)
