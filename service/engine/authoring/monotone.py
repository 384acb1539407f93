"""The static half of the monotonicity check: what improving one proposal field can do to a
rule, read off the rule alone.

Each atom moves with the field (it can only become true as the field improves), against it, or
either way, by its operator and the directions the catalog declares for the field and for the
derived fields computed from it. A rule is safe when its condition can only turn on and its
points are positive, or only turn off and its points are negative (or it is a deficiency), and
its scale, if any, only rises as the field improves: then no proposal, whatever its other
fields, can lose points on it. What is not settled here is searched (``defensible``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from service.engine.authoring.search import moves_with
from service.engine.language.catalog import field_catalog
from service.engine.language.fieldspec import Better, Moves
from service.engine.language.model import Atom, FieldRef, Rule, Scale
from service.engine.language.operators import atoms as atoms_of

_OPPOSITE: dict[Moves, Moves] = {"+": "-", "-": "+", "?": "?"}


def _flip(move: Moves | None) -> Moves | None:
    return _OPPOSITE[move] if move else None


def _join(moves: Iterable[Moves | None]) -> Moves | None:
    found = {m for m in moves if m}
    return None if not found else found.pop() if len(found) == 1 else "?"


def _toward(path: str, grown: str, better: Better) -> Moves | None:
    """How ``path`` moves when ``grown`` improves."""
    move = moves_with(path, grown)
    return _flip(move) if better.way == "lower" else move


def _ranked(atom: Atom, better: Better) -> Moves | None:
    """An atom over a ranked vocabulary: does it hold from some rank up, or down?"""
    order, value = better.order, atom.value
    holds = {"eq": {value}, "ne": set(order) - {value}, "in": set(value or ()),
             "not_in": set(order) - set(value or ())}.get(atom.op)
    if holds is None:
        return "?"
    ranks = sorted(order.index(v) for v in holds if v in order)
    if not ranks or ranks == list(range(len(order))):
        return None
    if ranks == list(range(ranks[0], len(order))):
        return "+"
    return "-" if ranks == list(range(ranks[-1] + 1)) else "?"


def atom_move(atom: Atom, grown: str, better: Better,
              priority: frozenset[str] = frozenset()) -> Moves | None:
    """Whether ``atom`` can only become true (+), only become false (-), either (?), or
    neither (None) when ``grown`` improves (``priority``: the context's priority threats)."""
    left = _toward(atom.field, grown, better)
    right = _toward(atom.value.path, grown, better) if isinstance(atom.value, FieldRef) else None
    if not (left or right):
        return None
    if atom.op in ("exists", "missing"):
        # a field always given, or one whose presence hangs on its inputs' presence rather than
        # their values, is given before and after a number improves; a list that grows can
        # bring a derived field into being (the top threat of a first threat)
        catalog = field_catalog()
        steady = (atom.field == grown or not catalog[atom.field].optional
                  or catalog[grown].kind == "number")
        return None if steady else "?"
    if better.way == "order" and atom.field == grown:
        return _ranked(atom, better)
    if better.priority_only and atom.field == grown and atom.op.startswith(("contains", "not_")):
        items = atom.value if isinstance(atom.value, tuple) else (atom.value,)
        if not set(items) & priority:
            return None  # adding priority threats never adds or removes this one
    kind = field_catalog()[atom.field].kind
    if atom.op in ("gt", "gte"):
        return _join([left, _flip(right)])
    if atom.op in ("lt", "lte"):
        return _join([_flip(left), right])
    if atom.op in ("contains", "contains_any", "contains_all"):
        return left
    if atom.op in ("not_contains", "contains_none"):
        return _flip(left)
    if kind == "bool" and atom.op in ("eq", "ne") and isinstance(atom.value, bool):
        return left if atom.value == (atom.op == "eq") else _flip(left)
    return "?"


def _trend(scale: Scale) -> Moves | None:
    """Whether a scale only rises (+), only falls (-), is flat (None) or does both (?)."""
    points = [p for _, p in scale.breakpoints]
    rising = all(b >= a for a, b in itertools.pairwise(points))
    falling = all(b <= a for a, b in itertools.pairwise(points))
    return None if rising and falling else "+" if rising else "-" if falling else "?"


def statically_safe(rule: Rule, grown: str, better: Better,
                    priority: frozenset[str] = frozenset()) -> bool:
    """True when improving ``grown`` can never lower what ``rule`` gives, whatever the rest of
    the proposal: its condition can only turn on (with positive points) or only turn off
    (with negative points, or as a deficiency), and a scale only rises."""
    condition = _join(atom_move(a, grown, better, priority) for a in atoms_of(rule.guard))
    if rule.scale is None:
        points = rule.points or 0.0
        if condition is None:
            return True
        if condition == "+":
            return points > 0 and not rule.deficiency
        return condition == "-" and points <= 0
    along = _toward(rule.scale.field, grown, better)
    trend = _trend(rule.scale)
    value = None if not (along and trend) else "?" if "?" in (along, trend) else (
        "+" if along == trend else "-")
    if value not in (None, "+") or (rule.deficiency and condition not in (None, "-")):
        return False
    return (condition is None or (condition == "+" and rule.scale.lowest >= 0)
            or (condition == "-" and rule.scale.highest <= 0))
