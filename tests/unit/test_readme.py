"""The README's example answer is what the service answers today."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.unit.conftest import ROOT, load_json, shipped

README = (ROOT / "README.md").read_text()


def _example_answer() -> dict[str, Any]:
    section = README.split("## Try it", 1)[1]
    block = re.search(r"```json\n(.*?)```", section, re.S)
    assert block is not None
    answer: dict[str, Any] = json.loads(block.group(1))
    return answer


def test_readme_example_matches_the_engine() -> None:
    shown = _example_answer()["evaluation"]
    actual = shipped().evaluate(load_json(ROOT / "examples" / "tomahawk-2023.json"))
    for key in ("decision_id", "input_hash", "ruleset", "overall_score", "rating",
                "recommendation", "summary"):
        assert shown[key] == actual[key], key
    [budget] = [c for c in shown["criteria"] if isinstance(c, dict)]
    actual_budget = next(c for c in actual["criteria"] if c["criterion"] == budget["criterion"])
    assert budget["score"] == actual_budget["score"]
    for finding in budget["strengths"]:  # abridged: some evidence may be left out
        same = next(f for f in actual_budget["strengths"] if f["rule_id"] == finding["rule_id"])
        assert (finding["points"], finding["sentence"]) == (same["points"], same["sentence"])
        assert all(item in same["evidence"] for item in finding["evidence"])
