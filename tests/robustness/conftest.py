"""Batches for robustness tests, and the service's ranking written out as the tests' oracle."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from typing import Any

from hypothesis import strategies as st

from service.engine import load_ruleset
from service.engine.evaluation.scoring import CriterionScore, Verdict, verdict
from service.engine.language.model import Criterion, Range, Ruleset, Uncertainty
from service.robustness.proposals import Proposals, from_summaries
from tests.unit.conftest import MINI

AREAS = ("stand_off_defense", "integrated_air_missile_defense")


def criteria_for(weights: list[float]) -> list[Criterion]:
    return [Criterion(f"c{j}", f"C{j}", w, 50.0, "test") for j, w in enumerate(weights)]


def summary(index: int, scores: list[float], weights: list[float], *, cost: float = 1e9,
            area: str = AREAS[0], deficient: bool = False, path: str = "fms",
            currency: str = "USD", envelope: float = 1e12) -> dict[str, Any]:
    """What a batch stores for a scored item (``summarize``), with the service's overall."""
    overall = round(sum(w * s for w, s in zip(weights, scores, strict=True)), 2)
    return {"index": index, "line": index + 2, "proposal_id": f"p{index}", "title": f"P{index}",
            "overall_score": overall, "scores": {f"c{j}": s for j, s in enumerate(scores)},
            "deficiencies": ["D-1"] if deficient else [], "total_cost_jpy": cost,
            "total_cost_usd": cost / 150, "capability_area": area,
            "envelope_remaining_jpy": envelope, "acquisition_path": path,
            "cost_currency": currency}


def batch(weights: list[float], rows: list[list[float]], **extra: Any) -> Proposals:
    return from_summaries([summary(i, row, weights, **extra) for i, row in enumerate(rows)],
                          criteria_for(weights))


@st.composite
def weight_vectors(draw: st.DrawFn, low: int = 2, high: int = 4) -> list[float]:
    """Weights in hundredths summing to 1, as analysts write them."""
    count = draw(st.integers(low, high))
    cuts = sorted(draw(st.lists(st.integers(1, 99), min_size=count - 1, max_size=count - 1,
                                unique=True)))
    return [(b - a) / 100 for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]


@st.composite
def batches(draw: st.DrawFn, most: int = 30) -> tuple[list[float], list[list[float]]]:
    """Weights and criterion scores (whole and half points, as rules award them)."""
    weights = draw(weight_vectors())
    size = draw(st.integers(2, most))
    score = st.integers(0, 200).map(lambda h: h / 2)
    rows = draw(st.lists(st.lists(score, min_size=len(weights), max_size=len(weights)),
                         min_size=size, max_size=size))
    return weights, rows


def _verdict(ruleset: Ruleset, row: list[float]) -> Verdict:
    return verdict(ruleset, tuple(CriterionScore(c, (), 0.0, s, s)
                                  for c, s in zip(ruleset.criteria, row, strict=True)))


def service_ranking(weights: list[float], rows: list[list[float]]) -> list[int]:
    """Positions best first, as the service ranks a batch: each overall score from the
    engine's ``verdict`` under these weights, equal scores in upload order."""
    ruleset = replace(_mini(), criteria=tuple(criteria_for(weights)))
    overall = [_verdict(ruleset, row).overall for row in rows]
    return sorted(range(len(rows)), key=lambda p: (-overall[p], p))


def service_rating(ruleset: Ruleset, weights: list[float], row: list[float]) -> str:
    """The engine's rating of criterion scores ``row`` under ``weights``."""
    criteria = tuple(replace(c, weight=w) for c, w in zip(ruleset.criteria, weights,
                                                          strict=True))
    return _verdict(replace(ruleset, criteria=criteria), row).rating


def moved(weights: list[float], j: int, weight: float) -> list[float]:
    """``weights`` with criterion j at ``weight`` and the others rescaled in proportion."""
    rest = 1 - weights[j]
    return [weight if k == j else w * (1 - weight) / rest for k, w in enumerate(weights)]


@cache
def _mini() -> Ruleset:
    return load_ruleset(MINI)


def intervals(weights: list[float], spread: float) -> Uncertainty:
    """Every weight free within ±spread (clipped to [0, 1])."""
    return Uncertainty(weights={f"c{j}": Range(max(0.0, w - spread), min(1.0, w + spread))
                                for j, w in enumerate(weights)})


def plain_top(proposals: Proposals, k: int) -> list[int]:
    return sorted(range(proposals.size),
                  key=lambda p: (-int(proposals.overall_cents[p]), p))[:k]

