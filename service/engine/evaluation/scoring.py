"""Scoring: per criterion, baseline + Σ points of fired rules, clamped to 0..100; overall,
Σ weight × score; a rating from the bands; deficiencies cap the recommendation. A graded rule's
points are read off its scale here, from the fact, whichever evaluator decided that it fired."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.vocabulary import RECOMMENDATIONS
from service.engine.language.model import Criterion, Rule, Ruleset


@dataclass(frozen=True)
class CriterionScore:
    criterion: Criterion
    fired: tuple[Rule, ...]
    points: float
    raw_score: float
    score: float

    @property
    def weighted(self) -> float:
        return self.criterion.weight * self.score


@dataclass(frozen=True)
class Verdict:
    overall: float
    rating: str
    band_recommendation: str
    recommendation: str
    capped_by: tuple[str, ...]


def score_criterion(criterion: Criterion, fired: tuple[Rule, ...],
                    fact: Mapping[str, Any]) -> CriterionScore:
    points = sum(rule.points_for(fact) for rule in fired)
    raw = criterion.baseline + points
    if any(rule.scale for rule in fired):
        # graded points have two decimals; their float sum would show 13.650000000000002
        points, raw = round(points, 2), round(raw, 2)
    return CriterionScore(criterion, fired, points, raw, min(100.0, max(0.0, raw)))


def score_all(ruleset: Ruleset, fired_ids: frozenset[str],
              fact: Mapping[str, Any]) -> tuple[CriterionScore, ...]:
    fired = [rule for rule in ruleset.rules if rule.id in fired_ids]
    return tuple(
        score_criterion(c, tuple(r for r in fired if r.criterion == c.name), fact)
        for c in ruleset.criteria
    )


def verdict(ruleset: Ruleset, scores: tuple[CriterionScore, ...]) -> Verdict:
    overall = round(sum(s.weighted for s in scores), 2)
    band = ruleset.band_for(overall)
    caps = [(rule.deficiency, rule.id) for s in scores for rule in s.fired if rule.deficiency]
    recommendation = band.recommendation
    capped_by: list[str] = []
    for cap, rule_id in caps:
        if RECOMMENDATIONS.index(cap) > RECOMMENDATIONS.index(band.recommendation):
            capped_by.append(rule_id)
            recommendation = max(recommendation, cap, key=RECOMMENDATIONS.index)
    return Verdict(overall, band.rating, band.recommendation, recommendation, tuple(capped_by))
