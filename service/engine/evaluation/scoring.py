"""Scoring: per criterion, baseline + Σ points of fired rules, clamped to 0..100;
overall, Σ weight × score; a rating from the bands; deficiencies cap the recommendation. A
graded rule's points are read off its scale by the evaluator that decides (durable-rules cannot
compute them), to two decimals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from schemas.vocabulary import RECOMMENDATIONS
from service.engine.language.model import Criterion, Rule, Ruleset


# NamedTuples, not frozen dataclasses: as immutable, and built ~5x faster (a frozen dataclass
# sets each field through object.__setattr__), which counted for ~4 µs of an evaluation
class CriterionScore(NamedTuple):
    criterion: Criterion
    fired: tuple[Rule, ...]
    points: float
    raw_score: float
    score: float

    @property
    def weighted(self) -> float:
        return self.criterion.weight * self.score


class Verdict(NamedTuple):
    overall: float
    rating: str
    band_recommendation: str
    recommendation: str
    capped_by: tuple[str, ...]


def score_all(ruleset: Ruleset, fired: Sequence[Sequence[int]], points: Sequence[float]
              ) -> tuple[CriterionScore, ...]:
    """Scores from, for each criterion, the indexes of its rules that fired and the sum of their
    points, as the compiled evaluator decides them."""
    rules = ruleset.rules
    graded = ruleset.graded_criteria
    scores = []
    for criterion, indexes, sum_of_points in zip(ruleset.criteria, fired, points, strict=True):
        raw = criterion.baseline + sum_of_points
        if criterion.name in graded:  # 50 + 13.65 is 63.650000000000006 in floats
            raw = round(raw, 2)
        scores.append(CriterionScore(criterion, tuple([rules[index] for index in indexes]),
                                     sum_of_points, raw, min(100.0, max(0.0, raw))))
    return tuple(scores)


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
