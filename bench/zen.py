"""GoRules Zen (``zen-engine``, Rust through its Python binding) as a same-run peer of the
compiled evaluator: a loaded ruleset converted to Zen's two forms, deciding on the same facts.

- **a JDM decision table** with the ``collect`` hit policy: one row per rule, its one input cell
  the rule's whole condition as a Zen expression, its output the rule's index; evaluated
  through a ``ZenDecision`` or by key through the ``ZenEngine`` (which the Zen docs show);
- **one compiled Zen expression**, compiled once with ``zen.compile_expression`` and evaluated
  per fact: an object ``{r0: <condition>, r1: …}``, whose true keys are the rules that fired,
  or an array ``[<condition>, …]`` of the same (about a third faster: no keys to build).

Zen reads a flat context: each fact field under the key durable-rules uses
(``f_acquisition__quantity``), since Zen would read dots as member access. The language's
meaning is kept: every test of a field is guarded by ``!= null`` (absent is false, and Zen
raises when it compares null), ``missing`` is ``== null``.

Zen computes with decimals, not binary floats: it reads a number to 16 significant digits
(0.30000000000000004 is 0.3 there), nothing below 1e-28 (an amount of 1e-233 is 0) and nothing
above ~7.9e28. So a fact within a rounding of a threshold can compare otherwise than in
Python. ``check`` runs the converted rules against the compiled evaluator on every proposal
before anything is timed, and refuses to time rules on which they disagree; the examples and
generated proposals of the benchmark are far from such edges. ``as_zen_reads`` gives a fact
as Zen reads it, to test the translation of the rules apart from that arithmetic.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

import zen

from service.engine.evaluation.compiled import CompiledRules
from service.engine.evaluation.durable import fact_key
from service.engine.evaluation.facts import Fact
from service.engine.language.model import AllOf, Atom, Condition, FieldRef, Ruleset, operands

TABLE_KEY = "rules"
_BINARY = {"eq": "{a} == {b}", "ne": "{a} != {b}", "lt": "{a} < {b}", "lte": "{a} <= {b}",
           "gt": "{a} > {b}", "gte": "{a} >= {b}", "in": "{a} in {b}",
           "not_in": "not({a} in {b})", "contains": "{b} in {a}",
           "not_contains": "not({b} in {a})"}


def literal(value: Any) -> str:
    """A rule literal in Zen's syntax; Zen's lexer takes no escapes, so a text holding both
    kinds of quote (or a backslash) cannot be written, nor can a non-finite number."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"Zen has no literal for {value!r}")
        return format(Decimal(repr(value)), "f")
    if isinstance(value, tuple):
        return "[" + ", ".join(map(literal, value)) + "]"
    if isinstance(value, str) and "\\" not in value:
        for quote in ("'", '"'):
            if quote not in value:
                return quote + value + quote
    raise ValueError(f"Zen cannot express the literal {value!r}")


def _either(parts: list[str], joiner: str, empty: str) -> str:
    return "(" + f" {joiner} ".join(parts) + ")" if parts else empty


def expression(condition: Condition) -> str:
    """A normalized condition as a Zen expression over the flat context."""
    if not isinstance(condition, Atom):
        joiner = "and" if isinstance(condition, AllOf) else "or"
        return _either([expression(item) for item in operands(condition)], joiner, "false")
    field, op, value = fact_key(condition.field), condition.op, condition.value
    if op in ("exists", "missing"):
        return f"{field} {'!=' if op == 'exists' else '=='} null"
    guards = [field]
    if isinstance(value, FieldRef):
        right = fact_key(value.path)
        guards.append(right)
    else:
        right = literal(value)
    if op in _BINARY:
        test = _BINARY[op].format(a=field, b=right)
    else:
        items = [f"{literal(item)} in {field}" for item in value]
        test = {"contains_any": _either(items, "or", "false"),
                "contains_all": _either(items, "and", "true"),
                "contains_none": _either([f"not({item})" for item in items], "and", "true"),
                }[op]
    return "(" + " and ".join([*(f"{name} != null" for name in guards), test]) + ")"


def decision_table(ruleset: Ruleset) -> dict[str, Any]:
    """The ruleset as a JDM graph: request → decision table (collect) → response."""
    rules = [{"_id": str(index), "condition": expression(rule.guard),
              "rule": str(index)} for index, rule in enumerate(ruleset.rules)]
    table = {"hitPolicy": "collect", "rules": rules,
             "inputs": [{"id": "condition", "name": "Condition"}],
             "outputs": [{"id": "rule", "name": "Rule", "field": "rule"}]}
    return {
        "nodes": [
            {"id": "request", "type": "inputNode", "name": "Request",
             "position": {"x": 0, "y": 0}},
            {"id": "table", "type": "decisionTableNode", "name": ruleset.name,
             "position": {"x": 250, "y": 0}, "content": table},
            {"id": "response", "type": "outputNode", "name": "Response",
             "position": {"x": 500, "y": 0}},
        ],
        "edges": [
            {"id": "in", "sourceId": "request", "targetId": "table", "type": "edge"},
            {"id": "out", "sourceId": "table", "targetId": "response", "type": "edge"},
        ],
    }


def object_expression(ruleset: Ruleset) -> str:
    return "{" + ", ".join(f"r{index}: {expression(rule.guard)}"
                           for index, rule in enumerate(ruleset.rules)) + "}"


def array_expression(ruleset: Ruleset) -> str:
    return "[" + ", ".join(expression(rule.guard) for rule in ruleset.rules) + "]"


def context(fact: Fact) -> dict[str, Any]:
    """A fact as Zen's flat context."""
    return {fact_key(path): value for path, value in fact.items()}


def as_zen_reads(fact: Fact) -> Fact:
    """``fact`` with every number replaced by the number Zen reads for it."""
    return {path: float(zen.evaluate_expression("x", {"x": value}))
            if isinstance(value, float) else value for path, value in fact.items()}


class ZenRules:
    """A ruleset converted to Zen, both forms compiled once. Each ``evaluate_*`` is one call of
    Zen's own API; ``fired_*`` read the rules that fired from its answer."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.ids = tuple(rule.id for rule in ruleset.rules)
        table = decision_table(ruleset)
        self.evaluate_expression = zen.compile_expression(object_expression(ruleset)).evaluate
        self.evaluate_array = zen.compile_expression(array_expression(ruleset)).evaluate
        self.engine = zen.ZenEngine({"loader": {"type": "static",
                                                "content": {TABLE_KEY: table}}})
        self.evaluate_table = self.engine.create_decision(json.dumps(table)).evaluate

    def evaluate_key(self, context: dict[str, Any]) -> Any:
        return self.engine.evaluate(TABLE_KEY, context)

    def evaluate_batch(self, requests: list[dict[str, Any]]) -> Any:
        return self.engine.evaluate_batch(requests)

    @staticmethod
    def requests(contexts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"key": TABLE_KEY, "context": c} for c in contexts]

    def fired_flags(self, flags: dict[str, bool]) -> frozenset[str]:
        """From the expression's answer, ``{r0: true, r1: false, …}``."""
        return frozenset(self.ids[int(key[1:])] for key, fired in flags.items() if fired)

    def fired_array(self, flags: list[bool]) -> frozenset[str]:
        """From the array expression's answer, ``[true, false, …]``."""
        return frozenset(rule for rule, fired in zip(self.ids, flags, strict=True) if fired)

    def fired_rows(self, answer: dict[str, Any]) -> frozenset[str]:
        """From the decision table's answer, ``{"result": [{"rule": "0"}, …]}``."""
        return frozenset(self.ids[int(row["rule"])] for row in answer["result"])


class ZenDisagrees(AssertionError):
    """Zen and the compiled evaluator fired different rules: timing them would compare
    different work."""


def check(zen_rules: ZenRules, compiled: CompiledRules, facts: list[Fact]) -> int:
    """Every form of Zen fires what the compiled evaluator fires on every fact; returns how
    many facts were checked, or raises ``ZenDisagrees`` naming the first difference."""
    contexts = [context(fact) for fact in facts]
    batched = zen_rules.evaluate_batch(zen_rules.requests(contexts))
    for number, (fact, ctx) in enumerate(zip(facts, contexts, strict=True)):
        expected = compiled.fired(fact)
        forms = {"expression": zen_rules.fired_flags(zen_rules.evaluate_expression(ctx)),
                 "array": zen_rules.fired_array(zen_rules.evaluate_array(ctx)),
                 "table": zen_rules.fired_rows(zen_rules.evaluate_table(ctx)),
                 "key": zen_rules.fired_rows(zen_rules.evaluate_key(ctx)),
                 "batch": zen_rules.fired_rows(batched[number]["data"])}
        for form, fired in forms.items():
            if fired != expected:
                raise ZenDisagrees(f"proposal {number}, Zen's {form}: only Zen fired "
                                   f"{sorted(fired - expected)}, only the compiled evaluator "
                                   f"fired {sorted(expected - fired)}")
    return len(facts)
