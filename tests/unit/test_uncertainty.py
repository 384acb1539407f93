"""The ruleset's ``uncertainty:`` section: read into the model, hashed with the file, and every
problem reported at its file:line like the rest of the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.engine import RulesetError, load_ruleset, parse_ruleset
from service.engine.language.model import Range, Ruleset, Uncertainty
from tests.unit.conftest import MINI

UNCERTAIN = MINI.parent / "uncertain.yaml"
TEXT = UNCERTAIN.read_text()
SECTION = TEXT[TEXT.index("uncertainty:"):TEXT.index("rules:")]


def _parse(section: str) -> Ruleset:
    return parse_ruleset(TEXT.replace(SECTION, section), "test.yaml", MINI.parent)


def test_the_declaration_is_in_the_model() -> None:
    assert load_ruleset(UNCERTAIN).uncertainty == Uncertainty(
        weights={"interoperability": Range(0.4, 0.6), "budget_fit": Range(0.4, 0.6)},
        cost_by_path={"fms": Range(0.8, 1.0)}, exchange_rate=Range(0.9, 1.1))
    assert load_ruleset(MINI).uncertainty is None


def test_the_declaration_is_hashed_with_the_ruleset() -> None:
    declared = load_ruleset(UNCERTAIN)
    wider = _parse(SECTION.replace("fms: [0.8, 1.0]", "fms: [0.7, 1.0]"))
    none = _parse("")
    assert len({declared.content_hash, wider.content_hash, none.content_hash}) == 3
    assert declared.document["uncertainty"]["cost_by_path"] == {"fms": [0.8, 1.0]}


def test_a_concentration_instead_of_intervals() -> None:
    found = _parse("uncertainty:\n  weight_concentration: 150\n")
    assert found.uncertainty == Uncertainty(weight_concentration=150.0)


@pytest.mark.parametrize(("section", "needle", "message", "hint"), [
    ("uncertainty:\n  weights:\n    interoperability: [0.2, 0.45]\n", "interoperability:",
     "the interval of 'interoperability' must include its stated weight 0.5", ""),
    ("uncertainty:\n  weights:\n    budget_fit: [0.4, 1.2]\n", "budget_fit:",
     "'budget_fit' must be within [0, 1]", ""),
    ("uncertainty:\n  weights:\n    budget_fit: [0.6, 0.4]\n", "budget_fit:",
     "the low end 0.6 is above the high end 0.4", ""),
    ("uncertainty:\n  weights:\n    interoperabilty: [0.4, 0.6]\n", "interoperabilty:",
     "unknown criterion 'interoperabilty' in 'weights'", "did you mean 'interoperability'?"),
    ("uncertainty:\n  weights:\n    budget_fit: 0.5\n", "budget_fit:",
     "'budget_fit' must be a range of two numbers: [low, high]", ""),
    ("uncertainty:\n  weight_concentration: 0\n", "weight_concentration",
     "'weight_concentration' must be a positive number", ""),
    ("uncertainty:\n  weights:\n    budget_fit: [0.4, 0.6]\n  weight_concentration: 50\n",
     "weight_concentration", "give weight intervals or a weight concentration, not both", ""),
    ("uncertainty:\n  cost_by_path:\n    fmss: [0.8, 1.0]\n", "fmss:",
     "unknown acquisition path 'fmss' in 'cost_by_path'", "did you mean 'fms'?"),
    ("uncertainty:\n  cost_by_path:\n    fms: [0, 1.0]\n", "fms:", "'fms' must be positive", ""),
    ("uncertainty:\n  exchange_rate: [1.05, 1.2]\n", "exchange_rate",
     "'exchange_rate' is a fraction of the context's rate and must include 1", ""),
    ("uncertainty:\n  cost_by_paths: {fms: [0.8, 1.0]}\n", "cost_by_paths:",
     "unknown key 'cost_by_paths' in 'uncertainty'", "did you mean 'cost_by_path'?"),
    ("uncertainty: [0.8, 1.0]\n", "uncertainty:", "'uncertainty' must be a mapping", ""),
])
def test_problems_are_reported_at_their_line(tmp_path: Path, section: str, needle: str,
                                             message: str, hint: str) -> None:
    path = tmp_path / "uncertain.yaml"
    text = TEXT.replace(SECTION, section).replace("context: context.yaml",
                                                  f"context: {MINI.parent / 'context.yaml'}")
    path.write_text(text)
    with pytest.raises(RulesetError) as caught:
        load_ruleset(path)
    [problem] = caught.value.problems
    assert message in problem.message and hint in problem.hint
    assert problem.file == str(path)
    lines = text.splitlines()
    section_starts = next(i for i, line in enumerate(lines) if line.startswith("uncertainty:"))
    assert problem.line == next(i for i, line in enumerate(lines, 1)
                                if i > section_starts and needle in line)
