"""Impact of a ruleset change before it is published: which proposals change rating,
recommendation or rank, and which rules are responsible (Drools' and Camunda's "what if")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.engine.authoring.ruletests import FINDING_KINDS
from service.engine.evaluation.engine import Engine


@dataclass(frozen=True)
class Side:
    overall: float
    rating: str
    recommendation: str
    rank: int
    points: dict[str, float]  # fired rule id -> points


@dataclass(frozen=True)
class Change:
    proposal: str
    old: Side
    new: Side
    rules: tuple[str, ...]  # fired on one side only, or fired on both with other points

    @property
    def what(self) -> list[str]:
        return [name for name in ("rating", "recommendation", "rank")
                if getattr(self.old, name) != getattr(self.new, name)]


@dataclass(frozen=True)
class Impact:
    total: int
    changes: tuple[Change, ...]

    def count(self, what: str) -> int:
        return sum(what in change.what for change in self.changes)


def _points(result: dict[str, Any]) -> dict[str, float]:
    return {f["rule_id"]: f["points"] for c in result["criteria"] for kind in FINDING_KINDS
            for f in c[kind]}


def _ranks(scores: list[float]) -> list[int]:
    """1 for the best score; ties share the better rank (competition ranking)."""
    ordered = sorted(scores, reverse=True)
    return [ordered.index(score) + 1 for score in scores]


# told how many evaluations are done so far, after each one; what it raises ends the impact
Progress = Callable[[int], None]


def _sides(engine: Engine, proposals: list[dict[str, Any]], progress: Progress,
           offset: int) -> list[Side]:
    results = []
    for done, proposal in enumerate(proposals, start=offset + 1):
        results.append(engine.evaluate(proposal))
        progress(done)
    ranks = _ranks([r["overall_score"] for r in results])
    return [Side(r["overall_score"], r["rating"], r["recommendation"], rank, _points(r))
            for r, rank in zip(results, ranks, strict=True)]


def _responsible(old: Side, new: Side) -> tuple[str, ...]:
    rules = set(old.points) ^ set(new.points)
    rules |= {rule for rule in set(old.points) & set(new.points)
              if old.points[rule] != new.points[rule]}
    return tuple(sorted(rules))


def label(proposal: dict[str, Any], index: int) -> str:
    return str(proposal.get("id") or proposal.get("title") or f"#{index}")


def impact(old: Engine, new: Engine, proposals: list[dict[str, Any]],
           progress: Progress = lambda done: None) -> Impact:
    """Evaluate every proposal under both rulesets; keep those whose outcome changes.
    ``progress`` hears of each of the 2 × len(proposals) evaluations as it is done."""
    pairs = zip(_sides(old, proposals, progress, 0),
                _sides(new, proposals, progress, len(proposals)), strict=True)
    changes = []
    for index, (before, after) in enumerate(pairs):
        change = Change(label(proposals[index], index), before, after,
                        _responsible(before, after))
        if change.what:
            changes.append(change)
    return Impact(len(proposals), tuple(changes))
