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
- lists get a sentinel item, because ``$iall`` is false on an empty list where "contains none
  of" must be true.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

from durable import engine as durable_engine

from service.engine.facts import Fact
from service.engine.model import AllOf, Atom, Condition, FieldRef, Ruleset

MARKER = "__doc"
SID_KEY = "sid"
LIST_SENTINEL = "\u2400end"  # cannot collide with any vocabulary value or country code
CATCH_ALL = "__catch_all"
_COMPARISONS = {"lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte", "ne": "$neq"}


class DurableRulesError(RuntimeError):
    """durable-rules reported an error it would otherwise have swallowed."""


def fact_key(path: str) -> str:
    """Field paths become flat keys: durable-rules would read dots as nested lookups."""
    return path.replace(".", "__")


def _operand(value: Any) -> Any:
    return {"$m": fact_key(value.path)} if isinstance(value, FieldRef) else value


def _contains(key: str, value: Any) -> dict[str, Any]:
    return {"$iany": {key: {"$i": value}}}


def _not_contains(key: str, value: Any) -> dict[str, Any]:
    return {"$iall": {key: {"$neq": {"$i": value}}}}


def _compile_atom(atom: Atom) -> dict[str, Any]:
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


def compile_condition(condition: Condition) -> dict[str, Any]:
    if isinstance(condition, Atom):
        return _compile_atom(condition)
    key = "$and" if isinstance(condition, AllOf) else "$or"
    return {key: [compile_condition(item) for item in condition.items]}


def compile_ruleset(ruleset: Ruleset) -> tuple[dict[str, Any], dict[str, str]]:
    """The durable-rules definition (actions unset) and the map from its rule names to rule ids."""
    definition: dict[str, Any] = {}
    names: dict[str, str] = {}
    for index, rule in enumerate(ruleset.rules):
        name = f"r{index}"
        names[name] = rule.id
        pattern = {"$and": [{MARKER: 1}, compile_condition(rule.condition)]}
        definition[name] = {"all": [{"m": pattern}]}
    definition[CATCH_ALL] = {"all": [{"m": {MARKER: 1}}]}
    return definition, names


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


class DurableRules:
    """A ruleset registered with this process's durable-rules host."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.name = _registered_name(ruleset)
        self._definition, self._names = compile_ruleset(ruleset)

    def _register(self, process: _Process) -> None:
        if self.name in process.registered:
            return
        definition = {}
        for rule_name, body in self._definition.items():
            definition[rule_name] = {**body, "run": self._action(process, rule_name)}
        process.host.register_rulesets({self.name: definition})
        process.registered.add(self.name)

    def _action(self, process: _Process, rule_name: str) -> Any:
        rule_id = self._names.get(rule_name)

        def record(c: Any) -> None:  # exactly one parameter: two would make it asynchronous
            if rule_id is not None:
                process.fired[c.m[SID_KEY]].append(rule_id)

        return record

    def fired(self, fact: Fact) -> frozenset[str]:
        """The ids of the rules whose pattern matches ``fact``, decided by durable-rules."""
        process = _process()
        with process.lock:
            self._register(process)
            sid = process.next_sid()
            process.fired[sid] = []
            try:
                state = process.host.assert_fact(self.name, durable_fact(fact, sid))
            finally:
                process.host.delete_state(self.name, sid)
                fired = process.fired.pop(sid)
        if isinstance(state, dict) and state.get("exception"):
            raise DurableRulesError(str(state["exception"]))
        return frozenset(fired)
