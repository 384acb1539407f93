"""Parse and check a ruleset file: YAML in, a typed ``Ruleset`` or every problem out.

Checking happens here, once, at load time: field paths against the catalog, literal types and
vocabularies against the field, operators against the field kind, templates against the catalog.
An evaluation never meets a rule that could misbehave on a typo.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml
from marshmallow import ValidationError

from schemas.fields import text_problem
from schemas.ruleset import VERSION_PATTERN, VERSION_RULE
from schemas.vocabulary import ACQUISITION_PATHS, RATINGS, RECOMMENDATIONS, SYSTEM_CATEGORIES
from service.engine.language.catalog import field_catalog
from service.engine.language.changeable import read_changeable
from service.engine.language.diagnostics import RuleProblem, RulesetError
from service.engine.language.fieldspec import FieldSpec
from service.engine.language.model import (
    CHECKS,
    Acknowledgment,
    AllOf,
    AnyOf,
    Atom,
    Band,
    Condition,
    Criterion,
    FieldRef,
    Not,
    Rule,
    Ruleset,
    Scale,
    Scope,
)
from service.engine.language.operators import OPERATORS, normalize
from service.engine.language.reference import Context, context_from_data
from service.engine.language.source import Located, LocatedList, Mark, Refused, parse_yaml
from service.engine.language.templates import check_template
from service.engine.language.uncertainty import read_uncertainty

# A file is refused on its size before it is parsed: 1 MiB holds ~1,400 rules of the shipped
# ruleset's size (45 KB for 63), and parses in ~0.1 s. MAX_RULES keeps a ruleset's check and
# its durable-rules compilation in the same range.
MAX_BYTES = 1_048_576
# path segments of /v1/rulesets/… that are not versions: a version so named could not be read
RESERVED_VERSIONS = ("active",)
MAX_RULES = 1000
MAX_DEPTH = 32
# What analysts reach for to match text. The language has none of them on purpose (see atom()).
REGEX_OPERATORS = {"matches", "match", "regex", "regexp", "re", "like", "pattern", "search",
                   "fullmatch", "glob", "=~"}
NO_REGEX = ("the rule language has no regular expressions, on purpose: a pattern such as "
            "(a+)+$ can take exponential time on one crafted value and stall every evaluation; "
            "test the field's closed vocabulary with eq, in or contains_any")
RULE_KEYS = {"id", "criterion", "title", "description", "when", "points", "scale", "scope",
             "deficiency", "because", "otherwise"}
GROUP_KEYS = {"group", "description", "scope", "rules"}
MAX_GROUP_DEPTH = 4
SCOPE_KEYS = {"categories": SYSTEM_CATEGORIES, "paths": ACQUISITION_PATHS}
MAX_BREAKPOINTS = 20
# An evaluator's limit on one rule's condition (normalized): why it cannot take the condition,
# or None. The language knows no evaluator; the engine passes its evaluators' limits in, so
# the analyst learns of one at the rule's line, when the file is checked.
ConditionLimit = Callable[[Condition], "str | None"]
HEADER_KEYS = {"name", "version", "description", "context", "criteria", "bands", "rules",
               "deficiency_cap", "uncertainty", "acknowledged", "counterfactuals"}
# Texts that are one line wherever they appear (results, tables, CSV cells, log lines): they
# refuse line breaks and invisible characters as the proposal's ids and titles do. The others
# (descriptions, rationales) may span lines; no text may hold a control character.
SINGLE_LINE_KEYS = {"id", "name", "version", "title", "label", "because", "otherwise"}


def _hint(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def canonical_json(data: Any) -> str:
    """Key order ignored: for inputs, where ``{"a", "b"}`` and ``{"b", "a"}`` are one proposal."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def document_json(document: Any) -> str:
    """Key order kept: in a ruleset it is meaning (criteria are reported in the order written),
    so two orders are two rulesets with two hashes."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


class _Checker:
    """Collects problems for one file so that an analyst sees all of them in one run."""

    def __init__(self, file: str, limits: Sequence[ConditionLimit] = ()) -> None:
        self.file = file
        self.limits = limits
        self.problems: list[RuleProblem] = []
        self.catalog = field_catalog()
        self.rule_id = ""

    def problem(self, mark: Mark, message: str, hint: str = "") -> None:
        self.problems.append(
            RuleProblem(self.file, mark.line, mark.col, self.rule_id, message, hint)
        )

    def mapping(self, value: Any, mark: Mark, what: str) -> Located | None:
        if isinstance(value, Located):
            return value
        self.problem(mark, f"{what} must be a mapping of keys to values")
        return None

    def unknown_keys(self, data: Located, allowed: set[str], what: str) -> None:
        for key in data:
            if key not in allowed:
                self.problem(data.mark_of(str(key)), f"unknown key {key!r} in {what}",
                             _hint(str(key), sorted(allowed)))

    def text(self, data: Located, key: str, required: bool = True) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                self.problem(data.mark, f"{key!r} is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(data.mark_of(key), f"{key!r} must be non-empty text")
            return None
        if refused := text_problem(value.strip(), single_line=key in SINGLE_LINE_KEYS):
            self.problem(data.mark_of(key), f"{key!r}: {refused}")
            return None
        return value.strip()

    def number(self, data: Located, key: str, low: float, high: float) -> float | None:
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(
            value
        ):
            self.problem(data.mark_of(key) if key in data else data.mark,
                         f"{key!r} must be a number")
            return None
        if not low <= value <= high:
            self.problem(data.mark_of(key), f"{key!r} must be between {low:g} and {high:g}")
            return None
        return float(value)

    def field(self, path: Any, mark: Mark) -> FieldSpec | None:
        if not isinstance(path, str):
            self.problem(mark, "'field' must be a field path such as acquisition.quantity")
            return None
        spec = self.catalog.get(path)
        if spec is None:
            self.problem(mark, f"unknown field {path!r}", _hint(path, list(self.catalog)))
        return spec

    def template(self, data: Located, key: str, required: bool) -> str | None:
        text = self.text(data, key, required)
        for placeholder, message in check_template(text or "", self.catalog):
            self.problem(data.mark_of(key), f"{message} in {placeholder}")
        return text

    # --- conditions -------------------------------------------------------------------------

    def condition(self, node: Any, mark: Mark, depth: int = 0) -> Condition | None:
        if depth > MAX_DEPTH:
            self.problem(mark, f"condition nested deeper than {MAX_DEPTH} levels")
            return None
        data = self.mapping(node, mark, "a condition")
        if data is None:
            return None
        combinators = [k for k in ("all", "any", "not") if k in data]
        if combinators:
            if len(data) != 1:
                self.problem(data.mark, "a condition is one of all / any / not / an atom, "
                                        f"not several: {sorted(map(str, data))}")
                return None
            return self.combinator(combinators[0], data, depth)
        return self.atom(data)

    def combinator(self, key: str, data: Located, depth: int) -> Condition | None:
        mark = data.mark_of(key)
        if key == "not":
            inner = self.condition(data["not"], mark, depth + 1)
            return Not(inner) if inner else None
        items = data[key]
        if not isinstance(items, LocatedList) or not items:
            self.problem(mark, f"{key!r} takes a non-empty list of conditions")
            return None
        marks = items.item_marks
        parsed = [self.condition(item, m, depth + 1) for item, m in zip(items, marks, strict=True)]
        if any(p is None for p in parsed):
            return None
        kind = AllOf if key == "all" else AnyOf
        return kind(tuple(p for p in parsed if p is not None))

    @staticmethod
    def operator_hint(op_name: Any) -> str:
        """Why a pattern operator does not exist, or the closest operator, or all of them."""
        if str(op_name).lower() in REGEX_OPERATORS:
            return NO_REGEX
        return _hint(str(op_name), list(OPERATORS)) or "operators: " + ", ".join(OPERATORS)

    def atom(self, data: Located) -> Atom | None:
        self.unknown_keys(data, {"field", "op", "value"}, "a condition atom")
        spec = self.field(data.get("field"), data.mark_of("field"))
        op_name = data.get("op")
        operator = OPERATORS.get(op_name) if isinstance(op_name, str) else None
        if operator is None:
            self.problem(data.mark_of("op"), f"unknown operator {op_name!r}",
                         self.operator_hint(op_name))
            return None
        if spec is None:
            return None
        if spec.kind not in operator.field_kinds:
            self.problem(data.mark_of("op"), f"operator {op_name!r} does not apply to "
                         f"{spec.path}, which is a {spec.kind}")
            return None
        value = self.operand(data, spec, operator.value)
        if value is _INVALID:
            return None
        if operator.value == "none" and not spec.optional and spec.kind != "list":
            self.problem(data.mark_of("op"), f"{spec.path} is always given; "
                         f"{op_name!r} would be constant")
            return None
        return Atom(spec.path, operator.name, value, data.mark.line)

    def operand(self, data: Located, spec: FieldSpec, arity: str) -> Any:
        mark = data.mark_of("value")
        value = data.get("value")
        if arity == "none":
            if "value" in data:
                self.problem(mark, "this operator takes no 'value'")
                return _INVALID
            return None
        if "value" not in data:
            self.problem(data.mark, "'value' is required for this operator")
            return _INVALID
        if arity == "many":
            if not isinstance(value, list) or not value:
                self.problem(mark, "'value' must be a non-empty list for this operator")
                return _INVALID
            checked = [self.literal(spec, v, mark) for v in value]
            return _INVALID if _INVALID in checked else tuple(checked)
        if isinstance(value, Located):
            return self.reference(spec, value)
        return self.literal(spec, value, mark)

    def literal(self, spec: FieldSpec, value: Any, mark: Mark) -> Any:
        reason = spec.accepts_literal(value)
        if reason is None:
            return float(value) if spec.item_kind == "number" else value
        hint = _hint(value, list(spec.values)) if spec.values and isinstance(value, str) else ""
        if isinstance(value, bool) and spec.item_kind == "string":
            hint = 'YAML reads unquoted yes/no/on/off (Norway\'s NO too) as true/false: quote it'
        self.problem(mark, f"type mismatch: {reason}", hint)
        return _INVALID

    def reference(self, spec: FieldSpec, value: Located) -> Any:
        self.unknown_keys(value, {"field"}, "a field reference")
        other = self.field(value.get("field"), value.mark_of("field"))
        if other is None:
            return _INVALID
        if other.kind != spec.item_kind or other.kind == "list":
            self.problem(value.mark, f"type mismatch: {spec.path} ({spec.kind}) cannot be "
                         f"compared with {other.path} ({other.kind})")
            return _INVALID
        return FieldRef(other.path)


_INVALID = object()


class _RulesetReader(_Checker):
    """Reads the parts of a ruleset file in order: header, criteria, bands, rules."""

    def criteria(self, data: Located) -> tuple[Criterion, ...]:
        section = self.mapping(data.get("criteria"), data.mark_of("criteria"), "'criteria'")
        if section is None:
            return ()
        found = []
        for name, body in section.items():
            self.rule_id = ""
            spec = self.mapping(body, section.mark_of(name), f"criterion {name!r}")
            if spec is None:
                continue
            self.unknown_keys(spec, {"label", "weight", "baseline", "rationale", "better"},
                              "a criterion")
            weight = self.number(spec, "weight", 0, 1)
            baseline = self.number(spec, "baseline", 0, 100)
            rationale = self.text(spec, "rationale")
            label = self.text(spec, "label", required=False) or name.replace("_", " ").title()
            better = self.better(spec)
            if weight is not None and baseline is not None and rationale:
                found.append(Criterion(name, label, weight, baseline, rationale, better))
        total = sum(c.weight for c in found)
        if found and abs(total - 1) > 1e-9:
            self.problem(section.mark, f"criterion weights sum to {total:g}, not 1")
        return tuple(found)

    def better(self, spec: Located) -> tuple[tuple[str, str], ...]:
        """``better: {acquisition.quantity: higher}``: a direction this criterion adds for a
        number the catalog gives none (more of a munition is a deeper stockpile)."""
        if "better" not in spec:
            return ()
        section = self.mapping(spec["better"], spec.mark_of("better"), "'better'")
        found = []
        for path, direction in (section or {}).items():
            mark = section.mark_of(path) if section else spec.mark
            field = self.field(path, mark)
            if field is None:
                continue
            if field.kind != "number" or path.startswith("derived."):
                self.problem(mark, f"'better' takes numbers of the proposal; {path} is not one")
            elif field.better is not None:
                self.problem(mark, f"the catalog already says {field.better.words} is better "
                             f"for {path}", "a criterion adds directions only where the "
                             "catalog has none")
            elif direction not in ("higher", "lower"):
                self.problem(mark, f"the direction of {path} is higher or lower, not "
                             f"{direction!r}")
            else:
                found.append((str(path), str(direction)))
        return tuple(found)

    def bands(self, data: Located) -> tuple[Band, ...]:
        items = data.get("bands")
        if not isinstance(items, LocatedList) or not items:
            self.problem(data.mark_of("bands"), "'bands' must be a non-empty list")
            return ()
        found = []
        for item, mark in zip(items, items.item_marks, strict=True):
            band = self.mapping(item, mark, "a band")
            if band is None:
                continue
            self.unknown_keys(band, {"rating", "min_score", "recommendation"}, "a band")
            rating = self.choice(band, "rating", RATINGS)
            recommendation = self.choice(band, "recommendation", RECOMMENDATIONS)
            low = self.number(band, "min_score", 0, 100)
            if rating and recommendation and low is not None:
                found.append(Band(rating, low, recommendation))
        found.sort(key=lambda b: -b.min_score)
        if found and found[-1].min_score != 0:
            self.problem(items.mark, "the lowest band must start at min_score 0 so that every "
                         "score has a rating")
        return tuple(found)

    def choice(self, data: Located, key: str, allowed: tuple[str, ...]) -> str | None:
        value = data.get(key)
        if value not in allowed:
            self.problem(data.mark_of(key) if key in data else data.mark,
                         f"{key!r} must be one of {', '.join(allowed)}",
                         _hint(str(value), list(allowed)))
            return None
        return str(value)

    def rules(self, data: Located, criteria: set[str], default_cap: str) -> tuple[Rule, ...]:
        items = data.get("rules")
        if not isinstance(items, LocatedList) or not items:
            self.problem(data.mark_of("rules"), "'rules' must be a non-empty list")
            return ()
        if len(items) > MAX_RULES:  # refused before reading them; groups are counted after
            self.problem(items.mark, f"{len(items)} rules; at most {MAX_RULES} are allowed")
            return ()
        found: list[Rule] = []
        self.rule_list(items, criteria, default_cap, set(), found, None, 0)
        if len(found) > MAX_RULES:
            self.problem(items.mark, f"{len(found)} rules; at most {MAX_RULES} are allowed")
            return ()
        self.rule_id = ""
        return tuple(found)

    def rule_list(self, items: LocatedList, criteria: set[str], default_cap: str,
                  seen: set[str], found: list[Rule], scope: Scope | None, depth: int) -> None:
        """The rules of a list, in order, a group's rules in its place (within its scope)."""
        for item, mark in zip(items, items.item_marks, strict=True):
            if len(found) > MAX_RULES:
                return
            if isinstance(item, Located) and "group" in item:
                self.group(item, criteria, default_cap, seen, found, scope, depth + 1)
                continue
            rule = self.rule(item, mark, criteria, default_cap, seen, scope)
            if rule is not None:
                found.append(rule)

    def group(self, data: Located, criteria: set[str], default_cap: str, seen: set[str],
              found: list[Rule], outer: Scope | None, depth: int) -> None:
        """``{group: title, scope: ..., rules: [...]}``: rules that share a scope."""
        self.rule_id = ""
        self.unknown_keys(data, GROUP_KEYS, "a group of rules")
        self.text(data, "group")
        if depth > MAX_GROUP_DEPTH:
            self.problem(data.mark, f"groups nest at most {MAX_GROUP_DEPTH} deep")
            return
        own = self.scope(data)
        scope = own.within(outer) if own else outer
        items = data.get("rules")
        if not isinstance(items, LocatedList) or not items:
            self.problem(data.mark_of("rules"), "a group's 'rules' must be a non-empty list")
            return
        self.rule_list(items, criteria, default_cap, seen, found, scope, depth)

    def scope(self, data: Located) -> Scope | None:
        """``scope: {categories: [...], paths: [...]}`` or the ``except_`` forms."""
        if "scope" not in data:
            return None
        section = self.mapping(data["scope"], data.mark_of("scope"), "'scope'")
        if section is None:
            return None
        keys = {*SCOPE_KEYS, *(f"except_{k}" for k in SCOPE_KEYS)}
        self.unknown_keys(section, keys, "a scope")
        allowed = {name: self.scope_dimension(section, name, vocabulary)
                   for name, vocabulary in SCOPE_KEYS.items()}
        if all(value is None for value in allowed.values()):
            self.problem(section.mark, "a scope names categories or paths (or except_ them)")
        return Scope(allowed["categories"], allowed["paths"], section.mark.line)

    def scope_dimension(self, section: Located, name: str,
                        vocabulary: tuple[str, ...]) -> tuple[str, ...] | None:
        if name in section and f"except_{name}" in section:
            self.problem(section.mark_of(name), f"give {name} or except_{name}, not both")
            return None
        key = name if name in section else f"except_{name}"
        if key not in section:
            return None
        values = section[key]
        mark = section.mark_of(key)
        if not isinstance(values, list) or not values:
            self.problem(mark, f"'{key}' must be a non-empty list")
            return None
        unknown = [v for v in values if v not in vocabulary]
        for value in unknown:
            self.problem(mark, f"{value!r} is not one of the {name}",
                         _hint(str(value), list(vocabulary)))
        if unknown:
            return None
        allowed = tuple(v for v in vocabulary if (v in values) == (key == name))
        if not allowed:
            self.problem(mark, f"'{key}' leaves no {name}: the rules could never apply")
            return None
        return allowed

    def rule(self, item: Any, mark: Mark, criteria: set[str], default_cap: str,
             seen: set[str], outer: Scope | None = None) -> Rule | None:
        self.rule_id = ""
        data = self.mapping(item, mark, "a rule")
        if data is None:
            return None
        rule_id = self.text(data, "id")
        self.rule_id = rule_id or ""
        if rule_id in seen:
            self.problem(data.mark_of("id"), f"duplicate rule id {rule_id!r}")
        seen.add(rule_id or "")
        self.unknown_keys(data, RULE_KEYS, "a rule")
        criterion = data.get("criterion")
        if criterion not in criteria:
            self.problem(data.mark_of("criterion") if "criterion" in data else data.mark,
                         f"unknown criterion {criterion!r}", _hint(str(criterion),
                                                                   sorted(criteria)))
        title = self.text(data, "title")
        description = self.text(data, "description", required=False) or ""
        because = self.template(data, "because", required=True)
        otherwise = self.template(data, "otherwise", required=False)
        deficiency = self.deficiency(data, default_cap)
        own_scope = self.scope(data)
        scope = own_scope.within(outer) if own_scope else outer
        scale = self.scale(data) if "scale" in data else None
        points = self.points(data, deficiency, graded="scale" in data)
        if "scale" in data and scale is not None and deficiency is None and not any(
                p for _, p in scale.breakpoints):
            self.problem(data.mark_of("scale"), "a scale that is 0 everywhere never moves the "
                         "score", "give its breakpoints non-zero points")
        condition = self.rule_condition(data, scale)
        if condition is not None and not self.within_limits(
                Rule("", "", "", "", condition, 0, "", scope=scope).guard,
                data.mark_of("when") if "when" in data else data.mark):
            condition = None
        if (rule_id is None or title is None or because is None or condition is None
                or criterion not in criteria or (points is None and scale is None)):
            return None
        return Rule(str(rule_id), str(criterion), str(title), description, condition,
                    points, str(because), otherwise, deficiency, data.mark.line, scale, scope)

    def points(self, data: Located, deficiency: str | None, graded: bool) -> float | None:
        """Fixed points, or None for a graded rule (which must not have both)."""
        if graded:
            if "points" in data:
                self.problem(data.mark_of("points"), "a rule gives fixed points or reads them "
                             "off a scale, not both", "remove 'points' or 'scale'")
            return None
        points = self.number(data, "points", -100, 100)
        if points == 0 and deficiency is None:
            self.problem(data.mark_of("points"), "a rule that is not a deficiency must move "
                         "the score: give it non-zero points")
        return points

    def rule_condition(self, data: Located, scale: Scale | None) -> Condition | None:
        """The normalized condition; a graded rule's is optional and always includes that its
        scale's field is given (a scale cannot be read off nothing)."""
        if scale is None or "when" in data:
            written = self.condition(data.get("when"), data.mark_of("when"))
            if written is None:
                return None
            condition = normalize(written)
            if scale is None or not self.catalog[scale.field].optional:
                return condition
            own = condition.items if isinstance(condition, AllOf) else (condition,)
            return AllOf((*own, Atom(scale.field, "exists", None, data.mark_of("scale").line)))
        return Atom(scale.field, "exists", None, data.mark_of("scale").line)

    def scale(self, data: Located) -> Scale | None:
        """``scale: {field: F, breakpoints: [[x, points], ...]}``, x strictly increasing."""
        section = self.mapping(data["scale"], data.mark_of("scale"), "'scale'")
        if section is None:
            return None
        self.unknown_keys(section, {"field", "breakpoints"}, "a scale")
        spec = self.field(section.get("field"), section.mark_of("field"))
        if spec is not None and spec.kind != "number":
            self.problem(section.mark_of("field"), f"a scale reads a number; {spec.path} is a "
                         f"{spec.kind}")
            spec = None
        items = section.get("breakpoints")
        mark = section.mark_of("breakpoints") if "breakpoints" in section else section.mark
        if not isinstance(items, LocatedList) or not 2 <= len(items) <= MAX_BREAKPOINTS:
            self.problem(mark, f"'breakpoints' is a list of 2 to {MAX_BREAKPOINTS} [value, "
                         "points] pairs", "e.g. [[0.01, 15], [0.05, 8], [0.15, -5]]")
            return None
        pairs = [self.breakpoint(item, m) for item, m in zip(items, items.item_marks,
                                                              strict=True)]
        valid = [p for p in pairs if p is not None]
        if len(valid) != len(pairs) or spec is None:
            return None
        if any(b[0] <= a[0] for a, b in itertools.pairwise(valid)):
            self.problem(mark, "breakpoint values must increase strictly, smallest first")
            return None
        return Scale(spec.path, tuple(valid))

    def breakpoint(self, item: Any, mark: Mark) -> tuple[float, float] | None:
        numbers = item if isinstance(item, list) and len(item) == 2 else None
        if numbers is None or any(isinstance(n, bool) or not isinstance(n, (int, float))
                                  or not math.isfinite(n) for n in numbers):
            self.problem(mark, "a breakpoint is a pair [value, points] of numbers")
            return None
        if not -100 <= numbers[1] <= 100:
            self.problem(mark, "a breakpoint's points must be between -100 and 100")
            return None
        return float(numbers[0]), float(numbers[1])

    def within_limits(self, condition: Condition, mark: Mark) -> bool:
        refusals = [m for m in (limit(normalize(condition)) for limit in self.limits) if m]
        for message in refusals:
            self.problem(mark, message, "split it into two rules or simplify it")
        return not refusals

    def acknowledged(self, data: Located) -> tuple[Acknowledgment, ...]:
        """``acknowledged: [{check, rules | systems, reason}]``: findings of ``rules check``
        accepted with a reason. A name that matches no rule is not an error here (a rule may
        be removed before its acknowledgment): ``rules check`` warns of it."""
        self.rule_id = ""
        if "acknowledged" not in data:
            return ()
        items = data["acknowledged"]
        if not isinstance(items, LocatedList):
            self.problem(data.mark_of("acknowledged"), "'acknowledged' must be a list")
            return ()
        found = []
        for item, mark in zip(items, items.item_marks, strict=True):
            entry = self.mapping(item, mark, "an acknowledgment")
            if entry is None:
                continue
            self.unknown_keys(entry, {"check", "rules", "systems", "reason"},
                              "an acknowledgment")
            check = self.choice(entry, "check", CHECKS)
            reason = self.text(entry, "reason")
            key = "systems" if check == "registry" else "rules"
            names = self.names(entry, key)
            if check and reason and names:
                found.append(Acknowledgment(check, names if key == "rules" else (),
                                            names if key == "systems" else (), reason,
                                            entry.mark.line))
        return tuple(found)

    def names(self, entry: Located, key: str) -> tuple[str, ...]:
        values = entry.get(key)
        if not isinstance(values, list) or not values or not all(
                isinstance(v, str) and v.strip() for v in values):
            self.problem(entry.mark_of(key) if key in entry else entry.mark,
                         f"'{key}' must be a non-empty list of names")
            return ()
        return tuple(values)

    def registry(self, context: Context) -> None:
        """Two entries that one name denotes would make the registry's answer depend on the
        order it is written in."""
        owner: dict[str, str] = {}
        for entry in context.partner_registry:
            if entry.substrings:
                continue
            for name in sorted(entry.names):
                if name in owner and owner[name] != entry.system:
                    self.problems.append(RuleProblem(
                        context.source or self.file, entry.line, 1, "",
                        f"registry: the name {name!r} denotes both {owner[name]!r} and "
                        f"{entry.system!r}", "give each alias to one entry"))
                owner.setdefault(name, entry.system)

    def deficiency_cap(self, data: Located) -> str:
        if "deficiency_cap" not in data:
            return RECOMMENDATIONS[-1]
        return self.choice(data, "deficiency_cap", RECOMMENDATIONS[1:]) or RECOMMENDATIONS[-1]

    def deficiency(self, data: Located, default_cap: str) -> str | None:
        value = data.get("deficiency", False)
        if value is False:
            return None
        if value is True:
            return default_cap
        if value in RECOMMENDATIONS[1:]:
            return str(value)
        self.problem(data.mark_of("deficiency"), "'deficiency' is true, false or the "
                     f"recommendation it caps at ({', '.join(RECOMMENDATIONS[1:])})")
        return None


def _too_large(size: int, checker: _Checker) -> bool:
    if size <= MAX_BYTES:
        return False
    checker.problem(Mark(1, 1), f"the file is {size:,} bytes; a rule file is at most "
                    f"{MAX_BYTES:,} bytes", f"a ruleset holds at most {MAX_RULES:,} rules")
    return True


def _parse(text: str, checker: _Checker) -> Any:
    # len() counts characters, never more than the UTF-8 bytes: a huge text is refused unencoded
    if _too_large(len(text), checker) or _too_large(len(text.encode()), checker):
        return None
    try:
        return parse_yaml(text)
    except Refused as error:
        checker.problem(error.where, str(error.problem), error.hint)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        where = Mark(mark.line + 1, mark.column + 1) if mark else Mark(0, 0)
        problem = getattr(error, "problem", None) or str(error)
        checker.problem(where, f"invalid YAML: {problem}")
    return None


def _read(path: Path, checker: _Checker) -> str | None:
    try:
        if _too_large(path.stat().st_size, checker):  # before reading it into memory
            return None
        return path.read_text(encoding="utf-8")
    except OSError as error:
        checker.problem(Mark(0, 0), f"cannot read file: {error.strerror}")
    except UnicodeDecodeError:
        checker.problem(Mark(0, 0), "the file is not UTF-8 text")
    return None


def _context_data(reader: _RulesetReader, data: Located,
                  base: Path | None) -> tuple[Any, str]:
    """The context mapping and where it is written: inline, or in a file beside the ruleset."""
    value = data.get("context")
    if isinstance(value, Located):
        return value, reader.file
    name = reader.text(data, "context")
    if name is None:
        return None, reader.file
    if base is None:
        reader.problem(data.mark_of("context"), "'context' must be written inline here: a "
                       "path is only allowed in a ruleset file", "paste the context mapping")
        return None, reader.file
    path = base / name
    checker = _Checker(os.path.normpath(path))
    text = _read(path, checker)
    if text is None:  # the `context:` line is what to fix (or the folder beside the file)
        for problem in checker.problems:
            reader.problem(data.mark_of("context"), f"context file {path}: {problem.message}",
                           "the path is relative to the ruleset file's folder: keep the "
                           "ruleset beside its context folder, or write the context inline")
        return None, reader.file
    raw = _parse(text, checker)
    reader.problems.extend(checker.problems)
    return raw, checker.file


def _load_context(reader: _RulesetReader, data: Located, base: Path | None) -> tuple[Context, Any]:
    raw, source = _context_data(reader, data, base)
    context = None
    if raw is not None:
        try:
            context = context_from_data(raw, source)
        except ValidationError as error:
            mark = raw.mark if isinstance(raw, Located) else Mark(1, 1)
            reader.problem(mark, f"invalid context: {error.messages}")
    if context is None:
        raise RulesetError(reader.problems)
    return context, raw


def parse_ruleset(text: str, source: str, base: Path | None = None,
                  limits: Sequence[ConditionLimit] = ()) -> Ruleset:
    """Check and compile a ruleset from its text (YAML, or JSON, which YAML reads too).

    ``source`` names it in problems (a file name, or ``store:VERSION``). A ``context`` path is
    resolved against ``base``; without a base the context must be inline. The content hash is
    taken over the ruleset with its context inline, so a file and its published copy agree.
    ``limits`` are the evaluators' limits on a condition. Raises ``RulesetError`` listing every
    problem.
    """
    reader = _RulesetReader(source, limits)
    data = _parse(text, reader)
    if not isinstance(data, Located):
        if not reader.problems:
            reader.problem(Mark(1, 1), "a ruleset file is a mapping with name, version, rules…")
        raise RulesetError(reader.problems)
    reader.unknown_keys(data, HEADER_KEYS, "the ruleset header")
    name, version = reader.text(data, "name"), reader.text(data, "version")
    if version in RESERVED_VERSIONS:
        reader.problem(data.mark_of("version"), f"{version!r} cannot be a version: it names "
                       "the active ruleset in the API (/v1/rulesets/active)",
                       "use a number such as 2026.1.0")
    elif version is not None and not VERSION_PATTERN.fullmatch(version):
        reader.problem(data.mark_of("version"), f"version {version[:80]!r} is not a version: "
                       f"use {VERSION_RULE}", "use a number such as 2026.1.0")
    description = reader.text(data, "description") or ""
    context, context_raw = _load_context(reader, data, base)
    criteria = reader.criteria(data)
    bands = reader.bands(data)
    default_cap = reader.deficiency_cap(data)
    rules = reader.rules(data, {c.name for c in criteria}, default_cap)
    uncertainty = read_uncertainty(reader, data, criteria)
    acknowledged = reader.acknowledged(data)
    changeable = read_changeable(reader, data)
    reader.registry(context)
    if reader.problems:
        raise RulesetError(reader.problems)
    document = {**data, "context": context_raw}
    digest = hashlib.sha256(document_json(document).encode())
    return Ruleset(str(name), str(version), description, criteria, bands, rules, context,
                   "sha256:" + digest.hexdigest(), source, document, uncertainty, acknowledged,
                   changeable)


def load_ruleset(path: str | Path, limits: Sequence[ConditionLimit] = ()) -> Ruleset:
    """Load, check and compile one ruleset file; raises ``RulesetError`` listing every problem."""
    path = Path(path)
    reader = _RulesetReader(str(path))
    text = _read(path, reader)
    if text is None:
        raise RulesetError(reader.problems)
    return parse_ruleset(text, str(path), path.parent, limits)
