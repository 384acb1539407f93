"""Seeded samples of the weights and the costs, drawn so that any split of the work gives the
same samples.

Samples are numbered 0, 1, 2, …; sample ``t`` always has the same weights and cost factors for
a given seed, whichever worker draws it and however the samples are shared out:
- weights are drawn a block of ``BLOCK`` samples at a time, block ``b`` from its own stream
  (``SeedSequence(seed, spawn_key=(0, b))``): interval sampling rejects draws, so one sample's
  weights depend on the draws before it in its block, never beyond it;
- the cost factors of sample ``t`` come from their own stream (``spawn_key=(1, t)``), so a
  portfolio sample needs no other sample's costs.

Weights. Without declared uncertainty they are the stated weights. With a concentration ``κ``
they follow a Dirichlet distribution with parameters ``κ × stated weight`` (mean: the stated
weights; the larger κ, the closer to them; a zero weight stays zero). With intervals they are
uniform over all weight vectors within the intervals that sum to 1 (criteria without an
interval keep their stated weight): SMAA's representation of "any weights within these
bounds". Uniform sampling of that polytope is exact by rejection from one of three proposals,
each uniform over a set containing the polytope, so accepted draws are uniform over it:
- ``lower``: the lower bounds plus a uniform point of the simplex scaled to what is left;
- ``upper``: the upper bounds minus one;
- ``slack``: every free weight uniform in its interval except the widest, which takes what
  makes the sum 1 (a linear map of the box with a constant Jacobian, so uniformity holds).
Which accepts most depends on the intervals (``lower``/``upper`` when all are about as wide and
the stated weights sit near one end, ``slack`` when one interval is much wider than the others,
where the other two can accept under 1 %), so a fixed-seed pilot of ``PILOT`` draws of each
picks the best; when none accepts one draw in ``PILOT``, sampling is refused as too narrow.

Costs. A proposal's cost is its stated cost times a factor uniform in the range of its
acquisition path (1 for a path without one), independently per proposal: DSCA notification
values are ceilings, each case on its own. The JPY/USD rate is one draw per sample (one market
for all): a fraction uniform in the declared range of the context's rate. It changes a cost
only where the stated currency differs from the budget's: a dollar cost counted in yen, or a
yen cost counted in dollars.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from service.engine import Uncertainty
from service.robustness.proposals import Proposals, ProposalsError

BLOCK = 1000
PILOT = 2000
_WEIGHTS, _COSTS = 0, 1


class SamplingError(ValueError):
    """The declared uncertainty cannot be sampled (the message says why)."""


def blocks(samples: int) -> list[tuple[int, int]]:
    """``(block, size)`` of the weight blocks that cover samples 0..samples-1."""
    return [(b, min(BLOCK, samples - b * BLOCK)) for b in range(math.ceil(samples / BLOCK))]


def _generator(seed: int, stream: int, number: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed,
                                                                      spawn_key=(stream,
                                                                                 number))))


class WeightSampler:
    """The stated weights in every sample: no weight uncertainty declared, or none left (fewer
    than two weights free, or intervals whose ends meet the sum exactly)."""

    def __init__(self, stated: np.ndarray) -> None:
        self.stated = stated

    def block(self, seed: int, number: int) -> np.ndarray:
        """The weights of samples ``number × BLOCK`` onwards, shape (BLOCK, criteria)."""
        weights = np.tile(self.stated, (BLOCK, 1))
        self._fill(weights, _generator(seed, _WEIGHTS, number))
        return weights

    def _fill(self, weights: np.ndarray, rng: np.random.Generator) -> None:
        """Draw the weights that vary into ``weights``."""


class DirichletWeights(WeightSampler):
    def __init__(self, stated: np.ndarray, concentration: float) -> None:
        super().__init__(stated)
        self.varying = stated > 0
        self.alpha = concentration * stated[self.varying]

    def _fill(self, weights: np.ndarray, rng: np.random.Generator) -> None:
        weights[:, self.varying] = rng.dirichlet(self.alpha, len(weights))


class IntervalWeights(WeightSampler):
    def __init__(self, stated: np.ndarray, low: np.ndarray, high: np.ndarray) -> None:
        super().__init__(stated)
        self.varying = high > low
        self.low, self.high = low[self.varying], high[self.varying]
        self.total = 1.0 - stated[~self.varying].sum()  # what the varying weights share
        rates = {scheme: self._draw(scheme, np.random.default_rng(0), PILOT)[1].mean()
                 for scheme in ("lower", "upper", "slack")}
        self.scheme = max(rates, key=lambda s: rates[s])
        self.acceptance = float(rates[self.scheme])
        if self.acceptance == 0:
            raise SamplingError(
                f"the weight intervals leave too little room to sample: not one of {PILOT:,} "
                "draws of weights summing to 1 fell within all of them; widen the narrowest "
                "intervals or move the stated weights away from their ends")

    def _draw(self, scheme: str, rng: np.random.Generator, size: int
              ) -> tuple[np.ndarray, np.ndarray]:
        """Candidates from ``scheme`` and which of them lie within the intervals."""
        low, high = self.low, self.high
        if scheme == "slack":
            widest = int(np.argmax(high - low))
            drawn = rng.uniform(low, high, (size, len(low)))
            drawn[:, widest] = 0.0
            drawn[:, widest] = self.total - drawn.sum(axis=1)
        else:
            spread = rng.dirichlet(np.ones(len(low)), size)
            drawn = (low + (self.total - low.sum()) * spread if scheme == "lower"
                     else high - (high.sum() - self.total) * spread)
        return drawn, np.all((drawn >= low) & (drawn <= high), axis=1)

    def _fill(self, weights: np.ndarray, rng: np.random.Generator) -> None:
        accepted: list[np.ndarray] = []
        found = 0
        while found < len(weights):
            wanted = math.ceil((len(weights) - found) / self.acceptance * 1.1) + 16
            drawn, inside = self._draw(self.scheme, rng, wanted)
            accepted.append(drawn[inside])
            found += int(inside.sum())
        weights[:, self.varying] = np.concatenate(accepted)[:len(weights)]


def weight_sampler(criteria: Sequence[str], stated: np.ndarray,
                   uncertainty: Uncertainty | None) -> WeightSampler:
    declared = uncertainty or Uncertainty()
    if declared.weight_concentration is not None and (stated > 0).sum() > 1:
        return DirichletWeights(stated, declared.weight_concentration)
    intervals = [declared.weights.get(name) for name in criteria]
    low = np.array([r.low if r else w for r, w in zip(intervals, stated, strict=True)])
    high = np.array([r.high if r else w for r, w in zip(intervals, stated, strict=True)])
    free = high > low
    total = 1.0 - stated[~free].sum()
    if free.sum() > 1 and low[free].sum() < total - 1e-12 and high[free].sum() > total + 1e-12:
        return IntervalWeights(stated, low, high)
    return WeightSampler(stated)


@dataclass(frozen=True)
class CostFactors:
    """What multiplies each proposal's cost in one sample, counted in yen and in dollars."""

    jpy: np.ndarray
    usd: np.ndarray


class CostSampler:
    """The cost factors of each sample for the proposals of one batch."""

    def __init__(self, proposals: Proposals, uncertainty: Uncertainty | None) -> None:
        declared = uncertainty or Uncertainty()
        self.size = proposals.size
        self.rate = declared.exchange_rate
        paths = [s.get("acquisition_path") for s in proposals.summaries]
        currencies = [s.get("cost_currency") for s in proposals.summaries]
        if declared.cost_by_path:
            _require(proposals, paths, "acquisition_path")
        if self.rate is not None:
            _require(proposals, currencies, "cost_currency")
        ranges = [declared.cost_by_path.get(str(p)) for p in paths]
        self.low = np.array([r.low if r else 1.0 for r in ranges])
        self.width = np.array([r.width if r else 0.0 for r in ranges])
        self.stated_usd = np.array([c == "USD" for c in currencies])
        self.stated_jpy = np.array([c == "JPY" for c in currencies])
        self.fixed = not declared.cost_by_path and self.rate is None

    def factors(self, seed: int, sample: int) -> CostFactors:
        if self.fixed:
            ones = np.ones(self.size)
            return CostFactors(ones, ones)
        draws = _generator(seed, _COSTS, sample).random(self.size + 1)
        cost = self.low + self.width * draws[1:]
        rate = 1.0 if self.rate is None else self.rate.low + self.rate.width * draws[0]
        return CostFactors(np.where(self.stated_usd, cost * rate, cost),
                           np.where(self.stated_jpy, cost / rate, cost))


def _require(proposals: Proposals, values: list[object], key: str) -> None:
    missing = [s["index"] for s, v in zip(proposals.summaries, values, strict=True)
               if v is None and s.get("total_cost_jpy") is not None]
    if not missing:
        return
    if all(key not in s for s in proposals.summaries):  # summaries older than the key
        raise ProposalsError(f"its declared cost uncertainty needs each proposal's {key}, "
                             "which this batch's summaries do not keep (it was stored by an "
                             "earlier version of the service); submit the batch again to "
                             "analyse it")
    raise ProposalsError(f"its declared cost uncertainty needs each proposal's {key}; "
                         f"items {', '.join(map(str, missing[:5]))}"
                         f"{' …' if len(missing) > 5 else ''} have none")
