"""The ``counterfactuals:`` section: read as written, defaults without it, problems at their
line, and the shipped ruleset's declaration."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from service.engine import RulesetError, load_ruleset, parse_ruleset
from service.engine.language.model import IDENTITY_FIELDS, Changeable, NumberChange

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "rules" / "japan-fy2026.yaml"
GUIDE = ROOT / "docs" / "rule-authoring.md"


def _without_section(text: str) -> str:
    data = yaml.safe_load(text)
    data.pop("counterfactuals", None)
    return yaml.safe_dump(data, sort_keys=False)


def _with(section: str) -> str:
    return _without_section(SHIPPED.read_text()).rstrip("\n") + "\n" + section


def _guide_example() -> str:
    text = GUIDE.read_text()
    start = text.index("# counterfactuals example: japan-fy2026")
    return text[start:text.index("```", start)]


def test_a_ruleset_without_the_section_fixes_the_identity_fields_only() -> None:
    ruleset = parse_ruleset(_without_section(SHIPPED.read_text()), "bare", SHIPPED.parent)
    assert ruleset.changeable == Changeable()
    assert {"requesting_country", "system.origin_country", "fiscal_year",
            "system.name", "system.category"} <= set(ruleset.changeable.fixed)


def test_the_guide_example_declares_what_it_says() -> None:
    ruleset = parse_ruleset(_with(_guide_example()), "guide", SHIPPED.parent)
    declared = ruleset.changeable
    assert declared.fixed == (*IDENTITY_FIELDS, "acquisition.path")
    assert declared.numbers["acquisition.delivery_start_year"] == NumberChange(2026, 2045, 1)
    assert "NO" in declared.lists["partners.operators"]


def test_the_shipped_ruleset_declares_its_partner_lists() -> None:
    declared = load_ruleset(SHIPPED).changeable
    assert declared.fixed == IDENTITY_FIELDS
    assert {"partners.operators", "partners.co_developers"} <= set(declared.lists)


@pytest.mark.parametrize(("section", "message"), [
    ("counterfactuals:\n  fixed: [derived.total_cost_jpy]\n", "is not a field of the proposal"),
    ("counterfactuals:\n  numbers:\n    acquisition.quantity: {range: [5, 1]}\n",
     "'range' must be [low, high]"),
    ("counterfactuals:\n  numbers:\n    acquisition.quantity: {range: [0, 10]}\n",
     "must lie within what the proposal schema accepts"),
    ("counterfactuals:\n  numbers:\n    acquisition.quantity: {range: [1, 10], step: 0.5}\n",
     "'step' must be a positive whole number"),
    ("counterfactuals:\n  numbers:\n    capabilities.datalinks: {range: [1, 10]}\n",
     "is a list, not a number"),
    ("counterfactuals:\n  lists:\n    capabilities.datalinks: [link99]\n",
     "'link99' is not a value"),
    ("counterfactuals:\n  lists:\n    partners.operators: [US, NO]\n", "False is not text"),
    ("counterfactuals:\n  changes: []\n", "unknown key 'changes'"),
])
def test_a_bad_declaration_is_reported_at_its_line(section: str, message: str) -> None:
    text = _with(section)
    section_line = text.splitlines().index("counterfactuals:") + 1
    with pytest.raises(RulesetError) as raised:
        parse_ruleset(text, "draft.yaml", SHIPPED.parent)
    [problem] = raised.value.problems
    assert message in problem.message
    assert problem.file == "draft.yaml"
    assert section_line <= problem.line <= section_line + 2 and problem.col >= 1
