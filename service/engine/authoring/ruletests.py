"""Rule test cases, written by analysts beside the rules (``rules/tests/*.test.yaml``).

A case names a proposal (inline, or an example file) and what must follow: rules that fire and
rules that do not, criterion score ranges, the rating and the recommendation. Coverage counts
the rules that fired in at least one case, as ``opa test --coverage`` does for OPA's policies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.engine.evaluation.engine import Engine, ProposalInvalid
from service.engine.language.model import Ruleset
from service.engine.language.source import Located, parse_yaml

FINDING_KINDS = ("strengths", "weaknesses", "deficiencies")


@dataclass
class CaseResult:
    name: str
    file: str
    line: int
    failures: list[str] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class Coverage:
    covered: frozenset[str]
    by_criterion: dict[str, tuple[int, int]]  # criterion -> (covered, total)
    uncovered: tuple[str, ...]

    @property
    def percent(self) -> float:
        total = sum(t for _, t in self.by_criterion.values())
        return 100.0 * len(self.covered) / total if total else 100.0


def fired_ids(result: dict[str, Any]) -> set[str]:
    return {f["rule_id"] for c in result["criteria"] for kind in FINDING_KINDS for f in c[kind]}


def _proposal(case: Located, base: Path) -> dict[str, Any]:
    if "example" in case:
        loaded: dict[str, Any] = json.loads((base / case["example"]).read_text())
        return loaded
    return dict(case["proposal"])


def _fired_diff(case: Located, fired: set[str]) -> list[str]:
    missing = [r for r in case.get("fired", []) if r not in fired]
    unwanted = [r for r in case.get("not_fired", []) if r in fired]
    if not (missing or unwanted):
        return []
    lines = [f"expected to fire, did not: {', '.join(missing)}"] if missing else []
    lines += [f"expected not to fire, fired: {', '.join(unwanted)}"] if unwanted else []
    return [*lines, f"actually fired: {', '.join(sorted(fired)) or 'nothing'}"]


def _check(case: Located, result: dict[str, Any], fired: set[str]) -> list[str]:
    failures = _fired_diff(case, fired)
    for key in ("rating", "recommendation"):
        if key in case and result[key] != case[key]:
            failures.append(f"{key}: expected {case[key]}, actual {result[key]}")
    scores = {c["criterion"]: c["score"] for c in result["criteria"]}
    scores["overall"] = result["overall_score"]
    for name, (low, high) in (case.get("scores") or {}).items():
        if name not in scores:
            failures.append(f"scores: no criterion {name!r}")
        elif not low <= scores[name] <= high:
            failures.append(f"{name} score: expected {low}..{high}, actual {scores[name]}")
    return failures


def _run_case(case: Any, base: Path, engine: Engine, file: str) -> CaseResult:
    name = case.get("name", "(unnamed)") if isinstance(case, dict) else "(not a mapping)"
    line = case.mark.line if isinstance(case, Located) else 0
    try:
        evaluation = engine.evaluate(_proposal(case, base))
    except (OSError, ValueError, KeyError, TypeError) as error:
        detail = error.messages if isinstance(error, ProposalInvalid) else error
        return CaseResult(name, file, line, [f"cannot evaluate the case: {detail}"])
    fired = fired_ids(evaluation)
    return CaseResult(name, file, line, _check(case, evaluation, fired), sorted(fired))


def run_test_file(path: str | Path, engine: Engine | None = None) -> list[CaseResult]:
    """Run every case of one test file against its ruleset (or ``engine``, when given)."""
    path = Path(path)
    suite = parse_yaml(path.read_text(encoding="utf-8"))
    engine = engine or Engine.from_path(path.parent / suite["ruleset"])
    return [_run_case(case, path.parent, engine, str(path)) for case in suite["cases"]]


def coverage(ruleset: Ruleset, results: list[CaseResult]) -> Coverage:
    covered = frozenset(rule for r in results for rule in r.fired)
    by_criterion = {
        c.name: (sum(r.id in covered for r in ruleset.rules if r.criterion == c.name),
                 sum(r.criterion == c.name for r in ruleset.rules))
        for c in ruleset.criteria
    }
    uncovered = tuple(r.id for r in ruleset.rules if r.id not in covered)
    return Coverage(covered, by_criterion, uncovered)
