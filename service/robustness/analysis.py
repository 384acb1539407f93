"""One robustness analysis of a scored batch, and its document.

The analysis is cut into independent units (``Plan.units``): the exact weight stability (well
under a second for 10,000 proposals), one unit per block of rank-acceptability samples
(``acceptability.tally``) and runs of portfolio samples (``core.core_tally``). Each unit's
output is bytes (``run_unit``), so that a job can compute them on different workers and hand
them over; ``combine`` merges them, in any split, into the same ``Analysis``: tallies are
integer counts. ``analyse`` runs every unit in one process.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any, Literal

from service.batch.portfolio import Currency
from service.engine import Uncertainty
from service.robustness.acceptability import RankAcceptability, Tally, rank_acceptability, tally
from service.robustness.core import CoreIndices, CoreTally, core_indices, core_tally
from service.robustness.proposals import Proposals
from service.robustness.ranking import order
from service.robustness.sampling import CostSampler, WeightSampler, blocks, weight_sampler
from service.robustness.stability import (
    Bound,
    CriterionStability,
    Interval,
    weight_stability,
)

# Units of work are counted in rankings of the batch, so that progress moves evenly: a
# portfolio sample costs about 60 rankings (22 ms against 0.34 ms of CPU for 10,000
# proposals, bench/robustness.py), the weight stability about 100 (45 ms).
PORTFOLIO_STEPS = 60
STABILITY_STEPS = 100
# portfolio samples are shared out in this many runs: ~0.5 s of CPU each for 500 samples of
# 10,000 proposals, short enough for two worker processes to finish together
PORTFOLIO_UNITS = 20
UnitKind = Literal["stability", "rank", "portfolio"]


@dataclass(frozen=True)
class Unit:
    """One independent piece of an analysis: the weight stability, weight block ``start``
    (its first ``size`` samples), or ``size`` portfolio samples from sample ``start``."""

    kind: UnitKind
    start: int = 0
    size: int = 0

    @property
    def steps(self) -> int:
        """Its work in rankings of the batch (see ``PORTFOLIO_STEPS``)."""
        if self.kind == "stability":
            return STABILITY_STEPS
        return self.size * (PORTFOLIO_STEPS if self.kind == "portfolio" else 1)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Unit:
        return cls(data["kind"], int(data["start"]), int(data["size"]))


@dataclass(frozen=True)
class Plan:
    samples: int = 10_000
    # 500 portfolios of 10,000 proposals take ~11 s of CPU, 10,000 rankings ~3.4 s
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

    def units(self) -> list[Unit]:
        """Every unit of the analysis, the weight stability first."""
        return [Unit("stability"),
                *(Unit("rank", block, size) for block, size in self.rank_blocks()),
                *(Unit("portfolio", run.start, len(run))
                  for run in self.portfolio_chunks(PORTFOLIO_UNITS))]


@dataclass(frozen=True)
class Inputs:
    """What every unit reads: the batch, how its weights and costs are drawn, the budget."""

    proposals: Proposals
    uncertainty: Uncertainty | None
    weights: WeightSampler
    costs: CostSampler
    budget: float | None = None
    currency: Currency = "JPY"


def inputs(proposals: Proposals, uncertainty: Uncertainty | None, budget: float | None = None,
           currency: Currency = "JPY") -> Inputs:
    """Raises ``SamplingError`` for weight intervals too tight to sample, ``ProposalsError``
    for costs that the declared uncertainty cannot be applied to."""
    return Inputs(proposals, uncertainty,
                  weight_sampler(proposals.criteria, proposals.weights, uncertainty),
                  CostSampler(proposals, uncertainty), budget, currency)


def run_unit(given: Inputs, plan: Plan, unit: Unit,
             progress: Callable[[int], None] | None = None) -> bytes:
    """What ``unit`` finds, as bytes for ``combine``; ``progress`` is told its steps done."""
    def report(done: int) -> None:
        if progress is not None:
            progress(done)

    if unit.kind == "stability":
        found = weight_stability(given.proposals, plan.top_k)
        report(unit.steps)
        return json.dumps([dataclasses.asdict(s) for s in found]).encode()
    if unit.kind == "rank":
        return tally(given.proposals, given.weights, plan.seed, unit.start, unit.size,
                     plan.top_k, report).to_bytes()
    return core_tally(given.proposals, given.weights, given.costs, plan.seed,
                      range(unit.start, unit.start + unit.size), given.budget, given.currency,
                      progress=lambda done: report(done * PORTFOLIO_STEPS)).to_bytes()


def _stability(data: bytes) -> list[CriterionStability]:
    def bound(found: dict[str, Any]) -> Bound:
        return Bound(found["weight"], tuple(found["takes_over"]), tuple(found["gives_way"]))

    def interval(found: dict[str, Any]) -> Interval:
        return Interval(bound(found["lower"]), bound(found["upper"]))

    return [CriterionStability(s["criterion"], s["weight"], interval(s["first"]),
                               interval(s["top_k"])) for s in json.loads(data)]


@dataclass(frozen=True)
class Analysis:
    given: Inputs
    plan: Plan
    stability: list[CriterionStability]
    acceptability: RankAcceptability
    portfolio: CoreIndices | None


def combine(given: Inputs, plan: Plan, outputs: Sequence[bytes]) -> Analysis:
    """The analysis from the outputs of ``plan.units()``, in that order."""
    units = plan.units()
    if len(outputs) != len(units):
        raise ValueError(f"{len(outputs)} outputs for {len(units)} units")
    by_kind: dict[str, list[bytes]] = {"stability": [], "rank": [], "portfolio": []}
    for unit, output in zip(units, outputs, strict=True):
        by_kind[unit.kind].append(output)
    ranks = reduce(Tally.merge, map(Tally.from_bytes, by_kind["rank"]))
    portfolio = None
    if by_kind["portfolio"]:
        portfolio = core_indices(reduce(CoreTally.merge,
                                        map(CoreTally.from_bytes, by_kind["portfolio"])))
    return Analysis(given, plan, _stability(by_kind["stability"][0]),
                    rank_acceptability(given.proposals, ranks), portfolio)


def analyse(proposals: Proposals, uncertainty: Uncertainty | None, plan: Plan,
            budget: float | None = None, currency: Currency = "JPY") -> Analysis:
    """Every unit in this process, combined."""
    given = inputs(proposals, uncertainty, budget, currency)
    return combine(given, plan, [run_unit(given, plan, unit) for unit in plan.units()])


def document(analysis: Analysis) -> dict[str, Any]:
    """The analysis as JSON-ready data, proposals named by batch index and id."""
    given = analysis.given
    proposals = given.proposals

    def named(positions: tuple[int, ...]) -> list[dict[str, Any]]:
        return [_name(proposals, p) for p in positions]

    def interval(found: Interval) -> dict[str, Any]:
        return {"lower": found.lower.weight, "upper": found.upper.weight,
                "below": {"takes_over": named(found.lower.takes_over),
                          "gives_way": named(found.lower.gives_way)},
                "above": {"takes_over": named(found.upper.takes_over),
                          "gives_way": named(found.upper.gives_way)}}

    plan = analysis.plan
    stated_rank = {int(p): rank for rank, p in enumerate(order(proposals.overall_cents), 1)}
    found: dict[str, Any] = {
        "samples": plan.samples, "top_k": plan.top_k, "seed": plan.seed,
        "uncertainty": declared(given.uncertainty),
        "weight_stability": [{"criterion": s.criterion, "weight": s.weight,
                              "first": interval(s.first), "top_k": interval(s.top_k)}
                             for s in analysis.stability],
        "rank_acceptability": [
            {**_name(proposals, a.position),
             "overall_score": int(proposals.overall_cents[a.position]) / 100,
             "rank": stated_rank[a.position], "first": a.first, "top_k": a.top_k,
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
            "budget": given.budget, "currency": given.currency,
            "samples": core.samples, "inexact_samples": core.inexact,
            "proposals": [{**_name(proposals, c.position), "share": c.share,
                           "standard_error": c.standard_error, "status": c.status}
                          for c in sorted(core.proposals, key=lambda c: (-c.share, c.position))],
        }
    return found


def declared(uncertainty: Uncertainty | None) -> dict[str, Any] | None:
    """The ruleset's declaration as its file writes it: intervals as ``[low, high]``."""
    if uncertainty is None:
        return None
    return {"weights": {name: [r.low, r.high] for name, r in uncertainty.weights.items()},
            "weight_concentration": uncertainty.weight_concentration,
            "cost_by_path": {path: [r.low, r.high]
                             for path, r in uncertainty.cost_by_path.items()},
            "exchange_rate": (None if uncertainty.exchange_rate is None else
                              [uncertainty.exchange_rate.low, uncertainty.exchange_rate.high])}


def _name(proposals: Proposals, position: int) -> dict[str, Any]:
    summary = proposals.summaries[position]
    return {"index": summary["index"], "proposal_id": summary.get("proposal_id"),
            "title": summary.get("title")}
