"""Portfolio core indices: the batch's own portfolio when nothing is uncertain, shares with
their standard errors when costs and weights are."""

from __future__ import annotations

import math
from functools import reduce

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from service.batch.portfolio import build
from service.engine.language.model import Range, Uncertainty
from service.robustness.core import CoreTally, core_indices, core_tally
from service.robustness.proposals import Proposals, from_summaries
from service.robustness.sampling import BLOCK, CostSampler, weight_sampler
from tests.robustness.conftest import AREAS, batches, criteria_for, intervals, summary


def run(proposals: Proposals, declared: Uncertainty | None, samples: range,
        budget: float | None, currency: str = "JPY", seed: int = 1) -> CoreTally:
    weights = weight_sampler(proposals.criteria, proposals.weights, declared)
    return core_tally(proposals, weights, CostSampler(proposals, declared), seed, samples,
                      budget, currency)  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None, derandomize=True)
@given(case=batches(most=20), data=st.data())
def test_without_uncertainty_the_core_is_the_plain_portfolio(
        case: tuple[list[float], list[list[float]]], data: st.DataObject) -> None:
    weights, rows = case
    costs = data.draw(st.lists(st.integers(1, 50).map(lambda c: c * 1e10),
                               min_size=len(rows), max_size=len(rows)))
    deficient = data.draw(st.lists(st.booleans(), min_size=len(rows), max_size=len(rows)))
    summaries = [summary(i, row, weights, cost=cost, area=AREAS[i % 2], deficient=bad,
                         envelope=2e11 + 1e11 * (i % 3))  # areas mix envelopes
                 for i, (row, cost, bad) in enumerate(zip(rows, costs, deficient, strict=True))]
    proposals = from_summaries(summaries, criteria_for(weights))
    for budget, currency in ((None, "JPY"), (3e11, "JPY"), (3e11 / 150, "USD")):
        plain = build(summaries, [], budget, currency)  # type: ignore[arg-type]
        chosen = {entry["index"] for entry in plain["chosen"]}
        found = core_indices(run(proposals, None, range(3), budget, currency))
        assert found.samples == 3 and found.inexact == 0
        for index in proposals.indexes:
            core = found.proposals[index]
            assert core.share == (index in chosen) and core.standard_error == 0
            assert core.status == ("core" if index in chosen else "exterior")


def test_a_proposal_over_budget_at_its_ceiling_is_funded_when_its_actual_cost_fits() -> None:
    weights = [0.5, 0.5]
    # p0 costs 1.1 × the budget at its DSCA ceiling; fms costs are 80-100 % of the ceiling,
    # so it fits whenever its factor is under 1/1.1: with probability (1/1.1 − 0.8) / 0.2
    summaries = [summary(0, [90.0, 90.0], weights, cost=1.1e11, path="fms"),
                 summary(1, [40.0, 40.0], weights, cost=1e10, path="dcs"),
                 summary(2, [95.0, 95.0], weights, cost=1e10, path="fms", deficient=True)]
    proposals = from_summaries(summaries, criteria_for(weights))
    declared = Uncertainty(cost_by_path={"fms": Range(0.8, 1.0)})
    found = core_indices(run(proposals, declared, range(800), 1e11))
    expected = (1 / 1.1 - 0.8) / 0.2
    p0, p1, p2 = found.proposals
    assert abs(p0.share - expected) < 4 * math.sqrt(expected * (1 - expected) / 800)
    assert p0.status == "borderline"
    assert math.isclose(p0.standard_error, math.sqrt(p0.share * (1 - p0.share) / 800))
    # p1 fits beside p0's actual cost only when p0 costs at most 9e10
    assert p1.status == "borderline" and 0 < p1.share < 1
    assert p2.share == 0 and p2.status == "exterior"  # deficient: never funded


def test_the_exchange_rate_moves_dollar_costs_under_a_yen_budget_only() -> None:
    weights = [0.5, 0.5]
    summaries = [summary(0, [90.0, 90.0], weights, cost=1.05e11, currency="USD"),
                 summary(1, [80.0, 80.0], weights, cost=1.05e11, currency="JPY")]
    proposals = from_summaries(summaries, criteria_for(weights))
    declared = Uncertainty(exchange_rate=Range(0.9, 1.1))
    in_yen = core_indices(run(proposals, declared, range(400), 1e11))
    # the dollar cost fits a yen budget when the rate is under 1/1.05 of the context's
    assert abs(in_yen.proposals[0].share - (1 / 1.05 - 0.9) / 0.2) < 0.1
    assert in_yen.proposals[1].share == 0
    in_dollars = core_indices(run(proposals, declared, range(400), 1e11 / 150, "USD"))
    assert in_dollars.proposals[0].share == 0
    assert abs(in_dollars.proposals[1].share - (1.1 - 1.05) / 0.2) < 0.1


def test_a_weight_can_decide_which_of_two_fits() -> None:
    # room for one of two: p0 leads on c0, p1 on c1, equal at the stated weights
    weights = [0.5, 0.5]
    summaries = [summary(0, [70.0, 50.0], weights, cost=6e10),
                 summary(1, [50.0, 70.0], weights, cost=6e10)]
    proposals = from_summaries(summaries, criteria_for(weights))
    found = core_indices(run(proposals, intervals(weights, 0.1), range(400), 1e11))
    shares = [p.share for p in found.proposals]
    assert sum(shares) == 1 and all(0.4 < s < 0.6 for s in shares)


def test_the_same_samples_give_the_same_indices_however_they_are_shared_out() -> None:
    rng = np.random.default_rng(8)
    weights = [0.3, 0.25, 0.3, 0.15]
    summaries = [summary(i, rng.integers(0, 101, 4).astype(float).tolist(), weights,
                         cost=float(rng.integers(1, 30)) * 1e10, path=("fms", "dcs")[i % 2])
                 for i in range(40)]
    proposals = from_summaries(summaries, criteria_for(weights))
    declared = Uncertainty(weights={"c0": Range(0.2, 0.4)}, cost_by_path={"fms":
                                                                           Range(0.7, 1.0)})
    whole = run(proposals, declared, range(BLOCK - 30, BLOCK + 30), 1.5e11)
    parts = [run(proposals, declared, samples, 1.5e11) for samples in
             (range(BLOCK + 10, BLOCK + 30), range(BLOCK - 30, BLOCK + 10))]
    merged = reduce(CoreTally.merge, [CoreTally.from_bytes(p.to_bytes()) for p in parts])
    assert merged.samples == whole.samples == 60
    assert np.array_equal(merged.funded, whole.funded)
    other_seed = run(proposals, declared, range(BLOCK - 30, BLOCK + 30), 1.5e11, seed=2)
    assert not np.array_equal(other_seed.funded, whole.funded)
