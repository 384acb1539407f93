"""The only module that touches durable-rules (2.0.28, unmaintained since 2020).

Every sharp edge we measured is handled here and nowhere else:

- its C engine (``durable_rules_engine``) is driven directly, without the Python ``Host``: for
  every fired rule the Host decodes the whole state and fact from JSON and encodes the state
  back, 85% of its time on the shipped ruleset (431 µs a proposal through the Host, 69 µs
  direct; bench/engine.py measures both). A fired rule is read off the action's name alone;
- the C rulesets are created lazily in the process that uses them (so after a fork);
- each rule's condition tree compiles to ONE pattern ``m`` with ``$and``/``$or``; every pattern
  carries the positive marker ``__doc: 1``, because a ``$nex``-only rule loops forever on the
  engine's own state fact;
- a catch-all rule handles every document: an unhandled document followed by ``delete_state``
  segfaults on Python 3.11;
- facts, not events: ``assert_fact`` fires every matching rule, a posted event only the first;
- one state per evaluation, always deleted in ``finally`` (the engine keeps at most 1024 live
  sids); evaluations take turns under a lock, so one sid serves them all;
- each ruleset content is registered once under its own name: a name cannot be re-registered
  or freed (~250 KB per version stays until the process is recycled);
- field keys are prefixed so that none collides with the engine's reserved ``id``/``sid``;
- durable-rules' JSON parser rejects exponents (``1e-05``, error 204) that JSON encoders
  write for small and large floats, so every document and definition it reads is written with
  plain decimal numbers (the same shortest digits ``repr`` gives);
- lists get a sentinel item, because ``$iall`` is false on an empty list where "contains none
  of" must be true;
- rules are split into shards of bounded size, each its own durable ruleset: every rule hangs
  beta nodes off the shared marker's alpha node, whose beta list holds 256 entries and, full,
  corrupts the heap (an off-by-one in the C engine) instead of failing cleanly. We measured the
  crash at ~255 branches; a shard carries at most SHARD_BUDGET comparisons.

What durable-rules decides is whether each rule fires: its scope (the categories and paths it
applies to) is compiled into its pattern with its condition, so scopes are decided here too.
It cannot compute a graded rule's points (interpolating on a scale is arithmetic no pattern
expresses): the pattern decides that the rule fires, which includes that its scale's field is
given, and the compiled evaluator, which decides alongside and must agree, reads the points off
the scale from the same fact.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import threading
from decimal import Decimal
from typing import Any

import durable_rules_engine
import orjson

from service.engine.evaluation.facts import Fact
from service.engine.language.model import AllOf, Atom, Condition, FieldRef, Ruleset, operands
from service.engine.language.operators import atoms

MARKER = "__doc"
SID_KEY = "sid"
SID = "evaluation"
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


def plain_json(value: Any) -> str:
    """``value`` as JSON durable-rules can parse: orjson is fast and right for nearly every
    document; only output showing a possible exponent is re-encoded by hand."""
    text = orjson.dumps(value).decode()
    return _encode(value) if _EXPONENT.search(text) else text


class DurableRulesError(RuntimeError):
    """durable-rules reported an error it would otherwise have swallowed."""


@functools.cache  # paths are the catalog's, a bounded set; each document asks for ~55 of them
def fact_key(path: str) -> str:
    """Field paths become flat, prefixed keys: durable-rules would read dots as nested lookups,
    and it reserves ``id`` and ``sid`` (a proposal's own ``id`` crashed it)."""
    return "f_" + path.replace(".", "__")


def _operand(value: Any) -> Any:
    return {"$m": fact_key(value.path)} if isinstance(value, FieldRef) else value


def _contains(key: str, value: Any) -> dict[str, Any]:
    return {"$iany": {key: {"$i": _operand(value)}}}


def _not_contains(key: str, value: Any) -> dict[str, Any]:
    return {"$iall": {key: {"$neq": {"$i": _operand(value)}}}}


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


def condition_limit(condition: Condition) -> str | None:
    """Why durable-rules cannot take ``condition`` as one pattern, or None (the loader's hook)."""
    groups = pattern_groups(condition)
    if groups <= MAX_PATTERN_GROUPS:
        return None
    return (f"condition too complex: {groups} all/any groups (with in / contains_any / "
            f"contains_all counted as groups), at most {MAX_PATTERN_GROUPS}")


def _comparisons(node: Any) -> int:
    if isinstance(node, list):
        return sum(_comparisons(item) for item in node)
    groups = [value for key, value in node.items() if key in ("$and", "$or")]
    return sum(_comparisons(group) for group in groups) if groups else 1


def _shards(ruleset: Ruleset) -> list[list[tuple[str, dict[str, Any]]]]:
    shards: list[list[tuple[str, dict[str, Any]]]] = [[]]
    spent = 0
    for rule in ruleset.rules:
        pattern = rule_pattern(rule.guard)
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


def read_paths(ruleset: Ruleset) -> frozenset[str]:
    """The fact paths the rules read: the fields they test and the fields they compare with."""
    paths: set[str] = set()
    for rule in ruleset.rules:
        for atom in atoms(rule.guard):
            paths.add(atom.field)
            if isinstance(atom.value, FieldRef):
                paths.add(atom.value.path)
    return frozenset(paths)


def durable_fact(fact: Fact, sid: str, paths: frozenset[str] | None = None) -> dict[str, Any]:
    """The document durable-rules decides on: the fact's fields (only ``paths``, when given),
    the marker and the sid."""
    document: dict[str, Any] = {
        fact_key(path): [*value, LIST_SENTINEL] if isinstance(value, list) else value
        for path, value in fact.items() if paths is None or path in paths
    }
    document[MARKER] = 1
    document[SID_KEY] = sid
    return document


class _Process:
    """The per-process durable-rules state: the C rulesets created in this process."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.handles: dict[str, int] = {}
        self.lock = threading.Lock()  # the C engine is not thread-safe


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


# assert_fact's status codes besides success, as durable.engine.Ruleset reads them
_REFUSED = {1: "no rule handled the fact", 2: "the fact was already asserted"}


class _Shard:
    """One durable-rules ruleset holding part of the rules."""

    def __init__(self, name: str, definition: dict[str, Any], names: dict[str, str]) -> None:
        self.name = name
        self.definition = plain_json(definition)
        self.names = names

    def handle(self, process: _Process) -> int:
        handle = process.handles.get(self.name)
        if handle is None:
            handle = durable_rules_engine.create_ruleset(self.name, self.definition)
            process.handles[self.name] = handle
        return handle

    def fire(self, process: _Process, document: str, into: list[str]) -> None:
        """Assert ``document`` in a new state, run every action it triggers (each only names
        its rule), then delete the state."""
        handle = self.handle(process)
        try:
            status, state = durable_rules_engine.assert_fact(handle, document)
            if status in _REFUSED:
                raise DurableRulesError(f"{self.name}: {_REFUSED[status]}")
            started = durable_rules_engine.start_action_for_state(handle, state)
            message = started[1] if started else None
            while message:
                # a message is {"<rule name>": {...}}; rule names are r<n> or the catch-all
                rule_id = self.names.get(message[2:message.index('"', 2)])
                if rule_id is not None:
                    into.append(rule_id)
                message = durable_rules_engine.complete_and_start_action(handle, state)
        finally:
            durable_rules_engine.delete_state(handle, SID)


class DurableRules:
    """A ruleset registered with this process's durable-rules engine, as one or more shards."""

    def __init__(self, ruleset: Ruleset) -> None:
        # durable-rules parses the whole document once per shard: it is sent only the fields
        # the rules read (30 of the 44 of a shipped-ruleset fact; deciding 83 → 66 µs)
        self._paths = read_paths(ruleset)
        base = _registered_name(ruleset)
        self._shards = [
            _Shard(f"{base}_s{index}", definition, names)
            for index, (definition, names) in enumerate(compile_ruleset(ruleset))
        ]

    def fired(self, fact: Fact) -> frozenset[str]:
        """The ids of the rules whose pattern matches ``fact``, decided by durable-rules."""
        process = _process()
        fired: list[str] = []
        with process.lock:
            document = plain_json(durable_fact(fact, SID, self._paths))
            for shard in self._shards:
                shard.fire(process, document, fired)
        return frozenset(fired)
