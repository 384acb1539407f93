"""The operators of the rule language: what each accepts, means and negates to.

``not`` is pushed down to these negations at load time, so both evaluators see the same
negation-free tree. The consequence, documented for analysts: a test of a field the proposal
leaves out is false, whichever operator it uses; ``missing`` tests absence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.engine.language.model import AllOf, AnyOf, Atom, Condition, Not


@dataclass(frozen=True)
class Operator:
    name: str
    words: str  # how the explanation says it: "datalinks contains link16"
    symbol: str
    field_kinds: frozenset[str]
    value: str  # "one" literal/field, "many" literals, "none"
    test: Callable[[Any, Any], bool]


def _op(name: str, words: str, symbol: str, kinds: str, value: str,
        test: Callable[[Any, Any], bool]) -> Operator:
    return Operator(name, words, symbol, frozenset(kinds.split()), value, test)


SCALAR = "number string bool"
OPERATORS: dict[str, Operator] = {o.name: o for o in (
    _op("eq", "is", "=", SCALAR, "one", lambda a, b: a == b),
    _op("ne", "is not", "≠", SCALAR, "one", lambda a, b: a != b),
    _op("lt", "is less than", "<", "number", "one", lambda a, b: a < b),
    _op("lte", "is at most", "≤", "number", "one", lambda a, b: a <= b),
    _op("gt", "is more than", ">", "number", "one", lambda a, b: a > b),
    _op("gte", "is at least", "≥", "number", "one", lambda a, b: a >= b),
    _op("in", "is one of", "∈", "number string", "many", lambda a, b: a in b),
    _op("not_in", "is none of", "∉", "number string", "many", lambda a, b: a not in b),
    _op("contains", "contains", "∋", "list", "one", lambda a, b: b in a),
    _op("not_contains", "does not contain", "∌", "list", "one", lambda a, b: b not in a),
    _op("contains_any", "contains any of", "∩≠∅", "list", "many",
        lambda a, b: any(x in a for x in b)),
    _op("contains_all", "contains all of", "⊇", "list", "many",
        lambda a, b: all(x in a for x in b)),
    _op("contains_none", "contains none of", "∩=∅", "list", "many",
        lambda a, b: not any(x in a for x in b)),
    _op("exists", "is given", "exists", "number string bool list", "none", lambda a, b: True),
    _op("missing", "is not given", "missing", "number string bool list", "none",
        lambda a, b: False),
)}

NEGATION = {
    "eq": "ne", "ne": "eq", "lt": "gte", "gte": "lt", "lte": "gt", "gt": "lte",
    "in": "not_in", "not_in": "in", "contains": "not_contains", "not_contains": "contains",
    "contains_any": "contains_none", "contains_none": "contains_any",
    "exists": "missing", "missing": "exists",
}


def _negate_atom(atom: Atom) -> Condition:
    if atom.op == "contains_all":  # "not all of them" is "at least one of them is absent"
        return AnyOf(tuple(Atom(atom.field, "not_contains", v, atom.line) for v in atom.value))
    return Atom(atom.field, NEGATION[atom.op], atom.value, atom.line)


def _flatten(kind: type[AllOf] | type[AnyOf], items: list[Condition]) -> Condition:
    flat: list[Condition] = []
    for item in items:
        flat.extend(item.items if isinstance(item, kind) else (item,))
    return flat[0] if len(flat) == 1 else kind(tuple(flat))


def normalize(condition: Condition, negate: bool = False) -> Condition:
    """Negation normal form by De Morgan, with nested all/any of the same kind flattened."""
    if isinstance(condition, Not):
        return normalize(condition.item, not negate)
    if isinstance(condition, Atom):
        return _negate_atom(condition) if negate else condition
    children = [normalize(item, negate) for item in condition.items]
    conjunctive = isinstance(condition, AllOf) != negate
    return _flatten(AllOf if conjunctive else AnyOf, children)


def atoms(condition: Condition) -> list[Atom]:
    """Every atom of a normalized condition, left to right."""
    if isinstance(condition, Atom):
        return [condition]
    if isinstance(condition, Not):
        return atoms(condition.item)
    return [a for item in condition.items for a in atoms(item)]
