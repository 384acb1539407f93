"""One robustness analysis of a scored batch, and its document.

A job runs the same steps spread over workers: ``Plan.rank_blocks`` are independent units for
``acceptability.tally`` (merge the tallies in any order), ``Plan.portfolio_chunks`` for
``core.core_tally``; ``weight_stability`` is exact and cheap (well under a second for 10,000
proposals), done once. ``analyse`` runs them all in one process.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from typing import Any

from service.batch.portfolio import Currency
from service.engine import Uncertainty
from service.robustness.acceptability import RankAcceptability, Tally, rank_acceptability, tally
from service.robustness.core import CoreIndices, core_indices, core_tally
from service.robustness.proposals import Proposals
from service.robustness.sampling import CostSampler, blocks, weight_sampler
from service.robustness.stability import CriterionStability, Interval, weight_stability


@dataclass(frozen=True)
class Plan:
    samples: int = 10_000
    # 500 portfolios of 10,000 proposals take ~22 s of CPU, 10,000 rankings ~3.5 s
    # (bench/robustness.py); each core index is then within ±2.2 points (one standard error)
    portfolio_samples: int = 500
    top_k: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        if self.samples < 1 or self.top_k < 1 or self.portfolio_samples < 0:
            raise ValueError("samples and top_k must be positive, portfolio_samples >= 0")

    def rank_blocks(self) -> list[tuple[int, int]]:
        """``(block, size)`` units of rank-acceptability work."""
        return blocks(self.samples)

    def portfolio_chunks(self, chunks: int) -> list[range]:
        """The portfolio samples cut in ``chunks`` runs of consecutive samples (consecutive
        samples share weight blocks, drawn once per run)."""
        size = -(-self.portfolio_samples // max(1, chunks))
        return [range(start, min(start + size, self.portfolio_samples))
                for start in range(0, self.portfolio_samples, max(1, size))]


@dataclass(frozen=True)
class Analysis:
    plan: Plan
    stability: list[CriterionStability]
    acceptability: RankAcceptability
    portfolio: CoreIndices | None


def analyse(proposals: Proposals, uncertainty: Uncertainty | None, plan: Plan,
            budget: float | None = None, currency: Currency = "JPY") -> Analysis:
    weights = weight_sampler(proposals.criteria, proposals.weights, uncertainty)
    tallies = [tally(proposals, weights, plan.seed, block, size, plan.top_k)
               for block, size in plan.rank_blocks()]
    portfolio = None
    if plan.portfolio_samples:
        costs = CostSampler(proposals, uncertainty)
        counted = core_tally(proposals, weights, costs, plan.seed,
                             range(plan.portfolio_samples), budget, currency)
        portfolio = core_indices(counted)
    return Analysis(plan, weight_stability(proposals, plan.top_k),
                    rank_acceptability(proposals, reduce(Tally.merge, tallies)), portfolio)


def document(analysis: Analysis, proposals: Proposals) -> dict[str, Any]:
    """The analysis as JSON-ready data, proposals named by batch index and id."""
    def named(positions: tuple[int, ...]) -> list[dict[str, Any]]:
        return [_name(proposals, p) for p in positions]

    def interval(found: Interval) -> dict[str, Any]:
        return {"lower": found.lower.weight, "upper": found.upper.weight,
                "below": {"takes_over": named(found.lower.takes_over),
                          "gives_way": named(found.lower.gives_way)},
                "above": {"takes_over": named(found.upper.takes_over),
                          "gives_way": named(found.upper.gives_way)}}

    plan = analysis.plan
    found: dict[str, Any] = {
        "samples": plan.samples, "top_k": plan.top_k, "seed": plan.seed,
        "weight_stability": [{"criterion": s.criterion, "weight": s.weight,
                              "first": interval(s.first), "top_k": interval(s.top_k)}
                             for s in analysis.stability],
        "rank_acceptability": [
            {**_name(proposals, a.position), "first": a.first, "top_k": a.top_k,
             "expected_rank": a.expected_rank, "rank_interval": [a.rank_low, a.rank_high],
             "rank_interval_exact": a.rank_interval_exact,
             "central_weights": a.central_weights}
            for a in sorted(analysis.acceptability.proposals,
                            key=lambda a: (a.expected_rank, a.position))],
        "portfolio": None,
    }
    if analysis.portfolio is not None:
        core = analysis.portfolio
        found["portfolio"] = {
            "samples": core.samples, "inexact_samples": core.inexact,
            "proposals": [{**_name(proposals, c.position), "share": c.share,
                           "standard_error": c.standard_error, "status": c.status}
                          for c in sorted(core.proposals, key=lambda c: (-c.share, c.position))],
        }
    return found


def _name(proposals: Proposals, position: int) -> dict[str, Any]:
    summary = proposals.summaries[position]
    return {"index": summary["index"], "proposal_id": summary.get("proposal_id"),
            "title": summary.get("title")}
