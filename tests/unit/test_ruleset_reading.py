"""A ruleset as a reviewer reads it: each condition in plain words, and what changed between two
versions rule by rule."""

from __future__ import annotations

import dataclasses

from service.engine import PartChange, Ruleset, condition_words, parse_ruleset, ruleset_changes
from service.engine.language.model import AllOf, AnyOf, Atom, FieldRef
from tests.unit.conftest import SHIPPED

YAML = SHIPPED.read_text(encoding="utf-8")


def test_atoms_read_with_labels_operator_words_and_formatted_values() -> None:
    assert condition_words(Atom("capabilities.datalinks", "contains", "link16")) == (
        "Datalinks contains link16")
    assert condition_words(Atom("derived.share_of_remaining_envelope", "lte", 0.25)) == (
        "Share of the remaining envelope is at most 25%")
    assert condition_words(Atom("derived.total_cost_jpy", "gt", 5e11)) == (
        "Total cost (JPY) is more than ¥500 billion")
    assert condition_words(Atom("acquisition.path", "in", ("fms", "dcs"))) == (
        "Acquisition path is one of fms, dcs")
    assert condition_words(Atom("derived.top_threat", "missing")) == (
        "Highest-priority threat addressed is not given")
    assert condition_words(Atom("acquisition.delivery_start_year", "gte",
                                FieldRef("fiscal_year"))) == (
        "First delivery year is at least Fiscal year")


def test_nested_groups_are_parenthesized_so_and_and_or_never_blur() -> None:
    condition = AllOf((Atom("acquisition.path", "eq", "fms"),
                       AnyOf((Atom("capabilities.datalinks", "contains", "link16"),
                              Atom("capabilities.iff_modes", "contains", "mode5")))))

    assert condition_words(condition) == ("Acquisition path is fms and (Datalinks contains "
                                          "link16 or IFF modes contains mode5)")


def _version(text: str, version: str) -> Ruleset:
    return parse_ruleset(edit(text, 'version: "2026.1.0"', f'version: "{version}"'),
                         "ruleset.yaml", SHIPPED.parent)


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_the_same_rules_reformatted_are_no_change() -> None:
    old = _version(YAML, "1")
    new = _version(edit(YAML, "when: {field: capabilities.datalinks, op: contains, value: "
                        "link16}", "when:\n      field: capabilities.datalinks\n"
                        "      op: contains\n      value: link16"), "2")

    changes = ruleset_changes(old, new)

    assert changes.empty and changes.unchanged == len(old.rules)


def test_changes_name_each_rule_and_part_old_and_new() -> None:
    old = _version(YAML, "1")
    edited = edit(YAML, "{field: derived.share_of_remaining_envelope, op: lte, value: 0.25}",
                  "{field: derived.share_of_remaining_envelope, op: lte, value: 0.3}")
    edited = edit(edited, "    min_score: 70\n", "    min_score: 72\n")
    new = _version(edited, "2")
    new = dataclasses.replace(new, rules=new.rules[1:])  # IOP-01 removed

    changes = ruleset_changes(old, new)

    assert [r.id for r in changes.removed] == ["IOP-01"] and not changes.added
    bud07, = changes.changed
    assert bud07.id == "BUD-07"
    assert bud07.parts == (PartChange(
        "condition",
        "Share of the remaining envelope is more than 5% and Share of the remaining envelope "
        "is at most 25%",
        "Share of the remaining envelope is more than 5% and Share of the remaining envelope "
        "is at most 30%"),)
    assert [(c.id, c.parts) for c in changes.bands] == [
        ("good", (PartChange("min_score", 70.0, 72.0),))]
    assert changes.unchanged == len(old.rules) - 2 and not changes.context_changed
