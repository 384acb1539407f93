"""Weight and cost samples: within what the ruleset declares, distributed as documented, and
the same for a seed whoever draws them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from service.engine.language.model import Range, Uncertainty
from service.robustness.proposals import ProposalsError
from service.robustness.sampling import (
    BLOCK,
    CostSampler,
    DirichletWeights,
    IntervalWeights,
    SamplingError,
    weight_sampler,
)
from tests.robustness.conftest import batch

NAMES = ("c0", "c1", "c2", "c3")


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    """The two-sample Kolmogorov-Smirnov statistic."""
    grid = np.sort(np.concatenate([a, b]))
    fa = np.searchsorted(np.sort(a), grid, side="right") / len(a)
    fb = np.searchsorted(np.sort(b), grid, side="right") / len(b)
    return float(np.abs(fa - fb).max())


def test_interval_weights_stay_within_their_intervals_and_sum_to_one() -> None:
    stated = np.array([0.3, 0.25, 0.3, 0.15])
    declared = Uncertainty(weights={"c0": Range(0.2, 0.4), "c1": Range(0.15, 0.3),
                                    "c2": Range(0.3, 0.45)})
    sampler = weight_sampler(NAMES, stated, declared)
    drawn = sampler.block(1, 0)
    assert drawn.shape == (BLOCK, 4)
    assert np.allclose(drawn.sum(axis=1), 1.0)
    assert np.all(drawn[:, 3] == 0.15)  # no interval: the stated weight
    for j, name in enumerate(NAMES[:3]):
        interval = declared.weights[name]
        assert np.all((drawn[:, j] >= interval.low) & (drawn[:, j] <= interval.high))
        assert drawn[:, j].max() - drawn[:, j].min() > 0.5 * interval.width


def test_the_three_proposals_sample_the_same_uniform_distribution() -> None:
    # symmetric intervals around equal weights: each scheme accepts enough to compare, the
    # mean is the stated weights, and the schemes agree on the distribution of each weight
    stated = np.full(4, 0.25)
    sampler = IntervalWeights(stated, stated - 0.1, stated + 0.1)
    rng = np.random.default_rng(2)
    found = {}
    for scheme in ("lower", "upper", "slack"):
        drawn, inside = sampler._draw(scheme, rng, 60_000)
        found[scheme] = drawn[inside]
        assert len(found[scheme]) > 3_000
        error = found[scheme].std(axis=0) / np.sqrt(len(found[scheme]))
        assert np.all(np.abs(found[scheme].mean(axis=0) - 0.25) < 4 * error)
    for j in range(4):
        for a, b in (("lower", "upper"), ("lower", "slack")):
            n, m = len(found[a]), len(found[b])
            assert _ks(found[a][:, j], found[b][:, j]) < 1.95 * np.sqrt((n + m) / (n * m))


def test_the_scheme_that_accepts_most_is_used() -> None:
    stated = np.array([0.1] * 10)
    one_wide = IntervalWeights(stated, np.r_[0.0, [0.09] * 9], np.r_[0.5, [0.11] * 9])
    assert one_wide.scheme == "slack" and one_wide.acceptance == 1.0
    near_top = IntervalWeights(stated, stated - 0.05, stated + 0.001)
    assert near_top.scheme == "upper" and near_top.acceptance == 1.0


def test_intervals_that_leave_no_room_are_refused_with_a_reason() -> None:
    stated = np.array([0.3405, 0.067, 0.0083, 0.2663, 0.3179])
    low = stated - np.array([1e-7, 1e-3, 0.0083, 1e-7, 1e-7])
    high = stated + np.array([0.05, 0.05, 0.5, 1e-7, 0.5])
    with pytest.raises(SamplingError, match="too little room"):
        IntervalWeights(stated, low, high)


def test_no_room_left_means_the_stated_weights() -> None:
    stated = np.array([0.5, 0.3, 0.2])
    for declared in (None, Uncertainty(),
                     Uncertainty(weights={"c0": Range(0.4, 0.6)}),  # one free weight
                     Uncertainty(weights={"c0": Range(0.5, 0.6), "c1": Range(0.3, 0.4),
                                          "c2": Range(0.2, 0.3)})):  # at the lower ends
        assert np.all(weight_sampler(NAMES[:3], stated, declared).block(3, 0) == stated)


def test_a_concentration_draws_around_the_stated_weights() -> None:
    stated = np.array([0.4, 0.35, 0.25, 0.0])
    loose, tight = (weight_sampler(NAMES, stated, Uncertainty(weight_concentration=c))
                    for c in (20, 2000))
    assert isinstance(loose, DirichletWeights)
    a, b = loose.block(5, 0), tight.block(5, 0)
    assert np.all(a[:, 3] == 0) and np.allclose(a.sum(axis=1), 1.0)
    assert np.all(np.abs(a.mean(axis=0) - stated)[:3] < 4 * a.std(axis=0)[:3] / np.sqrt(BLOCK))
    assert np.all(b.std(axis=0)[:3] < a.std(axis=0)[:3] / 5)


def test_a_block_is_the_same_for_a_seed_and_differs_between_blocks_and_seeds() -> None:
    sampler = weight_sampler(NAMES, np.array([0.3, 0.25, 0.3, 0.15]),
                             Uncertainty(weight_concentration=50))
    assert np.array_equal(sampler.block(9, 2), sampler.block(9, 2))
    assert not np.array_equal(sampler.block(9, 2), sampler.block(9, 3))
    assert not np.array_equal(sampler.block(9, 2), sampler.block(10, 2))


def test_costs_move_by_path_and_the_rate_by_currency() -> None:
    base = batch([0.5, 0.5], [[50.0, 50.0]] * 4)
    bases = [("fms", "USD"), ("dcs", "USD"), ("fms", "JPY"), ("dcs", "JPY")]
    proposals = replace(base, summaries=tuple(
        {**s, "acquisition_path": path, "cost_currency": currency}
        for s, (path, currency) in zip(base.summaries, bases, strict=True)))
    declared = Uncertainty(cost_by_path={"fms": Range(0.8, 1.0)},
                           exchange_rate=Range(0.9, 1.1))
    costs = CostSampler(proposals, declared)
    factors = [costs.factors(4, t) for t in range(400)]
    jpy = np.array([f.jpy for f in factors])
    usd = np.array([f.usd for f in factors])
    rate = jpy[:, 1]  # a dcs cost stated in dollars, counted in yen: the rate alone
    assert np.all((rate >= 0.9) & (rate <= 1.1))
    fms = usd[:, 0]  # an fms cost stated in dollars, counted in dollars: the path alone
    assert np.all((fms >= 0.8) & (fms <= 1.0)) and fms.std() > 0.04
    assert np.allclose(jpy[:, 0], fms * rate)
    assert np.all(jpy[:, 3] == 1) and np.allclose(usd[:, 3], 1 / rate)  # dcs in yen
    assert np.allclose(usd[:, 2], jpy[:, 2] / rate)  # fms in yen, counted in dollars
    assert np.array_equal(costs.factors(4, 17).jpy, factors[17].jpy)


def test_cost_uncertainty_needs_each_proposals_path_and_currency() -> None:
    base = batch([0.5, 0.5], [[50.0, 50.0]])
    bare = replace(base, summaries=tuple({**s, "acquisition_path": None}
                                         for s in base.summaries))
    with pytest.raises(ProposalsError, match="acquisition_path; items 0 have none"):
        CostSampler(bare, Uncertainty(cost_by_path={"fms": Range(0.8, 1.0)}))
    CostSampler(bare, Uncertainty(exchange_rate=Range(0.9, 1.1)))  # the currency is enough
    older = replace(base, summaries=tuple(
        {k: v for k, v in s.items() if k not in ("acquisition_path", "cost_currency")}
        for s in base.summaries))
    with pytest.raises(ProposalsError, match="stored by an earlier version of the service"):
        CostSampler(older, Uncertainty(exchange_rate=Range(0.9, 1.1)))
    CostSampler(older, Uncertainty(weights={"c0": Range(0.4, 0.6)}))  # costs exact: analysable
