"""The loader reports every problem of a rule file as file:line:col: rule-id: message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.engine import RulesetError, load_ruleset, parse_ruleset
from tests.unit.conftest import MINI

HEADER = MINI.read_text().split("rules:")[0].replace(
    "context: context.yaml", f"context: {MINI.parent / 'context.yaml'}"
)


def _load_rules(tmp_path: Path, rules: str) -> RulesetError:
    path = tmp_path / "broken.yaml"
    path.write_text(HEADER + "rules:\n" + rules)
    with pytest.raises(RulesetError) as caught:
        load_ruleset(path)
    return caught.value


def _line_of(path_text: str, needle: str) -> int:
    return next(i for i, line in enumerate(path_text.splitlines(), 1) if needle in line)


RULE = """  - id: {id}
    criterion: interoperability
    title: A rule
    when: {when}
    points: 5
    because: "{because}"
"""


@pytest.mark.parametrize(
    ("when", "message", "hint"),
    [
        ("{field: capabilites.datalinks, op: contains, value: link16}",
         "unknown field 'capabilites.datalinks'", "did you mean 'capabilities.datalinks'?"),
        ("{field: capabilities.datalinks, op: contains, value: link-16}",
         "type mismatch: 'link-16' is not a value", "did you mean 'link16'?"),
        ("{field: acquisition.quantity, op: gt, value: '100'}",
         "type mismatch: acquisition.quantity is a number", ""),
        ("{field: acquisition.quantity, op: greater, value: 1}",
         "unknown operator 'greater'", ""),
        ("{field: system.name, op: lt, value: 3}",
         "operator 'lt' does not apply to system.name", ""),
        ("{field: acquisition.quantity, op: gt, value: {field: system.name}}",
         "type mismatch: acquisition.quantity (number) cannot be compared with system.name", ""),
        ("{field: partners.operators, op: contains, value: usa}",
         "does not have the form of partners.operators", ""),
        ("{field: acquisition.quantity, op: missing}", "always given", ""),
        ("{field: acquisition.path, op: in, value: []}", "non-empty list", ""),
    ],
)
def test_condition_errors_name_file_line_rule_and_hint(
    tmp_path: Path, when: str, message: str, hint: str
) -> None:
    error = _load_rules(tmp_path, RULE.format(id="BAD-1", when=when, because="x"))
    problem = error.problems[0]
    text = (tmp_path / "broken.yaml").read_text()
    assert problem.rule_id == "BAD-1"
    assert problem.file.endswith("broken.yaml")
    assert problem.line == _line_of(text, "when:")
    assert message in problem.message
    assert hint in problem.hint
    assert str(problem).startswith(f"{problem.file}:{problem.line}:{problem.col}: BAD-1: ")


def test_every_problem_is_reported_in_one_run(tmp_path: Path) -> None:
    rules = (RULE.format(id="A", when="{field: nope, op: eq, value: 1}", because="x")
             + RULE.format(id="B", when="{field: acquisition.quantity, op: eq, value: 1}",
                           because="{system.nam}")
             + RULE.format(id="A", when="{field: acquisition.quantity, op: eq, value: 1}",
                           because="x"))
    error = _load_rules(tmp_path, rules)
    messages = [(p.rule_id, p.message) for p in error.problems]
    assert ("A", "unknown field 'nope'") in messages
    assert ("B", "template names unknown field 'system.nam' in {system.nam}") in messages
    assert ("A", "duplicate rule id 'A'") in messages


def test_unknown_rule_key_and_criterion_are_caught(tmp_path: Path) -> None:
    rule = RULE.format(id="K", when="{field: acquisition.quantity, op: gt, value: 1}",
                       because="x").replace("criterion: interoperability", "criterion: interop")
    error = _load_rules(tmp_path, rule + "    pionts: 3\n")
    messages = {p.message: p.hint for p in error.problems}
    assert messages["unknown criterion 'interop'"] == "did you mean 'interoperability'?"
    assert messages["unknown key 'pionts' in a rule"] == "did you mean 'points'?"


def test_weights_must_sum_to_one(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(MINI.read_text().replace("weight: 0.5\n    baseline: 60", "weight: 0.6\n"
                                             "    baseline: 60").replace(
        "context: context.yaml", f"context: {MINI.parent / 'context.yaml'}"))
    with pytest.raises(RulesetError, match=r"criterion weights sum to 1\.1, not 1"):
        load_ruleset(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: [\n", "invalid YAML"),
        ("- just\n- a list\n", "a ruleset file is a mapping"),
    ],
)
def test_broken_yaml_is_an_error_not_a_crash(tmp_path: Path, text: str, message: str) -> None:
    # hostile YAML (aliases, tags, nesting, size) is tests/unit/test_hostile_rules.py's
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(RulesetError, match=message):
        load_ruleset(path)


def test_condition_too_large_for_durable_rules_is_refused_at_its_line(tmp_path: Path) -> None:
    groups = ", ".join(
        f"{{any: [{{field: acquisition.quantity, op: eq, value: {i}}}, "
        f"{{field: fiscal_year, op: eq, value: {i}}}]}}" for i in range(16)
    )
    error = _load_rules(tmp_path, RULE.format(id="BIG", when=f"{{all: [{groups}]}}", because="x"))
    assert error.problems[0].rule_id == "BIG"
    assert "condition too complex" in error.problems[0].message


def test_yaml_1_2_exponent_numbers_are_numbers(mini_ruleset: object) -> None:
    # the fixture context writes budgets as 9.04e12, which YAML 1.1 would read as text
    from service.engine.language.model import Ruleset

    assert isinstance(mini_ruleset, Ruleset)
    assert mini_ruleset.context.fiscal_years[2026].annual_budget_jpy == 9.04e12


def test_deficiency_cap_must_be_a_lower_recommendation(tmp_path: Path) -> None:
    path = tmp_path / "cap.yaml"
    path.write_text(MINI.read_text().replace("rules:", "deficiency_cap: reject\nrules:", 1)
                    .replace("context: context.yaml", f"context: {MINI.parent / 'context.yaml'}"))
    with pytest.raises(RulesetError, match="'deficiency_cap' must be one of"):
        load_ruleset(path)


def test_unquoted_norway_gets_a_quoting_hint(tmp_path: Path) -> None:
    error = _load_rules(tmp_path, RULE.format(
        id="NO-1", when="{field: partners.operators, op: contains, value: NO}", because="x"))
    assert "quote it" in error.problems[0].hint


def test_a_version_named_like_an_api_address_is_refused() -> None:
    text = re.sub(r"(?m)^version: .*$", "version: active", MINI.read_text())
    with pytest.raises(RulesetError, match="'active' cannot be a version"):
        parse_ruleset(text, "mini.yaml", MINI.parent)
