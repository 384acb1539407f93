"""Portfolio core indices (Robust Portfolio Modeling, Liesiö, Mild & Salo 2007): how often the
optimal portfolio funds each proposal when the weights and the costs are uncertain.

Each sample re-scores the batch with its weights (as ``acceptability`` does), multiplies each
cost by its cost factors (``sampling.CostSampler``) and asks the batch's own portfolio
(``service.batch.portfolio.funded``, the choice ``build`` makes: the same budget or
capability-area envelopes, the same exclusion of deficient proposals, the same exact knapsack)
which proposals it funds. A
proposal's core index is the share of samples that fund it: **core** at 99 % or more,
**exterior** at 0, **borderline** in between.

A sample's portfolio costs ~22 ms of CPU for 10,000 generated proposals (a knapsack per
capability area; ``bench/robustness.py``), 60× a sample's ranking (0.34 ms), so the portfolio
uses fewer samples than the rank acceptability (the first ones: the same weights) and reports
the standard error of each index, √(p(1−p)/samples): ±2.2 points at worst for 500 samples.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from service.batch.knapsack import NODE_LIMIT
from service.batch.portfolio import Currency, funded, groups_for
from service.robustness.proposals import Proposals
from service.robustness.ranking import overall_cents
from service.robustness.sampling import BLOCK, CostSampler, WeightSampler

CORE = 0.99
Status = Literal["core", "borderline", "exterior"]


@dataclass
class CoreTally:
    samples: int
    funded: np.ndarray  # (proposals,) samples whose portfolio funds it
    inexact: int  # samples whose knapsack stopped at its node limit (best found, not proven)

    def merge(self, other: CoreTally) -> CoreTally:
        return CoreTally(self.samples + other.samples, self.funded + other.funded,
                         self.inexact + other.inexact)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, samples=self.samples, funded=self.funded, inexact=self.inexact)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> CoreTally:
        with np.load(io.BytesIO(data), allow_pickle=False) as stored:
            return cls(int(stored["samples"]), stored["funded"], int(stored["inexact"]))


def core_tally(proposals: Proposals, weights: WeightSampler, costs: CostSampler, seed: int,
               samples: Iterable[int], budget: float | None, currency: Currency,
               node_limit: int = NODE_LIMIT, progress: Callable[[int], None] | None = None
               ) -> CoreTally:
    """The portfolios of ``samples`` (sample numbers, as in ``sampling``), telling
    ``progress`` how many are done after each."""
    rows = _contenders(proposals, budget)
    kept = [proposals.summaries[p] for p in rows]
    # what ``funded`` reads besides the score and costs, and the costs as arrays (NaN: no
    # cost) to scale each sample
    base = [{key: summary.get(key) for key in _READ} for summary in kept]
    jpy, usd = (np.array([_number(s.get(key)) for s in kept])
                for key in ("total_cost_jpy", "total_cost_usd"))
    position = {s["index"]: p for p, s in zip(rows, kept, strict=True)}
    counted = CoreTally(0, np.zeros(proposals.size, np.int64), 0)
    block_number, block = -1, np.empty(0)
    for sample in samples:
        if sample // BLOCK != block_number:
            block_number = sample // BLOCK
            block = weights.block(seed, block_number)
        weight = block[sample % BLOCK][None, :]
        score = overall_cents(proposals.scores[rows], weight)[0] / 100
        factor = costs.factors(seed, sample)
        summaries = [
            {**entry, "overall_score": value, "total_cost_jpy": _cost(cost_jpy),
             "total_cost_usd": _cost(cost_usd)}
            for entry, value, cost_jpy, cost_usd in zip(
                base, score.tolist(), (jpy * factor.jpy[rows]).tolist(),
                (usd * factor.usd[rows]).tolist(), strict=True)]
        chosen, exact = funded(summaries, budget, currency, node_limit)
        for index in chosen:
            counted.funded[position[index]] += 1
        counted.samples += 1
        counted.inexact += not exact
        if progress is not None:
            progress(counted.samples)
    return counted


def _contenders(proposals: Proposals, budget: float | None) -> np.ndarray:
    """The positions worth a portfolio in each sample. A deficient proposal is never funded,
    whatever its score and cost, so it is left out (two thirds of a generated batch, each
    looked at in every sample), unless that would change a budget: an area's envelope is the
    smallest any of its proposals reports."""
    summaries = list(proposals.summaries)
    sound = [p for p, s in enumerate(summaries) if not s.get("deficiencies")]
    every, kept = groups_for(summaries, budget), groups_for([summaries[p] for p in sound],
                                                            budget)
    if all(every[name] == group for name, group in kept.items()):
        return np.array(sound, dtype=np.int64)
    return np.arange(proposals.size)


_READ = ("index", "capability_area", "envelope_remaining_jpy", "deficiencies")


def _number(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) else math.nan


def _cost(value: float) -> float | None:
    return None if math.isnan(value) else value


@dataclass(frozen=True)
class CoreIndex:
    position: int
    share: float
    standard_error: float
    status: Status


@dataclass(frozen=True)
class CoreIndices:
    samples: int
    inexact: int
    proposals: list[CoreIndex]


def core_indices(total: CoreTally) -> CoreIndices:
    if total.samples == 0:
        raise ValueError("no portfolio samples counted")
    found = []
    for p, count in enumerate(total.funded.tolist()):
        share = count / total.samples
        status: Status = "core" if share >= CORE else "exterior" if count == 0 else "borderline"
        found.append(CoreIndex(p, share, math.sqrt(share * (1 - share) / total.samples),
                               status))
    return CoreIndices(total.samples, total.inexact, found)
