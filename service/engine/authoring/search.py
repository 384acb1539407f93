"""A targeted search over real proposals, driven by the rules' own thresholds.

``rules check`` cannot evaluate every proposal, but it does not need to: a criterion's score
only changes where some rule's atom changes truth or some scale changes slope. So, for one
proposal field at a time, in a proposal that puts the rules concerned in play:

- a number is scanned over the values the schema accepts, and every point where the truth of an
  atom (or a scale's segment) changes is found by bisection; the proposals just either side of
  each such threshold, and the ends, are the ones scored (between two thresholds nothing
  changes, or a scale moves in a straight line, so these points see every change);
- a list is grown item by item from the subsets of the items the rules name, padded to the
  counts the rules test, so every combination of memberships and counts the rules can tell
  apart is visited;
- the proposals that put rules in play are built by ``satisfy``: it sets the fields an atom tests
  (a category, a path, a given sustainment cost…) to values that make it hold, and drives a
  derived field through the proposal fields it is computed from.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import json
import math
import string
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError

from service.engine.authoring.probe import (
    ABSENT,
    Outcome,
    Probe,
    Proposal,
    change,
    present_value,
    validated,
)
from service.engine.evaluation.facts import Fact, value_at
from service.engine.evaluation.interpreter import Test, compile_condition
from service.engine.language.catalog import field_catalog
from service.engine.language.fieldspec import FieldSpec, Moves
from service.engine.language.model import Atom, FieldRef, Rule, Scale
from service.engine.language.operators import atoms as atoms_of

GRID_RATIO = 1.5  # a log grid over money: ~85 points from 1 to 10^15
PRECISION = 1e-9  # a continuous threshold is located to this relative width
MAX_SUBSET_ITEMS = 6  # up to 2^6 combinations of named items are visited in full


def moves_with(path: str, grown: str) -> Moves | None:
    """How ``path`` moves when the proposal field ``grown`` grows (a number rises, a list gains
    an item, a ranked value moves up): with it, against it, either way, or not at all."""
    if path == grown:
        return "+"
    spec = field_catalog().get(path)
    return dict(spec.inputs).get(grown) if spec else None


def atom_paths(atom: Atom) -> tuple[str, ...]:
    return (atom.field, atom.value.path) if isinstance(atom.value, FieldRef) else (atom.field,)


def depends(atom: Atom, grown: str) -> bool:
    return any(moves_with(path, grown) for path in atom_paths(atom))


def rule_depends(rule: Rule, grown: str) -> bool:
    return (any(depends(atom, grown) for atom in atoms_of(rule.guard))
            or (rule.scale is not None and moves_with(rule.scale.field, grown) is not None))


def watched(rules: Iterable[Rule], grown: str) -> tuple[list[Atom], list[Scale]]:
    """The atoms and scales of ``rules`` that can change when ``grown`` changes."""
    found_atoms: dict[Atom, None] = {}
    scales: dict[Scale, None] = {}
    for rule in rules:
        found_atoms.update((a, None) for a in atoms_of(rule.guard) if depends(a, grown))
        if rule.scale and moves_with(rule.scale.field, grown):
            scales[rule.scale] = None
    return list(found_atoms), list(scales)


Signature = tuple[Any, ...]


class Watcher:
    """What a set of atoms and scales make of a fact: which atoms hold and which segment of
    each scale the value is on. Two proposals with one signature score alike on those
    rules, up to a scale's straight line."""

    def __init__(self, atoms: Sequence[Atom], scales: Sequence[Scale]) -> None:
        self.tests: tuple[Test, ...] = tuple(compile_condition(a) for a in atoms)
        self.scales = tuple((s.field, [x for x, _ in s.breakpoints]) for s in scales)

    def __call__(self, fact: Fact) -> Signature:
        return (tuple(test(fact) for test in self.tests),
                tuple(bisect.bisect_left(xs, fact[field]) if field in fact else -1
                      for field, xs in self.scales))


@dataclass(frozen=True)
class Point:
    """A proposal on a line through one field: its value there, and how it scores."""

    value: Any
    proposal: Proposal
    outcome: Outcome


@dataclass(frozen=True)
class Threshold:
    """Where an atom changes truth along a line: the two values a hair either side of it, and
    two round values either side of it to show."""

    exact: tuple[Point, Point]
    shown: tuple[Point, Point]


@dataclass(frozen=True)
class Line:
    points: list[Point]  # ascending, thresholds' shown values and the bounds
    thresholds: list[Threshold]


class Search:
    """Scans and satisfies over one ruleset, remembering every proposal already scored."""

    def __init__(self, probe: Probe) -> None:
        self.probe = probe
        self.catalog = field_catalog()
        self._outcomes: dict[str, Outcome] = {}

    def fact(self, proposal: Proposal) -> Fact | None:
        """The fact of a proposal ``satisfy`` is still building, or None when it is not yet a
        whole proposal (a cost taken away before another is given)."""
        try:
            return self.probe.fact(proposal)
        except (KeyError, TypeError):
            return None

    def outcome(self, proposal: Proposal) -> Outcome:
        key = json.dumps(proposal, sort_keys=True)
        found = self._outcomes.get(key)
        if found is None:
            found = self._outcomes[key] = self.probe.outcome(proposal)
        return found

    # --- numbers ---------------------------------------------------------------------------

    def bounds(self, proposal: Proposal, spec: FieldSpec) -> tuple[float, float]:
        low = spec.low if spec.low is not None else 0.0
        high = spec.high if spec.high is not None else 1e15
        floor = spec.better.not_below if spec.better else None
        if floor is not None and value_at(proposal, floor) is not ABSENT:
            low = max(low, float(value_at(proposal, floor)))
        return low, high

    def grid(self, low: float, high: float, integer: bool) -> list[float]:
        if integer and high - low <= 300:
            return [float(v) for v in range(int(low), int(high) + 1)]
        values = {low, high}
        value = max(low, 1.0)
        while value < high:
            values.add(float(round(value)) if integer else value)
            value *= GRID_RATIO
        return sorted(values)

    def line(self, proposal: Proposal, path: str, atoms: Sequence[Atom],
             scales: Sequence[Scale]) -> Line:
        """Proposals along ``path`` at its bounds and just either side of every value where one
        of ``atoms`` changes truth or one of ``scales`` changes segment, scored, ascending."""
        spec = self.catalog[path]
        low, high = self.bounds(proposal, spec)
        watcher = Watcher(atoms, scales)

        @functools.cache
        def at(value: float) -> Proposal:
            return change(proposal, path, int(value) if spec.integer else value)

        @functools.cache
        def sign(value: float) -> Signature:
            return watcher(self.probe.fact(at(value)))

        def point(value: float) -> Point:
            return Point(value, at(value), self.outcome(at(value)))

        grid = self.grid(low, high, spec.integer)
        signs = [sign(v) for v in grid]
        values = {low, high}
        thresholds = []
        for (a, sa), (b, sb) in itertools.pairwise(zip(grid, signs, strict=True)):
            if sa == sb:
                continue
            for left, right in _changes(a, sa, b, sb, sign, spec.integer):
                shown = self._nice(left, right, sign, spec.integer)
                values.update(shown)
                thresholds.append(Threshold((point(left), point(right)),
                                            (point(shown[0]), point(shown[1]))))
        return Line([point(v) for v in sorted(values)], thresholds)

    @staticmethod
    def _nice(left: float, right: float, sign: Callable[[float], Signature],
              integer: bool) -> tuple[float, float]:
        """Round numbers either side of a threshold, on the same side of it as the bisection's,
        so that a report shows ¥90 billion and ¥90.4 billion, not ¥90,399,999,999."""
        if integer:
            return left, right
        before, after = sign(left), sign(right)
        return (_rounded(left, lambda v: v < right and sign(v) == before),
                _rounded(right, lambda v: v > left and sign(v) == after))

    # --- lists -----------------------------------------------------------------------------

    def list_states(self, proposal: Proposal, path: str, atoms: Sequence[Atom],
                    addable: Callable[[str], bool]) -> Iterator[tuple[Point, Point, str]]:
        """Every (list, list with one item more, the item) that ``atoms`` can tell apart."""
        named, fillers, counts = self.list_items(proposal, path, atoms)
        subsets: Iterable[tuple[str, ...]]
        if len(named) <= MAX_SUBSET_ITEMS:
            subsets = itertools.chain.from_iterable(
                itertools.combinations(named, k) for k in range(len(named) + 1))
        else:
            sizes = (*range(4), len(named) - 1, len(named))
            subsets = itertools.chain.from_iterable(
                itertools.combinations(named, k) for k in sizes)
        seen: set[tuple[tuple[str, ...], str]] = set()
        for subset in subsets:
            for padding in range(max(0, min(len(fillers), counts - len(subset))) + 1):
                state = (*subset, *fillers[:padding])
                spare = [f for f in fillers if f not in state][:1]
                for item in [*named, *spare]:
                    if item in state or not addable(item) or (state, item) in seen:
                        continue
                    seen.add((state, item))
                    before = self.list_point(proposal, path, state)
                    after = self.list_point(proposal, path, (*state, item))
                    yield before, after, item

    def list_point(self, proposal: Proposal, path: str, items: Sequence[str]) -> Point:
        spec = self.catalog[path]
        order = spec.values or tuple(sorted(items))
        value = sorted(items, key=order.index)
        changed = change(proposal, path, value)
        return Point(tuple(value), changed, self.outcome(changed))

    def list_items(self, proposal: Proposal, path: str,
                   atoms: Sequence[Atom]) -> tuple[list[str], list[str], int]:
        """The items ``atoms`` single out, filler items that none singles out, and the largest
        count any of them tests, for the list at ``path``."""
        spec = self.catalog[path]
        named: dict[str, None] = {}
        counts = 0
        weighted = False
        for atom in atoms:
            if not depends(atom, path) or isinstance(atom.value, FieldRef):
                continue
            target = self.catalog[atom.field]
            named.update((i, None) for i in target.singles_out)
            if target.kind == "list":
                values = atom.value if isinstance(atom.value, tuple) else (atom.value,)
                named.update((v, None) for v in values if isinstance(v, str))
            elif target.unit == "count" and isinstance(atom.value, (int, float)):
                counts = max(counts, int(atom.value) + 1)
            elif target.unit == "weight":
                weighted = True
        if weighted and spec.values:  # sums of weights tell every item apart
            named.update((v, None) for v in spec.values)
        own = value_at(proposal, "requesting_country")
        if spec.values:
            fillers = [v for v in spec.values if v not in named]
        else:
            known = {*named, own, *self._registry_countries()}
            fillers = [code for code in _codes() if code not in known][:max(counts, 1)]
        return list(named), fillers, counts

    def _registry_countries(self) -> set[str]:
        registry = self.probe.ruleset.context.partner_registry
        return {c for entry in registry for c in (*entry.operators, *entry.co_developers)}

    # --- putting rules in play -------------------------------------------------------------

    def satisfy(self, proposal: Proposal, conditions: Sequence[Atom]) -> Proposal | None:
        """``proposal`` changed so that every atom of ``conditions`` holds, or None."""
        grouped: dict[str, list[Atom]] = {}
        for atom in conditions:
            grouped.setdefault(atom.field, []).append(atom)
        current = proposal
        for path, group in grouped.items():
            if path.startswith("derived."):
                found = self._drive(current, path, group)
            else:
                found = self._set(current, path, group)
            if found is None:
                return None
            current = found
        try:
            current = validated(current)  # only proposals the API would accept
        except ValidationError:
            return None
        fact = self.probe.fact(current)
        return current if all(compile_condition(a)(fact) for a in conditions) else None

    def _set(self, proposal: Proposal, path: str, group: list[Atom]) -> Proposal | None:
        spec = self.catalog[path]
        fact = self.fact(proposal)
        if fact is None:
            return None
        if any(a.op == "missing" for a in group):  # only an optional field can be left out
            return change(proposal, path, ABSENT) if spec.optional else None
        current = value_at(proposal, path)
        if spec.kind == "list":
            items = list(current) if current is not ABSENT else []
            for atom in group:
                values = atom.value if isinstance(atom.value, tuple) else (atom.value,)
                if atom.op in ("contains", "contains_all"):
                    items += [v for v in values if v not in items]
                elif atom.op == "contains_any" and not set(values) & set(items):
                    items.append(values[0])
                elif atom.op in ("not_contains", "contains_none"):
                    items = [i for i in items if i not in values]
            return change(proposal, path, items)
        value = _choose(spec, group, fact, current, present_value(proposal, path))
        return None if value is ABSENT else change(proposal, path, value)

    def _drive(self, proposal: Proposal, path: str, group: list[Atom]) -> Proposal | None:
        """Make atoms on a derived field hold by changing the proposal fields it is computed
        from, one at a time, trying the values that matter to those atoms."""
        tests = [compile_condition(a) for a in group]

        def holds(candidate: Proposal) -> bool:
            fact = self.fact(candidate)
            return fact is not None and all(test(fact) for test in tests)

        if holds(proposal):
            return proposal
        for source, _ in self.catalog[path].inputs:  # first, give what is missing
            if value_at(proposal, source) is ABSENT and present_value(proposal, source) is not None:
                given = change(proposal, source, present_value(proposal, source))
                if holds(given):
                    return given
        for source, _ in self.catalog[path].inputs:
            spec = self.catalog.get(source)
            if spec is None:
                continue
            for candidate in self._candidates(proposal, spec, group):
                if holds(candidate):
                    return candidate
        return None

    def _candidates(self, proposal: Proposal, spec: FieldSpec,
                    group: list[Atom]) -> Iterator[Proposal]:
        path = spec.path
        if spec.kind == "number":
            for point in self.line(proposal, path, group, ()).points:
                yield point.proposal
        elif spec.kind == "list":
            named, fillers, counts = self.list_items(proposal, path, group)
            for size in range(len(named) + 1):
                for subset in itertools.combinations(named, size):
                    for padding in range(min(len(fillers), max(counts, 1)) + 1):
                        yield self.list_point(proposal, path,
                                              (*subset, *fillers[:padding])).proposal
        elif spec.values:
            for value in spec.values:
                yield change(proposal, path, value)
        elif path == "system.name":
            for entry in self.probe.ruleset.context.partner_registry:
                yield change(proposal, path, entry.system)


def _changes(a: float, sa: Signature, b: float, sb: Signature,
             sign: Callable[[float], Signature], integer: bool) -> Iterator[tuple[float, float]]:
    """Every pair of neighbouring values between ``a`` and ``b`` where the signature changes
    (bisection; a change and its undoing between two grid points are not seen)."""
    if (b - a <= 1) if integer else (b - a <= PRECISION * max(1.0, abs(b))):
        yield a, b
        return
    middle = float((a + b) // 2) if integer else (math.sqrt(a * b) if a > 0 else (a + b) / 2)
    if middle in (a, b):
        yield a, b
        return
    sm = sign(middle)
    if sm != sa:
        yield from _changes(a, sa, middle, sm, sign, integer)
    if sm != sb:
        yield from _changes(middle, sm, b, sb, sign, integer)


def _codes() -> Iterator[str]:
    """Two-letter codes for countries no rule and no registry entry names, from the end of the
    alphabet (ZZ, ZY, …), so that they read as placeholders."""
    letters = string.ascii_uppercase[::-1]
    return (a + b for a in letters for b in letters)


def _choose(spec: FieldSpec, group: list[Atom], fact: Fact, current: Any,
            present: Any) -> Any:
    """A value of a proposal field that satisfies every atom of ``group``, or ABSENT."""
    if spec.kind == "number":
        return _number(spec, group, fact, current, present)
    allowed: list[Any] = list(spec.values or ()) if spec.kind == "string" else [True, False]
    excluded: set[Any] = set()
    for atom in group:
        value: Any = (fact.get(atom.value.path) if isinstance(atom.value, FieldRef)
                      else atom.value)
        if atom.op == "eq":
            allowed = [value]
        elif atom.op == "in":
            allowed = [v for v in allowed if v in value] if spec.values else list(value)
        elif atom.op == "ne":
            excluded.add(value)
        elif atom.op == "not_in":
            excluded.update(value)
    if current is not ABSENT and current not in excluded and (
            not allowed or current in allowed) and all(a.op != "eq" for a in group):
        return current
    choices = [v for v in allowed if v not in excluded]
    if choices:
        return choices[0]
    if spec.pattern:  # a country code: one that nothing else names
        return next(code for code in _codes() if code not in excluded)
    if spec.kind == "string" and not spec.values:  # open text: anything else will do
        return present if present is not None else "probe value"
    return ABSENT


def _number(spec: FieldSpec, group: list[Atom], fact: Fact, current: Any,
            present: Any) -> Any:
    low = spec.low if spec.low is not None else -math.inf
    high = spec.high if spec.high is not None else math.inf
    step = 1.0 if spec.integer else 0.0
    exact: list[float] | None = None
    excluded: set[float] = set()
    for atom in group:
        value = fact.get(atom.value.path) if isinstance(atom.value, FieldRef) else atom.value
        if value is None or atom.op in ("exists",):
            continue
        if atom.op == "gt":
            low = max(low, value + (step or abs(value) * 1e-6 + 1e-6))
        elif atom.op == "gte":
            low = max(low, value)
        elif atom.op == "lt":
            high = min(high, value - (step or abs(value) * 1e-6 + 1e-6))
        elif atom.op == "lte":
            high = min(high, value)
        elif atom.op in ("eq", "in"):
            options = [value] if atom.op == "eq" else list(value)
            exact = options if exact is None else [v for v in exact if v in options]
        elif atom.op in ("ne", "not_in"):
            excluded.update([value] if atom.op == "ne" else value)
    if exact is not None:
        fits = [v for v in exact if low <= v <= high and v not in excluded]
        return fits[0] if fits else ABSENT
    start = current if current is not ABSENT else present if present is not None else low
    candidates = [start, low, high, (low + high) / 2 if math.isfinite(low + high) else None]
    for value in candidates:
        if value is None or not math.isfinite(value):
            continue
        value = math.ceil(value) if spec.integer else value
        if low <= value <= high and value not in excluded:
            return int(value) if spec.integer else float(value)
    return ABSENT


def _rounded(value: float, fits: Callable[[float], bool]) -> float:
    """``value`` to as few significant digits as still ``fits``: rounded to the nearest, else
    down, else up."""
    for digits in (2, 3, 4, 6, 9):
        if value == 0:
            return value
        unit = 10.0 ** (math.floor(math.log10(abs(value))) - digits + 1)
        for candidate in (round(value / unit) * unit, math.floor(value / unit) * unit,
                          math.ceil(value / unit) * unit):
            candidate = float(f"{candidate:.{digits + 1}g}")  # drop the float noise
            if fits(candidate):
                return candidate
    return value
