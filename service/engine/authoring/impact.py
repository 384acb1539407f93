"""Impact of a ruleset change before it is published: which proposals change overall score,
criterion scores, rating, recommendation or rank, by how much, and which rules are responsible
(Drools' and Camunda's "what if").

A proposal is listed when anything a reader of its evaluation would see moves: a score change
that leaves the rating alone still changes the ranking of a batch and the portfolio. Scores
count as changed when they move by at least 0.01 point, the precision the overall score is
given to; deltas are rounded to it, so ``new - old`` prints as a person would write it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from schemas.vocabulary import IMPACT_CHANGE_KINDS
from service.engine.authoring.ruletests import FINDING_KINDS
from service.engine.evaluation.engine import Engine

SCORE_PLACES = 2


@dataclass(frozen=True)
class Side:
    overall: float
    scores: dict[str, float]  # criterion -> score
    rating: str
    recommendation: str
    rank: int
    points: dict[str, float]  # fired rule id -> points


def _delta(old: float, new: float) -> float:
    return round(new - old, SCORE_PLACES) + 0.0  # + 0.0: never -0.0


@dataclass(frozen=True)
class Change:
    proposal: str
    old: Side
    new: Side
    rules: tuple[str, ...]  # fired on one side only, or fired on both with other points

    @property
    def score_deltas(self) -> dict[str, float]:
        """new − old of each criterion score that changed, in the ruleset's order."""
        deltas = {name: _delta(self.old.scores.get(name, 0.0), score)
                  for name, score in self.new.scores.items()}
        return {name: delta for name, delta in deltas.items() if delta}

    @property
    def overall_delta(self) -> float:
        return _delta(self.old.overall, self.new.overall)

    @property
    def what(self) -> list[str]:
        changed = {"overall_score": bool(self.overall_delta),
                   "criterion_scores": bool(self.score_deltas),
                   **{name: getattr(self.old, name) != getattr(self.new, name)
                      for name in ("rating", "recommendation", "rank")}}
        return [kind for kind in IMPACT_CHANGE_KINDS if changed[kind]]

    def as_dict(self) -> dict[str, Any]:
        return {"proposal": self.proposal, "old": _side(self.old), "new": _side(self.new),
                "delta": {"overall_score": self.overall_delta, "scores": self.score_deltas},
                "rules": list(self.rules), "changed": self.what}


def _side(side: Side) -> dict[str, Any]:
    return {"overall": side.overall, "scores": dict(side.scores), "rating": side.rating,
            "recommendation": side.recommendation, "rank": side.rank,
            "points": dict(side.points)}


@dataclass(frozen=True)
class Impact:
    total: int
    changes: tuple[Change, ...]

    def count(self, what: str) -> int:
        return sum(what in change.what for change in self.changes)

    def summary(self) -> dict[str, int]:
        """How many proposals changed at all, then of each kind: counted from the list, so
        the counts and the list always agree."""
        return {"changed": len(self.changes),
                **{kind: self.count(kind) for kind in IMPACT_CHANGE_KINDS}}

    def as_dict(self) -> dict[str, Any]:
        """The report as ``policy-eval rules diff --json`` prints it and the impact endpoint
        answers it (``schemas.ruleset.ImpactSchema``, without the versions)."""
        return {"total": self.total, "summary": self.summary(),
                "changes": [change.as_dict() for change in self.changes]}


def _points(result: Mapping[str, Any]) -> dict[str, float]:
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
    return [Side(r["overall_score"], {c["criterion"]: c["score"] for c in r["criteria"]},
                 r["rating"], r["recommendation"], rank, _points(r))
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
    """Evaluate every proposal under both rulesets; keep those where anything changes.
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
