"""What changed between two versions of a ruleset, rule by rule: added, removed and changed
rules (which of their parts, old and new), criteria, rating bands and the reference context.

``impact`` says what a change does to proposals; this says what the change is, which is what a
reviewer reads first (as a code review reads the diff before the test results).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.engine.authoring.wording import condition_words
from service.engine.language.model import Rule, Ruleset

RULE_PARTS = ("criterion", "title", "description", "scope", "condition", "points", "scale",
              "deficiency", "because", "otherwise")
CRITERION_PARTS = ("label", "weight", "baseline", "rationale")


@dataclass(frozen=True)
class PartChange:
    part: str  # "points", "condition", "weight", ...
    old: Any  # None when the part did not exist on that side
    new: Any


@dataclass(frozen=True)
class ItemChange:
    """One rule, criterion or band present in both versions with different parts."""

    id: str
    parts: tuple[PartChange, ...]


@dataclass(frozen=True)
class RulesetChanges:
    added: tuple[Rule, ...]
    removed: tuple[Rule, ...]
    changed: tuple[ItemChange, ...]
    unchanged: int
    criteria: tuple[ItemChange, ...]  # added or removed criteria have all parts on one side
    bands: tuple[ItemChange, ...]  # by rating
    context_changed: bool

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.criteria or self.bands
                    or self.context_changed)


def _rule_part(rule: Rule, part: str) -> Any:
    # conditions compare as trees (a reformatted YAML is no change) and read as words; a scope
    # reads as words, a scale as its field and breakpoints
    if part == "condition":
        return condition_words(rule.condition)
    if part == "scope":
        return rule.scope.describe() if rule.scope else None
    if part == "scale":
        return scale_data(rule)
    return getattr(rule, part)


def scale_data(rule: Rule) -> dict[str, Any] | None:
    """A graded rule's scale as data: its field and its [value, points] breakpoints."""
    if rule.scale is None:
        return None
    return {"field": rule.scale.field,
            "breakpoints": [list(pair) for pair in rule.scale.breakpoints]}


def _rule_change(old: Rule, new: Rule) -> ItemChange | None:
    parts = tuple(PartChange(part, _rule_part(old, part), _rule_part(new, part))
                  for part in RULE_PARTS
                  if (old.condition != new.condition if part == "condition"
                      else getattr(old, part) != getattr(new, part)))
    return ItemChange(old.id, parts) if parts else None


def _keyed_changes(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]
                   ) -> tuple[ItemChange, ...]:
    """Changes of named items (criteria, bands) given as name -> {part: value}."""
    found = []
    for name in [*old, *(n for n in new if n not in old)]:
        before, after = old.get(name, {}), new.get(name, {})
        parts = tuple(PartChange(part, before.get(part), after.get(part))
                      for part in dict.fromkeys([*before, *after])
                      if before.get(part) != after.get(part))
        if parts:
            found.append(ItemChange(name, parts))
    return tuple(found)


def ruleset_changes(old: Ruleset, new: Ruleset) -> RulesetChanges:
    """``new`` against ``old``; rules are matched by id, in the new file's order."""
    old_rules = {rule.id: rule for rule in old.rules}
    new_ids = {rule.id for rule in new.rules}
    changed = [change for rule in new.rules if rule.id in old_rules
               if (change := _rule_change(old_rules[rule.id], rule)) is not None]
    kept = sum(rule.id in old_rules for rule in new.rules)

    def criteria(ruleset: Ruleset) -> dict[str, dict[str, Any]]:
        return {c.name: {part: getattr(c, part) for part in CRITERION_PARTS}
                for c in ruleset.criteria}

    def bands(ruleset: Ruleset) -> dict[str, dict[str, Any]]:
        return {b.rating: {"min_score": b.min_score, "recommendation": b.recommendation}
                for b in ruleset.bands}

    return RulesetChanges(
        added=tuple(rule for rule in new.rules if rule.id not in old_rules),
        removed=tuple(rule for rule in old.rules if rule.id not in new_ids),
        changed=tuple(changed),
        unchanged=kept - len(changed),
        criteria=_keyed_changes(criteria(old), criteria(new)),
        bands=_keyed_changes(bands(old), bands(new)),
        context_changed=old.document.get("context") != new.document.get("context"),
    )
