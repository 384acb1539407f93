"""The only module that touches durable-rules (2.0.28, unmaintained since 2020).

Every sharp edge we measured is handled here and nowhere else (DESIGN §5):

- one ``Host`` per process, created lazily in the process that uses it (so after a fork), with
  its timer threads disabled: we never use timers and they would outlive a fork;
- each rule's condition tree compiles to ONE pattern ``m`` with ``$and``/``$or``; every pattern
  carries the positive marker ``__doc: 1``, because a ``$nex``-only rule loops forever on the
  engine's own state fact;
- a catch-all rule handles every document: an unhandled document followed by ``delete_state``
  segfaults on Python 3.11;
- facts, not events: ``assert_fact`` fires every matching rule, a posted event only the first;
- one sid per evaluation, always deleted in ``finally`` (the engine keeps at most 1024 live sids);
- each ruleset content is registered once under its own name: a name cannot be re-registered
  or freed (~250 KB per version stays until the process is recycled);
- exceptions raised in actions are swallowed by the engine into ``state["exception"]``: we read
  it and raise;
- field keys are prefixed so that none collides with the engine's reserved ``id``/``sid``;
- durable-rules' JSON parser rejects exponents (``1e-05``, error 204) that Python's ``json``
  writes for small and large floats, so its module-level ``json`` is replaced by one that
  writes every number in plain decimal notation (the same shortest digits ``repr`` gives);
- lists get a sentinel item, because ``$iall`` is false on an empty list where "contains none
  of" must be true;
- rules are split into shards of bounded size, each its own durable ruleset: every rule hangs
  beta nodes off the shared marker's alpha node, whose beta list holds 256 entries and, full,
  corrupts the heap (an off-by-one in the C engine) instead of failing cleanly. We measured the
  crash at ~255 branches; a shard carries at most SHARD_BUDGET comparisons.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
from decimal import Decimal
from typing import Any

from durable import engine as durable_engine

from service.engine.facts import Fact
from service.engine.model import AllOf, Atom, Condition, FieldRef, Ruleset, operands

MARKER = "__doc"
SID_KEY = "sid"
LIST_SENTINEL = "\u2400end"  # cannot collide with any vocabulary value or country code
CATCH_ALL = "__catch_all"
MAX_PATTERN_GROUPS = 15
SHARD_BUDGET = 120
_COMPARISONS = {"lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte", "ne": "$neq"}


def _plain_number(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"durable-rules cannot represent {value!r}")
    return format(Decimal(repr(value)), "f")


def _encode(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_encode(item) for item in value) + "]"
    if isinstance(value, float):
        return _plain_number(value)
    return json.dumps(value, ensure_ascii=False)


_EXPONENT = re.compile(r"\d[eE][-+]?\d")


class _PlainNumberJson:
    """Stands in for the ``json`` module inside ``durable.engine``.

    The C encoder is fast and right for nearly every document durable-rules writes (its own
    states hold no floats); only output showing a possible exponent is re-encoded by hand.
    """

    loads = staticmethod(json.loads)

    @staticmethod
    def dumps(value: Any, **_: Any) -> str:
        text = json.dumps(value, ensure_ascii=False)
        return _encode(value) if _EXPONENT.search(text) else text


durable_engine.json = _PlainNumberJson()


class DurableRulesError(RuntimeError):
    """durable-rules reported an error it would otherwise have swallowed."""


def fact_key(path: str) -> str:
    """Field paths become flat, prefixed keys: durable-rules would read dots as nested lookups,
    and it reserves ``id`` and ``sid`` (a proposal's own ``id`` crashed it)."""
    return "f_" + path.replace(".", "__")


def _operand(value: Any) -> Any:
    return {"$m": fact_key(value.path)} if isinstance(value, FieldRef) else value


def _contains(key: str, value: Any) -> dict[str, Any]:
    return {"$iany": {key: {"$i": value}}}


def _not_contains(key: str, value: Any) -> dict[str, Any]:
    return {"$iall": {key: {"$neq": {"$i": value}}}}


def _compile_atom(atom: Atom) -> dict[str, Any]:
    if isinstance(atom.value, FieldRef):
        # durable-rules compares with an absent field as if it were there (0 > absent fires);
        # the language says any test of an absent field is false
        present = {"$ex": {fact_key(atom.value.path): 1}}
        return {"$and": [present, _compile_comparison(atom)]}
    return _compile_comparison(atom)


def _compile_comparison(atom: Atom) -> dict[str, Any]:
    key, value = fact_key(atom.field), atom.value
    op = atom.op
    if op == "eq":
        return {key: _operand(value)}
    if op in _COMPARISONS:
        return {_COMPARISONS[op]: {key: _operand(value)}}
    if op in ("exists", "missing"):
        return {"$ex" if op == "exists" else "$nex": {key: 1}}
    if op == "contains":
        return _contains(key, value)
    if op == "not_contains":
        return _not_contains(key, value)
    if op == "in":
        return {"$or": [{key: v} for v in value]}
    if op == "not_in":
        return {"$and": [{"$neq": {key: v}} for v in value]}
    if op == "contains_any":
        return {"$or": [_contains(key, v) for v in value]}
    if op == "contains_all":
        return {"$and": [_contains(key, v) for v in value]}
    if op == "contains_none":
        return {"$and": [_not_contains(key, v) for v in value]}
    raise ValueError(f"operator {op!r} has no durable-rules form")


def _group(key: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """``$and`` of ``$and`` (or ``$or`` of ``$or``) spliced into one group: every group counts
    against the engine's limit of MAX_PATTERN_GROUPS."""
    flat: list[dict[str, Any]] = []
    for part in parts:
        flat.extend(part[key] if list(part) == [key] else [part])
    return {key: flat}


def compile_condition(condition: Condition) -> dict[str, Any]:
    if isinstance(condition, Atom):
        return _compile_atom(condition)
    key = "$and" if isinstance(condition, AllOf) else "$or"
    return _group(key, [compile_condition(item) for item in operands(condition)])


def rule_pattern(condition: Condition) -> dict[str, Any]:
    """The one pattern of a rule, guarded by the positive marker."""
    return _group("$and", [{MARKER: 1}, compile_condition(condition)])


def pattern_groups(condition: Condition) -> int:
    """How many ``$and``/``$or`` groups the rule's pattern has.

    durable-rules keeps two expressions per group in a fixed array of MAX_SEQUENCE_EXPRESSIONS
    (32) and refuses the whole ruleset (error 113) past it: we measured 15 groups accepted and
    16 refused. The loader checks this so the analyst learns it at the rule's line.
    """

    def count(node: Any) -> int:
        if isinstance(node, list):
            return sum(count(item) for item in node)
        if isinstance(node, dict):
            return sum((key in ("$and", "$or")) + count(value) for key, value in node.items())
        return 0

    return count(rule_pattern(condition))


def _comparisons(node: Any) -> int:
    if isinstance(node, list):
        return sum(_comparisons(item) for item in node)
    groups = [value for key, value in node.items() if key in ("$and", "$or")]
    return sum(_comparisons(group) for group in groups) if groups else 1


def _shards(ruleset: Ruleset) -> list[list[tuple[str, dict[str, Any]]]]:
    shards: list[list[tuple[str, dict[str, Any]]]] = [[]]
    spent = 0
    for rule in ruleset.rules:
        pattern = rule_pattern(rule.condition)
        cost = _comparisons(pattern)
        if shards[-1] and spent + cost > SHARD_BUDGET:
            shards.append([])
            spent = 0
        shards[-1].append((rule.id, pattern))
        spent += cost
    return shards


def compile_ruleset(ruleset: Ruleset) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """Per shard: the durable-rules definition (actions unset) and its rule names → rule ids."""
    compiled = []
    for shard in _shards(ruleset):
        definition: dict[str, Any] = {}
        names: dict[str, str] = {}
        for index, (rule_id, pattern) in enumerate(shard):
            names[f"r{index}"] = rule_id
            definition[f"r{index}"] = {"all": [{"m": pattern}]}
        definition[CATCH_ALL] = {"all": [{"m": {MARKER: 1}}]}
        compiled.append((definition, names))
    return compiled


def durable_fact(fact: Fact, sid: str) -> dict[str, Any]:
    document: dict[str, Any] = {
        fact_key(path): [*value, LIST_SENTINEL] if isinstance(value, list) else value
        for path, value in fact.items()
    }
    document[MARKER] = 1
    document[SID_KEY] = sid
    return document


class _QuietHost(durable_engine.Host):
    """A Host without the dispatch and timer threads that ``Host.__init__`` starts."""

    def _run(self) -> None:
        return None


class _Process:
    """The per-process durable-rules state: one host, registered names, the fired collector."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.host = _QuietHost()
        self.registered: set[str] = set()
        self.fired: dict[str, list[str]] = {}
        self.lock = threading.Lock()
        self.sequence = 0

    def next_sid(self) -> str:
        self.sequence = (self.sequence + 1) % 64
        return f"e{self.sequence}"


_state: _Process | None = None
_state_lock = threading.Lock()


def _process() -> _Process:
    global _state
    with _state_lock:
        if _state is None or _state.pid != os.getpid():
            _state = _Process()
        return _state


def _registered_name(ruleset: Ruleset) -> str:
    slug = re.sub(r"[^A-Za-z0-9_]", "_", f"{ruleset.name}_{ruleset.version}")
    return f"{slug}_{ruleset.content_hash.removeprefix('sha256:')[:16]}"


class _Shard:
    """One durable-rules ruleset holding part of the rules."""

    def __init__(self, name: str, definition: dict[str, Any], names: dict[str, str]) -> None:
        self.name = name
        self.definition = definition
        self.names = names

    def register(self, process: _Process) -> None:
        if self.name in process.registered:
            return
        definition = {
            rule_name: {**body, "run": self._action(process, self.names.get(rule_name))}
            for rule_name, body in self.definition.items()
        }
        process.host.register_rulesets({self.name: definition})
        process.registered.add(self.name)

    @staticmethod
    def _action(process: _Process, rule_id: str | None) -> Any:
        def record(c: Any) -> None:  # exactly one parameter: two would make it asynchronous
            if rule_id is not None:
                process.fired[c.m[SID_KEY]].append(rule_id)

        return record

    def assert_fact(self, process: _Process, document: dict[str, Any], sid: str) -> None:
        try:
            state = process.host.assert_fact(self.name, document)
        finally:
            process.host.delete_state(self.name, sid)
        if isinstance(state, dict) and state.get("exception"):
            raise DurableRulesError(str(state["exception"]))


class DurableRules:
    """A ruleset registered with this process's durable-rules host, as one or more shards."""

    def __init__(self, ruleset: Ruleset) -> None:
        base = _registered_name(ruleset)
        self._shards = [
            _Shard(f"{base}_s{index}", definition, names)
            for index, (definition, names) in enumerate(compile_ruleset(ruleset))
        ]

    def fired(self, fact: Fact) -> frozenset[str]:
        """The ids of the rules whose pattern matches ``fact``, decided by durable-rules."""
        process = _process()
        with process.lock:
            sid = process.next_sid()
            document = durable_fact(fact, sid)
            process.fired[sid] = []
            try:
                for shard in self._shards:
                    shard.register(process)
                    shard.assert_fact(process, document, sid)
            finally:
                fired = process.fired.pop(sid)
        return frozenset(fired)
