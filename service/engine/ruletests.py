"""Rule test cases, written by analysts beside the rules (``rules/tests/*.test.yaml``).

A case names a proposal (inline or an example file) and what must follow: rules that fire and
rules that do not, criterion score ranges, the rating and the recommendation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.engine.evaluate import Engine
from service.engine.yamlsource import Located, parse_yaml


@dataclass
class CaseResult:
    name: str
    line: int
    failures: list[str] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def _proposal(case: Located, base: Path) -> dict[str, Any]:
    if "example" in case:
        loaded: dict[str, Any] = json.loads((base / case["example"]).read_text())
        return loaded
    return dict(case["proposal"])


def _check(case: Located, result: dict[str, Any], fired: set[str]) -> list[str]:
    failures = [f"expected {rule} to fire; it did not" for rule in case.get("fired", [])
                if rule not in fired]
    failures += [f"expected {rule} not to fire; it fired" for rule in case.get("not_fired", [])
                 if rule in fired]
    for key in ("rating", "recommendation"):
        if key in case and result[key] != case[key]:
            failures.append(f"{key}: expected {case[key]}, got {result[key]}")
    scores = {c["criterion"]: c["score"] for c in result["criteria"]}
    scores["overall"] = result["overall_score"]
    for name, (low, high) in (case.get("scores") or {}).items():
        if not low <= scores[name] <= high:
            failures.append(f"{name} score: expected {low}..{high}, got {scores[name]}")
    return failures


def fired_ids(result: dict[str, Any]) -> set[str]:
    return {f["rule_id"] for c in result["criteria"]
            for kind in ("strengths", "weaknesses", "deficiencies") for f in c[kind]}


def run_test_file(path: str | Path, engine: Engine | None = None) -> list[CaseResult]:
    """Run every case of one test file against its ruleset (or ``engine``, when given)."""
    path = Path(path)
    suite = parse_yaml(path.read_text(encoding="utf-8"))
    engine = engine or Engine.from_path(path.parent / suite["ruleset"])
    results = []
    for case in suite["cases"]:
        evaluation = engine.evaluate(_proposal(case, path.parent))
        fired = fired_ids(evaluation)
        results.append(CaseResult(case["name"], case.mark.line,
                                  _check(case, evaluation, fired), sorted(fired)))
    return results
