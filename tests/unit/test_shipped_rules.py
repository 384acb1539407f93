"""The shipped ruleset 2026.1.0 (the rules/japan-fy2026.yaml file): its analysts' test cases
pass, they cover every rule, and every example proposal evaluates. Each rule test file runs
against the ruleset it names (2026.2.0 has its own, tested in test_ruleset_2026_2.py too)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.engine.authoring.ruletests import CaseResult, run_test_file
from tests.unit.conftest import ROOT, shipped

TEST_FILES = sorted((ROOT / "rules" / "tests").glob("*.test.yaml"))
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))


@pytest.fixture(scope="module")
def case_results() -> list[CaseResult]:
    return [r for path in TEST_FILES for r in run_test_file(path)]


def test_there_are_rule_tests_and_examples() -> None:
    assert TEST_FILES and len(EXAMPLES) >= 15


def test_every_rule_test_case_passes(case_results: list[CaseResult]) -> None:
    failed = {f"{r.name} (line {r.line})": r.failures for r in case_results if not r.passed}
    assert not failed


def test_rule_tests_cover_every_rule(case_results: list[CaseResult]) -> None:
    fired = {rule for r in case_results if r.file.endswith("japan-fy2026.test.yaml")
             for rule in r.fired}
    assert {rule.id for rule in shipped().ruleset.rules} - fired == set()


def test_ruleset_has_ten_rules_and_a_deficiency_per_criterion() -> None:
    ruleset = shipped().ruleset
    for criterion in ruleset.criteria:
        rules = [r for r in ruleset.rules if r.criterion == criterion.name]
        assert len(rules) >= 10, criterion.name
        assert any(r.deficiency for r in rules), criterion.name
        assert any(r.points > 0 for r in rules) and any(r.points < 0 for r in rules)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: Path(p).stem)
def test_example_evaluates_with_four_scores_and_reasons(path: Path) -> None:
    result = shipped().evaluate(json.loads(path.read_text()))
    assert [c["criterion"] for c in result["criteria"]] == [
        "interoperability", "budget_fit", "threat_alignment", "partner_coverage"]
    reasons = [f for c in result["criteria"]
               for kind in ("strengths", "weaknesses", "deficiencies") for f in c[kind]]
    assert reasons and all(f["sentence"] and f["evidence"] for f in reasons)


@pytest.mark.parametrize("name", ["weak-no-datalink", "weak-no-partners",
                                  "weak-no-priority-threat", "weak-over-budget"])
def test_weak_examples_are_not_recommended(name: str) -> None:
    result = shipped().evaluate(json.loads((ROOT / "examples" / f"{name}.json").read_text()))
    assert result["recommendation"] in ("defer", "do_not_recommend")


def test_strong_examples_are_recommended() -> None:
    for name in ("tomahawk-2023", "sm6-2025", "e2d-2023"):
        result = shipped().evaluate(json.loads((ROOT / "examples" / f"{name}.json").read_text()))
        assert result["recommendation"].startswith("recommend"), name
