"""The reference interpreter: rule conditions as Python closures over the flat fact, and
``why``/``why_not`` walking the condition tree for the atoms that decided a rule.

The engine decides and explains with the compiled evaluator (``compiled``); this is the
plainest statement of what a condition means, kept as the oracle the tests hold the compiled
evaluator and durable-rules to (tests/unit/test_agreement.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.engine.evaluation.facts import ABSENT, Fact
from service.engine.language.model import (
    AllOf,
    AnyOf,
    Atom,
    Condition,
    FieldRef,
    Rule,
    Ruleset,
    operands,
)
from service.engine.language.operators import OPERATORS

Test = Callable[[Fact], bool]


@dataclass(frozen=True)
class AtomResult:
    """One atom of a condition, evaluated against one fact."""

    atom: Atom
    observed: Any  # ABSENT when the proposal does not give the field
    threshold: Any  # the literal, or the other field's value (ABSENT when not given)
    holds: bool


def _threshold(atom: Atom, fact: Fact) -> Any:
    if isinstance(atom.value, FieldRef):
        return fact.get(atom.value.path, ABSENT)
    return atom.value


def evaluate_atom(atom: Atom, fact: Fact) -> AtomResult:
    observed = fact.get(atom.field, ABSENT)
    threshold = _threshold(atom, fact)
    if atom.op in ("exists", "missing"):
        holds = (observed is not ABSENT) == (atom.op == "exists")
    elif observed is ABSENT or threshold is ABSENT:
        holds = False
    else:
        holds = OPERATORS[atom.op].test(observed, threshold)
    return AtomResult(atom, observed, threshold, holds)


def _compile_atom(atom: Atom) -> Test:
    field, test = atom.field, OPERATORS[atom.op].test
    if atom.op == "exists":
        return lambda fact: field in fact
    if atom.op == "missing":
        return lambda fact: field not in fact
    if isinstance(atom.value, FieldRef):
        other = atom.value.path
        return lambda fact: field in fact and other in fact and test(fact[field], fact[other])
    value = atom.value
    return lambda fact: field in fact and test(fact[field], value)


def compile_condition(condition: Condition) -> Test:
    if isinstance(condition, Atom):
        return _compile_atom(condition)
    tests = tuple(compile_condition(item) for item in operands(condition))
    if isinstance(condition, AllOf):
        return lambda fact: all(test(fact) for test in tests)
    return lambda fact: any(test(fact) for test in tests)


def holds(condition: Condition, fact: Fact) -> bool:
    if isinstance(condition, Atom):
        return evaluate_atom(condition, fact).holds
    results = (holds(item, fact) for item in operands(condition))
    return all(results) if isinstance(condition, AllOf) else any(results)


def why(condition: Condition, fact: Fact) -> list[AtomResult]:
    """The atoms that made a true condition true: all of an ``all``, the true ones of an ``any``."""
    if isinstance(condition, Atom):
        return [evaluate_atom(condition, fact)]
    items = operands(condition)
    if isinstance(condition, AnyOf):
        items = tuple(item for item in items if holds(item, fact))
    return [result for item in items for result in why(item, fact)]


def why_not(condition: Condition, fact: Fact) -> list[AtomResult]:
    """The atoms that made a false condition false: the false ones of an ``all``, all of an
    ``any``."""
    if isinstance(condition, Atom):
        return [evaluate_atom(condition, fact)]
    items = operands(condition)
    if isinstance(condition, AllOf):
        items = tuple(item for item in items if not holds(item, fact))
    return [result for item in items for result in why_not(item, fact)]


class InterpretedRules:
    """A ruleset's conditions compiled once, evaluated many times. A rule fires when its scope
    and its condition hold (``Rule.guard``), as durable-rules decides it."""

    def __init__(self, ruleset: Ruleset) -> None:
        self._tests: tuple[tuple[Rule, Test], ...] = tuple(
            (rule, compile_condition(rule.guard)) for rule in ruleset.rules
        )

    def fired(self, fact: Fact) -> frozenset[str]:
        return frozenset(rule.id for rule, test in self._tests if test(fact))
