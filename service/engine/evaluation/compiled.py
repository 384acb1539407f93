"""The compiled evaluator: a ruleset generated as plain Python, compiled once per engine.

``decide(fact)`` tests every rule in order and returns, for each criterion, the indexes of its
rules that fired and the sum of their points. Each field the rules read is looked up once;
each atom is one Python comparison; ``all``/``any`` are ``and``/``or``. For each rule it also
generates ``finding_<i>``/``not_fired_<i>``, which build the rule's entry in the result: its
fixed values written in, its sentence joined from the template's fixed text and the fact's
values, its evidence that of the atoms that made the rule fire or not, exactly as the
reference interpreter's ``why``/``why_not`` choose them. The reference interpreter
(``interpreter``) stays as the tests' oracle: compiled, interpreted and durable-rules must fire
the same rules and explain them alike (tests/unit/test_agreement.py).

Measured on the shipped ruleset (63 rules) and the 18 examples (``python -m bench.engine``,
medians of interleaved rounds on the shared 2-core machine): ``decide`` 1.6 µs a proposal,
against 21 µs for the reference interpreter, 77 µs for durable-rules driven directly and 19 µs
for GoRules Zen's fastest form; a whole native evaluation ~100 µs (it was ~290), of which
wording the fired rules' findings is about a third. Compiling costs ~10 ms for the shipped
ruleset and ~1 s for the largest the language allows (1,000 rules), once per ruleset version
per process.

Safety: the rule file is data, never code. Nothing written in it reaches the generated source as
source text: field paths become string keys of the fact (``fact['acquisition.quantity']``) and
local names ``f0, f1…`` numbered by the compiler; literals are the loader's validated strings,
floats, booleans and tuples of them, written with ``repr`` (a literal that reads back equal, and
``float('inf')`` for the non-finite floats ``repr`` writes as names); rule ids and names appear
only in comments, through ``ascii``, which escapes line breaks, and rule ids, titles and
criteria as the values of result entries and the fixed text of sentences, through ``repr``.
Any other literal type stops the compilation. The code runs with no builtins but ``sum`` and
``float``.

Each fired rule adds its points *expression* to its criterion: a constant, or for a graded rule
``S<i>(f<k>)``, its scale read at the field's value (``evidence.ScaleReading.points``, passed in
as a name like the evidence); a criterion with a graded rule collects its points and sums them
with ``sum`` (they are not whole), rounded to two decimals as the scale reads them. A rule's
test is its ``guard``: its scope's atoms and its condition, so scopes are decided here as
durable-rules decides them. ``policy-eval rules compile --show`` prints the source for review.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from service.engine.evaluation.evidence import AtomEvidence, ScaleReading
from service.engine.evaluation.facts import ABSENT, Fact
from service.engine.language.catalog import field_catalog
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
from service.engine.language.operators import atoms
from service.engine.language.templates import ABSENT as NOT_GIVEN
from service.engine.language.templates import Template, filled

Decide = Callable[[Fact], tuple[list[list[int]], list[float]]]
# ``a op b`` for the operators that take one value, as ``operators.OPERATORS`` defines them
_BINARY = {"eq": "{a} == {b}", "ne": "{a} != {b}", "lt": "{a} < {b}", "lte": "{a} <= {b}",
           "gt": "{a} > {b}", "gte": "{a} >= {b}", "in": "{a} in {b}", "not_in": "{a} not in {b}",
           "contains": "{b} in {a}", "not_contains": "{b} not in {a}"}
# what the generated code may call: sum() adds the points (in the order the rules are written,
# with the same float arithmetic as the reference's sum()), round() rounds graded points' sums
_BUILTINS = {"sum": sum, "float": float, "round": round}


def literal(value: Any) -> str:
    """Python source for one validated literal of a rule."""
    if isinstance(value, bool) or type(value) is str:
        return repr(value)
    if type(value) is float:
        return repr(value) if math.isfinite(value) else f"float({str(value)!r})"
    if type(value) is tuple:
        return "(" + ", ".join(map(literal, value)) + ("," if len(value) == 1 else "") + ")"
    raise TypeError(f"a rule literal of type {type(value).__name__} has no compiled form")


def _either(parts: Sequence[str], joiner: str, empty: str) -> str:
    return "(" + f" {joiner} ".join(parts) + ")" if parts else empty


def _test(op: str, left: str, right: str, items: Sequence[str]) -> str:
    """``left op right`` as the operator means it (``operators.OPERATORS``), on present values;
    ``items`` are the literal's items for the operators that take a list."""
    if op in ("in", "not_in") and len(items) > 1:
        # a set display of constants, which Python compiles to one frozenset constant: a hash
        # lookup instead of comparing with each item (the same answer for texts and numbers,
        # and facts hold no NaN)
        return _BINARY[op].format(a=left, b="{" + ", ".join(items) + "}")
    if op in _BINARY:
        return _BINARY[op].format(a=left, b=right)
    if op == "contains_any":
        return _either([f"{item} in {left}" for item in items], "or", "False")
    if op == "contains_all":
        return _either([f"{item} in {left}" for item in items], "and", "True")
    if op == "contains_none":
        return _either([f"{item} not in {left}" for item in items], "and", "True")
    raise ValueError(f"operator {op!r} has no compiled form")


class _Writer:
    """Writes conditions as Python expressions over one local per field path (``f0, f1…``),
    for one generated function.

    A field the catalog declares always given (required, defaulted, or a derived field always
    computed) is read as ``fact[path]`` and tested without a presence guard: a fact without
    it would be a defect of validation or enrichment, which raises ``KeyError`` rather than
    decide on a guess (tests/unit/test_compiled.py holds facts to the catalog). An optional
    field is read with ``get(path, ABSENT)`` and every test of it is guarded.
    """

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.catalog = field_catalog()

    def local(self, path: str) -> str:
        return self.fields.setdefault(path, f"f{len(self.fields)}")

    def optional(self, path: str) -> bool:
        return self.catalog[path].optional

    def lookups(self) -> list[str]:
        """The function's first lines: each field read once."""
        optional = any(self.optional(path) for path in self.fields)
        return ["    get = fact.get"] * optional + [
            f"    {name} = get({path!r}, ABSENT)" if self.optional(path)
            else f"    {name} = fact[{path!r}]" for path, name in self.fields.items()]

    def condition(self, condition: Condition) -> str:
        if isinstance(condition, Atom):
            return self.atom(condition)
        joiner = "and" if isinstance(condition, AllOf) else "or"
        return _either([self.condition(item) for item in operands(condition)], joiner, "False")

    def atom(self, atom: Atom) -> str:
        """Any test of an absent field is false, except ``missing``."""
        field = self.local(atom.field)
        if atom.op in ("exists", "missing"):
            return f"({field} is {'not ' if atom.op == 'exists' else ''}ABSENT)"
        read = [atom.field]
        if isinstance(atom.value, FieldRef):
            right, items = self.local(atom.value.path), []
            read.append(atom.value.path)
        else:
            right = literal(atom.value)
            items = [literal(item) for item in atom.value] if type(atom.value) is tuple else []
        guards = "".join(f"{self.local(path)} is not ABSENT and " for path in read
                         if self.optional(path))
        return f"({guards}{_test(atom.op, field, right, items)})"

    def evidence(self, condition: Condition, holds: bool, numbers: Iterator[int],
                 indent: str = "    ") -> list[str]:
        """Statements appending the evidence of the atoms that decided ``condition``, as
        ``interpreter.why`` (``holds``) and ``why_not`` choose them: every atom of an ``all``
        that holds, only the true items of an ``any`` (and the reverse when it fails). Atom
        ``k`` of the ruleset reports through ``E<k>``, an ``evidence.AtomEvidence.report``."""
        if isinstance(condition, Atom):
            return [f"{indent}out.append({self.report(condition, holds, numbers)})"]
        lines: list[str] = []
        for item in operands(condition):
            if _chooses(condition, holds):
                lines.append(f"{indent}if {'' if holds else 'not '}{self.condition(item)}:")
                lines += self.evidence(item, holds, numbers, indent + "    ")
            else:
                lines += self.evidence(item, holds, numbers, indent)
        return lines

    def sentence(self, text: str | None) -> str:
        """A template as an expression joining its fixed text (``repr``) and its placeholders
        filled from the fact, as ``Template.render`` fills them."""
        if text is None:
            return "None"
        template = Template(text)
        pieces = []
        for before, path, spec in template.parts:
            value = self.local(path)
            pieces += [literal(before)] if before else []
            filled = f"FILLED({value}, {literal(spec)})"
            pieces.append(f"({filled} if {value} is not ABSENT else {literal(NOT_GIVEN)})"
                          if self.optional(path) else filled)
        pieces += [literal(template.tail)] if template.tail or not pieces else []
        return " + ".join(pieces)

    def report(self, atom: Atom, holds: bool, numbers: Iterator[int]) -> str:
        """The evidence of one atom: ``E<k>(observed, compared field or None, holds)``."""
        other = atom.value
        threshold = self.local(other.path) if isinstance(other, FieldRef) else "None"
        return f"E{next(numbers)}({self.local(atom.field)}, {threshold}, {holds})"


def _chooses(condition: Condition, holds: bool) -> bool:
    """Whether the evidence of ``condition`` depends on which of its items hold: an ``any``
    that holds reports its true items only, an ``all`` that fails its false items only."""
    return isinstance(condition, AnyOf) if holds else isinstance(condition, AllOf)


def _always_all(condition: Condition, holds: bool) -> bool:
    """Whether every atom of ``condition`` is reported whenever it ``holds`` (or fails)."""
    if isinstance(condition, Atom):
        return True
    return not _chooses(condition, holds) and all(
        _always_all(item, holds) for item in operands(condition))


def _whole(points: float) -> bool:
    """Whether ``points`` is a whole number: whole numbers of points add up exactly in floats
    (a criterion's total stays far below 2**53), so adding them one by one gives what ``sum``
    gives in every Python version, compensated (3.12) or not."""
    return points.is_integer()


def _points(index: int, rule: Rule, writer: _Writer) -> str:
    """A rule's points as an expression: its constant, or its scale read at its field."""
    if rule.scale is None:
        return literal(rule.points)
    return f"S{index}({writer.local(rule.scale.field)})"


def _decide(ruleset: Ruleset) -> list[str]:
    """A criterion whose points are all whole numbers adds them up as its rules fire
    (``points0 += 15.0``, 25% of ``decide``'s time less than collecting them); any other
    collects them and sums them with ``sum``, as the reference does, and a criterion with a
    graded rule rounds that sum to the two decimals its scales read."""
    writer = _Writer()
    criteria = {c.name: index for index, c in enumerate(ruleset.criteria)}
    adds = {criteria[c.name]: all(r.scale is None and _whole(r.points or 0.0)
                                  for r in ruleset.rules if r.criterion == c.name)
            for c in ruleset.criteria}
    graded = {criteria[name] for name in ruleset.graded_criteria}
    body: list[str] = []
    for index, rule in enumerate(ruleset.rules):
        number = criteria[rule.criterion]
        points = _points(index, rule, writer)
        body += [f"    # {index}: {rule.id!a}, line {rule.line}",
                 f"    if {writer.condition(rule.guard)}:",
                 f"        fired{number}.append({index})",
                 f"        points{number} += {points}" if adds[number] else
                 f"        points{number}.append({points})"]
    totals = ", ".join(f"points{n}" if add else
                       f"round(sum(points{n}), 2)" if n in graded else f"sum(points{n})"
                       for n, add in adds.items())
    return ["def decide(fact):",
            '    """([indexes of the rules that fire], points) for each criterion"""',
            *writer.lookups(),
            *(f"    fired{n} = []  # {name!a}" for name, n in criteria.items()),
            *(f"    points{n} = {0 if add else []}" for n, add in adds.items()),
            *body,
            f"    return [{', '.join(f'fired{n}' for n in adds)}], [{totals}]"]


def _entry(fields: list[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"{key!r}: {value}" for key, value in fields) + "}"


def _explain(index: int, rule: Rule, holds: bool, first_atom: int) -> list[str]:
    """``finding_<index>`` (``holds``: the rule fired) or ``not_fired_<index>``: the result's
    entry for the rule, its fixed values written in, its sentence and evidence computed. A
    graded rule's entry gives the points its scale reads and the reading (``R<index>``); a
    graded rule that did not fire gives what the scale reads when its field is given, else 0."""
    writer = _Writer()
    numbers = itertools.count(first_atom)
    if _always_all(rule.condition, holds):  # the common case: one list, no tests
        body: list[str] = []
        reports = [writer.report(atom, holds, numbers) for atom in atoms(rule.condition)]
        evidence = f"[{', '.join(reports)}]"
    else:
        body = ["    out = []", *writer.evidence(rule.condition, holds, numbers)]
        evidence = "out"
    points = _points(index, rule, writer)
    value = writer.local(rule.scale.field) if rule.scale else ""
    unread = rule.scale is not None and not holds and writer.optional(rule.scale.field)
    if unread:
        points = f"({points} if {value} is not ABSENT else 0.0)"
    head = [("rule_id", literal(rule.id)), ("title", literal(rule.title)), ("points", points)]
    if holds:
        entry = [*head, ("sentence", writer.sentence(rule.because)), ("evidence", evidence)]
        if rule.scale:
            entry.append(("scale", f"R{index}({value})"))
        if rule.deficiency:
            entry.append(("caps_at", literal(rule.deficiency)))
    else:
        head.insert(1, ("criterion", literal(rule.criterion)))
        entry = [*head, ("sentence", writer.sentence(rule.otherwise)), ("failed", evidence)]
        if rule.scale and not unread:
            entry.append(("scale", f"R{index}({value})"))
    name = f"{'finding' if holds else 'not_fired'}_{index}"
    if unread:  # the reading only when the field is given
        return [f"def {name}(fact):", *writer.lookups(), *body,
                f"    entry = {_entry(entry)}",
                f"    if {value} is not ABSENT:",
                f"        entry['scale'] = R{index}({value})",
                "    return entry"]
    return [f"def {name}(fact):", *writer.lookups(), *body,
            f"    return {_entry(entry)}"]


def ruleset_source(ruleset: Ruleset) -> str:
    """The Python source of ``decide`` and, for rule ``i``, of ``finding_i(fact)`` (its entry
    in the result when it fires) and ``not_fired_i(fact)`` (its why-not)."""
    functions = [_decide(ruleset)]
    first_atom = 0
    for index, rule in enumerate(ruleset.rules):
        functions.append([f"# {index}: {rule.id!a}"])
        functions.append(_explain(index, rule, True, first_atom))
        functions.append(_explain(index, rule, False, first_atom))
        first_atom += len(atoms(rule.condition))
    header = f"# {ruleset.name!a} {ruleset.version!a}: {len(ruleset.rules)} rules"
    return "\n\n".join("\n".join(lines) for lines in [[header], *functions]) + "\n"


Explain = Callable[[Fact], dict[str, Any]]


class CompiledRules:
    """A ruleset's decider and explainers, compiled once (an ``Engine`` holds one per ruleset
    version, and the service keeps one engine per version per process)."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.ids = tuple(rule.id for rule in ruleset.rules)
        self.source = ruleset_source(ruleset)
        evidence = [AtomEvidence(atom) for rule in ruleset.rules for atom in atoms(rule.condition)]
        namespace: dict[str, Any] = {"__builtins__": _BUILTINS, "ABSENT": ABSENT,
                                     "FILLED": filled}
        namespace.update((f"E{number}", entry.report) for number, entry in enumerate(evidence))
        for index, rule in enumerate(ruleset.rules):  # a graded rule's scale, read and worded
            if rule.scale is not None:
                reading = ScaleReading(rule.scale)
                namespace.update({f"S{index}": reading.points, f"R{index}": reading.report})
        where = f"<rules {ruleset.name!a} {ruleset.version!a}>"
        # the source is generated from the checked rules only (see the module docstring)
        exec(compile(self.source, where, "exec"), namespace)
        self.decide: Decide = namespace["decide"]
        self.finding: tuple[Explain, ...] = tuple(
            namespace[f"finding_{index}"] for index in range(len(self.ids)))
        self.not_fired: tuple[Explain, ...] = tuple(
            namespace[f"not_fired_{index}"] for index in range(len(self.ids)))

    def fired(self, fact: Fact) -> frozenset[str]:
        return self.ids_of(self.decide(fact)[0])

    def ids_of(self, fired: list[list[int]]) -> frozenset[str]:
        return frozenset(self.ids[index] for indexes in fired for index in indexes)
