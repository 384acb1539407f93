"""Is a ruleset defensible? The checks of ``policy-eval rules check`` beyond loading and lint.

- **monotonicity**: no single improvement of a proposal (a field moved the way the catalog, or
  the criterion, says is better) lowers a criterion's score or sets off one of its deficiencies.
  Proven statically where the directions of a rule's atoms and the sign of its points settle it
  for every proposal (``monotone``); otherwise searched, just either side of every threshold of
  the rules concerned (``search``).
- **missing-value**: leaving out a field whose absence ranks worst never scores better than its
  worst stated value (a missing delivery year must not escape the late-delivery penalties).
- **cliff**: a criterion's score does not jump where a money figure crosses a threshold (a
  scale moves it by degrees instead).
- **overlap**: no single improvement raises two rules at once: they would count one fact twice.
- **registry**: no partner-registry entry matches system names by substring.

Every finding names the rules responsible, at their line, with a counterexample: the proposal
before and after, and the scores. A finding the ruleset acknowledges (``acknowledged:``, with a
reason) is reported but does not fail the check.
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

from marshmallow import Schema, fields, missing

from schemas.proposal import ProposalSchema
from service.engine.authoring.lint import branches
from service.engine.authoring.monotone import statically_safe
from service.engine.authoring.probe import (
    ABSENT,
    Outcome,
    Probe,
    Proposal,
    change,
    neutral,
)
from service.engine.authoring.search import (
    Point,
    Search,
    atom_paths,
    depends,
    moves_with,
    rule_depends,
    watched,
)
from service.engine.evaluation.facts import value_at
from service.engine.language.catalog import field_catalog
from service.engine.language.diagnostics import RuleProblem
from service.engine.language.fieldspec import Better, FieldSpec, Way
from service.engine.language.model import Acknowledgment, Atom, Rule, Ruleset
from service.engine.language.templates import show

EPSILON = 1e-9  # scores closer than this are equal
CLIFF = 0.01  # graded points have two decimals: a smaller jump is rounding, not a cliff
MAX_CONTEXTS_PER_RULE = 4  # the alternatives of a rule's condition that set a search up
# proposals a field is searched in, and proposals scored for one field: the shipped ruleset
# needs at most 14 contexts and 3,151 proposals (threats_addressed); the bounds keep a check of
# hundreds of rules to a minute or so (150 random rules of nested conditions: 73 s without the
# first), and a search cut short says so
MAX_CONTEXTS = 24
MAX_EVALUATIONS_PER_FIELD = 10_000


@dataclass(frozen=True)
class Finding:
    check: str
    rules: tuple[str, ...]  # the rules responsible, in file order
    file: str
    line: int
    message: str
    details: tuple[str, ...] = ()  # the counterexample in words
    systems: tuple[str, ...] = ()  # for the registry check
    acknowledged: Acknowledgment | None = None
    # the counterexample: the proposal before and after (or stated and left out, or either
    # side of a cliff), as the API would take them
    example: tuple[Proposal, Proposal] | None = field(default=None, compare=False, repr=False)

    def problem(self) -> RuleProblem:
        """The finding as ``rules check`` prints a problem: file:line, rules, message."""
        return RuleProblem(self.file, self.line, 1, ", ".join(self.rules or self.systems),
                           f"{self.check}: {self.message}")


@dataclass(frozen=True)
class Report:
    file: str  # the ruleset's file, where acknowledgments are written
    findings: tuple[Finding, ...]
    unused: tuple[Acknowledgment, ...]  # acknowledgments that match no finding
    proven: int  # (criterion, field) pairs proven monotone without a search
    searched: int  # (criterion, field) pairs searched
    evaluations: int  # proposals scored
    cut_short: tuple[str, ...] = ()  # fields whose search reached MAX_EVALUATIONS_PER_FIELD
    # names in acknowledgments that match no rule (or registry system), with the closest one
    unknown: tuple[tuple[Acknowledgment, str, str], ...] = ()

    @property
    def failing(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.acknowledged is None)


# --- words ---------------------------------------------------------------------------------


_SCALES = ((1e12, " trillion"), (1e9, " billion"), (1e6, " million"), (1.0, ""))


def _digits(number: float, digits: int) -> str:
    """``number`` to ``digits`` significant digits, with thousands separators and never in
    exponent form (¥1,000 trillion, not ¥1e+03 trillion)."""
    if number == 0:
        return "0"
    places = max(0, digits - 1 - math.floor(math.log10(abs(number))))
    text = f"{round(number, places):,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _value(path: str, value: Any, proposal: Proposal, digits: int = 3) -> str:
    if value is ABSENT:
        return "(left out)"
    if path.endswith(".amount"):
        currency = value_at(proposal, path.removesuffix(".amount") + ".currency")
        symbol = "$" if currency == "USD" else "¥"
        scale, word = next(((s, w) for s, w in _SCALES if abs(value) >= s), _SCALES[-1])
        return f"{symbol}{_digits(value / scale, digits)}{word}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(str, value)) + "]"
    if path.endswith("year"):
        return str(int(value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _digits(value, max(digits, len(str(int(abs(value))))))
    return show(value)


def _defaults(schema: Schema) -> dict[str, Any]:
    """The plain defaults a proposal loads with (origin US, no munitions commonality…)."""
    found: dict[str, Any] = {}
    for name, declared in schema.fields.items():
        if isinstance(declared, fields.Nested):
            found[name] = _defaults(declared.schema)
        elif declared.load_default is not missing and not callable(declared.load_default):
            found[name] = declared.load_default
    return found


_LOADED_AS = _defaults(ProposalSchema())


def compact(proposal: Proposal) -> str:
    """A proposal as short JSON: empty lists and sections and default values left out (it
    loads the same)."""
    def strip(node: Any, defaults: Any) -> Any:
        if not isinstance(node, dict):
            return node
        kept = {k: strip(v, defaults.get(k, {}) if isinstance(defaults, dict) else {})
                for k, v in node.items()
                if not (isinstance(defaults, dict) and defaults.get(k, _NONE) == v)}
        return {k: v for k, v in kept.items() if v not in ([], {}, None)}
    return json.dumps(strip(proposal, _LOADED_AS), ensure_ascii=False)


_NONE = object()


def _changes(before: Outcome, after: Outcome, rules: Iterable[Rule]) -> list[str]:
    words = []
    for rule in rules:
        old, new = before.points.get(rule.id), after.points.get(rule.id)
        if old == new:
            continue
        if old is None:
            words.append(f"{rule.id} {new:+g} (now fires)")
        elif new is None:
            words.append(f"{rule.id} {-old:+g} (no longer fires)")
        else:
            words.append(f"{rule.id} {old:+g} → {new:+g}")
    return words


def _raised(ruleset: Ruleset, rule_id: str, before: Point, after: Point) -> str:
    gain = after.outcome.contribution(rule_id) - before.outcome.contribution(rule_id)
    criterion = next(r.criterion for r in ruleset.rules if r.id == rule_id)
    return f"{rule_id} {gain:+.4g} ({criterion})"


# --- one field ------------------------------------------------------------------------------


@dataclass
class _Field:
    """The checks along one proposal field."""

    ruleset: Ruleset
    search: Search
    spec: FieldSpec
    better: Better
    criteria: tuple[str, ...]  # the criteria for which ``better`` holds
    findings: dict[tuple[Any, ...], Finding] = field(default_factory=dict)
    # pairs of rules one improvement raises together: the largest gain, before, after
    rising: dict[tuple[str, str], tuple[float, Point, Point]] = field(default_factory=dict)
    # the sets of this field's rules seen firing on one proposal
    together: set[frozenset[str]] = field(default_factory=set)
    cut_short: bool = False  # the search stopped at MAX_EVALUATIONS_PER_FIELD

    @property
    def path(self) -> str:
        return self.spec.path

    def rules(self, ids: Iterable[str]) -> list[Rule]:
        wanted = set(ids)
        return [r for r in self.ruleset.rules if r.id in wanted]

    def add(self, key: tuple[Any, ...], finding: Finding) -> None:
        self.findings.setdefault(key, finding)

    def contexts(self, dependent: Sequence[Rule]) -> list[Proposal]:
        """The neutral proposal, and for each alternative of each rule's condition a proposal
        where its atoms that do not depend on this field hold (and the figures the others
        compare with are given), the rules listed first first, up to MAX_CONTEXTS."""
        base = neutral(self.ruleset)
        found = {compact(base): base}
        catalog = field_catalog()
        for rule in dependent:
            for branch in (branches(rule.guard) or [])[:MAX_CONTEXTS_PER_RULE]:
                if len(found) >= MAX_CONTEXTS:
                    return list(found.values())
                fixed = [a for a in branch if not depends(a, self.path)]
                given = [Atom(p, "exists") for a in branch if depends(a, self.path)
                         for p in atom_paths(a)
                         if catalog[p].optional and not moves_with(p, self.path)]
                proposal = self.search.satisfy(base, [*fixed, *given])
                if proposal is not None:
                    found.setdefault(compact(proposal), proposal)
        return list(found.values())

    def run(self) -> tuple[int, int]:
        dependent = [r for r in self.ruleset.rules if rule_depends(r, self.path)]
        mine = [r for r in dependent if r.criterion in self.criteria]
        weights = self.ruleset.context.threat_weights
        priority = frozenset(t for t in weights if self.ruleset.context.is_priority(t))
        risky = [r for r in mine if not statically_safe(r, self.path, self.better, priority)]
        unsafe = {r.criterion for r in risky}
        proven = len(self.criteria) - len(unsafe)
        if not dependent:
            return proven, 0
        atoms, scales = watched(dependent, self.path)
        # the rules that may punish an improvement set the search up first
        start = self.search.probe.evaluations
        for context in self.contexts([*risky, *(r for r in dependent if r not in risky)]):
            if self.search.probe.evaluations - start > MAX_EVALUATIONS_PER_FIELD:
                self.cut_short = True
                break
            if self.spec.kind == "list":
                self.along_list(context, atoms, mine)
            elif self.better.way == "order":
                self.along([self._ranked(context, v) for v in self.better.order], mine)
            else:
                self.along_number(context, atoms, scales, mine, dependent)
        return proven, len(unsafe)

    def _ranked(self, context: Proposal, value: str) -> Point:
        changed = change(context, self.path, value)
        return Point(value, changed, self.search.outcome(changed))

    def along_number(self, context: Proposal, atoms: list[Atom], scales: list[Any],
                     mine: list[Rule], dependent: list[Rule]) -> None:
        line = self.search.line(context, self.path, atoms, scales)
        ordered = line.points if self.better.way == "higher" else line.points[::-1]
        self.along(ordered, mine)
        if self.spec.continuous:
            for threshold in line.thresholds:
                self.cliff(threshold.exact, threshold.shown, dependent)
        if self.better.absent_is_worst:
            self.absence(context, line.points, mine)

    def along(self, ordered: Sequence[Point], mine: list[Rule]) -> None:
        """Worst to best: each step must not lower a criterion; no two rules may rise over one
        improvement."""
        for before, after in itertools.pairwise(ordered):
            self.step(before, after, mine)
        for i, j in itertools.combinations(range(len(ordered)), 2):
            self.overlap(ordered[i], ordered[j], mine)

    def along_list(self, context: Proposal, atoms: list[Atom], mine: list[Rule]) -> None:
        own = context["requesting_country"]
        category = context["system"]["category"]
        profile = self.ruleset.context.categories.get(category)

        def addable(item: str) -> bool:
            if item == own:
                return False
            if not self.better.priority_only:
                return True
            plausible = profile is None or item in profile.threats
            return self.ruleset.context.is_priority(item) and plausible

        for before, after, _ in self.search.list_states(context, self.path, atoms, addable):
            self.step(before, after, mine)
            self.overlap(before, after, mine)

    # --- the checks ---------------------------------------------------------------------

    def describe(self, before: Point, after: Point) -> str:
        """The change in words, with as many digits as it takes to tell the two apart."""
        for digits in (3, 6, 9, 12, 15):
            old = _value(self.path, value_at(before.proposal, self.path), before.proposal, digits)
            new = _value(self.path, value_at(after.proposal, self.path), after.proposal, digits)
            if old != new:
                break
        return f"{self.spec.label} {old} → {new} ({self.path})"

    def step(self, before: Point, after: Point, mine: list[Rule]) -> None:
        for criterion in self.criteria:
            rules = [r for r in mine if r.criterion == criterion]
            new_caps = {r.id for r in rules if r.deficiency} & (
                after.outcome.deficiencies - before.outcome.deficiencies)
            old_score, new_score = before.outcome.scores[criterion], after.outcome.scores[criterion]
            if new_score >= old_score - EPSILON and not new_caps:
                continue
            lower = [r for r in rules if r.id in new_caps
                     or after.outcome.contribution(r.id) < before.outcome.contribution(r.id)
                     - EPSILON]
            if not lower:
                continue
            self.add(("monotonicity", criterion, tuple(r.id for r in lower)), Finding(
                "monotonicity", tuple(r.id for r in lower), self.ruleset.source, lower[0].line,
                f"an improvement lowers {criterion}: {self.describe(before, after)} takes it "
                f"from {old_score:.2f} to {new_score:.2f}"
                + (f" and sets off {', '.join(sorted(new_caps))}" if new_caps else ""),
                (f"before: {compact(before.proposal)}",
                 f"after:  the same with {self.describe(before, after)}",
                 f"{criterion} {old_score:.2f} → {new_score:.2f}: "
                 + ", ".join(_changes(before.outcome, after.outcome, rules))),
                example=(before.proposal, after.proposal)))

    def absence(self, context: Proposal, stated: Sequence[Point], mine: list[Rule]) -> None:
        left_out = change(context, self.path, ABSENT)
        absent = Point(ABSENT, left_out, self.search.outcome(left_out))
        for criterion in self.criteria:
            worst = min(stated, key=lambda p: p.outcome.scores[criterion])
            if absent.outcome.scores[criterion] <= worst.outcome.scores[criterion] + EPSILON:
                continue
            rules = [r for r in mine if r.criterion == criterion]
            escaping = [r for r in rules
                        if absent.outcome.contribution(r.id) > worst.outcome.contribution(r.id)
                        + EPSILON]
            if not escaping:
                continue
            self.add(("missing-value", criterion, tuple(r.id for r in escaping)), Finding(
                "missing-value", tuple(r.id for r in escaping), self.ruleset.source,
                escaping[0].line,
                f"leaving out {self.spec.label} ({self.path}) scores better on {criterion} "
                f"than its worst stated value: {absent.outcome.scores[criterion]:.2f} against "
                f"{worst.outcome.scores[criterion]:.2f}",
                (f"stated: {compact(worst.proposal)}",
                 f"left out: the same without {self.path}",
                 f"{criterion} {worst.outcome.scores[criterion]:.2f} → "
                 f"{absent.outcome.scores[criterion]:.2f}: "
                 + ", ".join(_changes(worst.outcome, absent.outcome, rules))),
                example=(worst.proposal, absent.proposal)))

    def cliff(self, exact: tuple[Point, Point], shown: tuple[Point, Point],
              dependent: list[Rule]) -> None:
        for criterion in (c.name for c in self.ruleset.criteria):
            below, above = (p.outcome.scores[criterion] for p in exact)
            if abs(above - below) <= CLIFF:
                continue
            rules = [r for r in dependent if r.criterion == criterion
                     and abs(exact[1].outcome.contribution(r.id)
                             - exact[0].outcome.contribution(r.id)) > EPSILON]
            if not rules:
                continue
            self.add(("cliff", criterion, tuple(r.id for r in rules)), Finding(
                "cliff", tuple(r.id for r in rules), self.ruleset.source, rules[0].line,
                f"{criterion} jumps by {abs(above - below):.2f} points where "
                f"{self.describe(*shown)} crosses a threshold",
                (f"below: {compact(shown[0].proposal)}",
                 f"above: the same with {self.describe(*shown)}",
                 f"{criterion} {shown[0].outcome.scores[criterion]:.2f} → "
                 f"{shown[1].outcome.scores[criterion]:.2f}: "
                 + ", ".join(_changes(exact[0].outcome, exact[1].outcome, rules)),
                 "hint: read the points off a scale instead"),
                example=(shown[0].proposal, shown[1].proposal)))

    def overlap(self, before: Point, after: Point, mine: list[Rule]) -> None:
        """Record the rules one improvement raises together, and those that fire together."""
        ids = {r.id for r in mine}
        for point in (before, after):
            self.together.add(frozenset(point.outcome.points) & ids)
        rising = [r for r in mine if after.outcome.contribution(r.id)
                  > before.outcome.contribution(r.id) + EPSILON]
        for first, second in itertools.combinations(rising, 2):
            gain = sum(after.outcome.contribution(r.id) - before.outcome.contribution(r.id)
                       for r in (first, second))
            known = self.rising.get((first.id, second.id))
            if known is None or gain > known[0] + EPSILON:
                self.rising[(first.id, second.id)] = (gain, before, after)

    def overlaps(self) -> Iterator[Finding]:
        """Rules count one fact twice when one improvement raises both and they can fire on
        the same proposal (two levels of one staircase never do). One finding per group of
        rules so linked, with the improvement that raises its last rule and another most."""
        pairs = {pair: witness for pair, witness in self.rising.items()
                 if any(set(pair) <= fired for fired in self.together)}
        groups: list[set[str]] = []
        for pair in pairs:
            linked = [g for g in groups if g & set(pair)]
            groups = [g for g in groups if g not in linked] + [set(pair).union(*linked)]
        for group in groups:
            mine = {pair: w for pair, w in pairs.items() if set(pair) <= group}
            rules = self.rules(group)
            # the example shows the last rule, where the finding is reported, with its largest
            # partner: the rule that counts again what the others count
            last = [p for p in mine.items() if rules[-1].id in p[0]]
            (first, second), (gain, before, after) = max(last, key=lambda i: i[1][0])
            raised = [_raised(self.ruleset, r, before, after) for r in (first, second)]
            yield Finding(  # at the last rule, which counts again what the others count
                "overlap", tuple(r.id for r in rules), self.ruleset.source, rules[-1].line,
                f"{self.spec.label} ({self.path}) is counted more than once: "
                + ", ".join(f"{a} with {b}" for a, b in sorted(mine))
                + " fire together and rise together",
                (f"before: {compact(before.proposal)}",
                 f"after:  the same with {self.describe(before, after)}",
                 f"raises {raised[0]} and {raised[1]}: {gain:.4g} points at stake for one "
                 "fact",
                 "hint: count the fact in one rule (a scale), or acknowledge what each rule "
                 "adds that the others do not"),
                example=(before.proposal, after.proposal))


# --- the registry ---------------------------------------------------------------------------


def registry_findings(ruleset: Ruleset) -> Iterator[Finding]:
    context = ruleset.context
    for entry in context.partner_registry:
        if not entry.substrings:
            continue
        part = entry.substrings[0]
        others = [other.system for other in context.partner_registry
                  if other is not entry and any(part.casefold() in n for n in other.names)]
        example = f"{part} derivative"
        also = f"; it also matches the names of {', '.join(others)}" if others else ""
        yield Finding(
            "registry", (), context.source or ruleset.source, entry.line,
            f"registry entry {entry.system!r} matches system names by substring "
            f"({', '.join(map(repr, entry.substrings))}): a system named {example!r} would be "
            f"given its {len(entry.operators)} operators{also}",
            ("hint: list the names that denote it under aliases: (exact, without case, spaces "
             "or punctuation)",), systems=(entry.system,))


# --- all of it ------------------------------------------------------------------------------


def _directions(ruleset: Ruleset) -> Iterator[tuple[FieldSpec, Better, tuple[str, ...]]]:
    """Each proposal field with a direction, and the criteria for which it holds."""
    all_criteria = tuple(c.name for c in ruleset.criteria)
    catalog = field_catalog()
    for spec in catalog.values():
        if spec.better and not spec.path.startswith("derived."):
            yield spec, spec.better, all_criteria
    for criterion in ruleset.criteria:
        for path, way in criterion.better:
            yield (catalog[path], Better(cast(Way, way), f"declared by {criterion.name}"),
                   (criterion.name,))


def _acknowledge(ruleset: Ruleset, findings: list[Finding]) -> tuple[list[Finding],
                                                                      list[Acknowledgment]]:
    """The findings with the acknowledgment that covers each, and the acknowledgments that
    cover none."""
    used: set[int] = set()
    done = []
    for finding in findings:
        for index, ack in enumerate(ruleset.acknowledged):
            if (ack.check == finding.check and set(finding.rules) <= set(ack.rules)
                    and set(finding.systems) <= set(ack.systems)):
                finding = replace(finding, acknowledged=ack)
                used.add(index)
                break
        done.append(finding)
    return done, [a for i, a in enumerate(ruleset.acknowledged) if i not in used]


def _unknown_names(ruleset: Ruleset) -> list[tuple[Acknowledgment, str, str]]:
    """(acknowledgment, a name in it that matches nothing, the closest that does)."""
    rules = [r.id for r in ruleset.rules]
    systems = [p.system for p in ruleset.context.partner_registry]
    found = []
    for ack in ruleset.acknowledged:
        for name, known in [*((n, rules) for n in ack.rules), *((n, systems) for n in ack.systems)]:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                found.append((ack, name, close[0] if close else ""))
    return found


def check(ruleset: Ruleset) -> Report:
    """Every defensibility finding of ``ruleset``, acknowledged or not."""
    probe = Probe(ruleset)
    search = Search(probe)
    found: dict[tuple[Any, ...], Finding] = {}
    proven = searched = 0
    cut_short = []
    for spec, better, criteria in _directions(ruleset):
        one = _Field(ruleset, search, spec, better, criteria)
        fine, unsafe = one.run()
        proven, searched = proven + fine, searched + unsafe
        if one.cut_short:
            cut_short.append(spec.path)
        for key, finding in one.findings.items():
            found.setdefault(key, finding)
        for finding in one.overlaps():
            found.setdefault(("overlap", finding.rules), finding)
    findings = [*found.values(), *registry_findings(ruleset)]
    findings.sort(key=lambda f: (f.file != ruleset.source, f.line, f.check, f.rules))
    acknowledged, unused = _acknowledge(ruleset, findings)
    return Report(ruleset.source, tuple(acknowledged), tuple(unused), proven, searched,
                  probe.evaluations, tuple(cut_short), tuple(_unknown_names(ruleset)))
