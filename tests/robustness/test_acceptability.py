"""Rank acceptability: what SMAA-2 promises, the plain ranking without uncertainty, and the
same answer however the samples are shared out."""

from __future__ import annotations

from functools import reduce
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.engine.language.model import Range, Uncertainty
from service.robustness.acceptability import (
    EXACT_RANKS,
    Tally,
    rank_acceptability,
    rank_edges,
    tally,
)
from service.robustness.proposals import Proposals
from service.robustness.sampling import BLOCK, blocks, weight_sampler
from tests.robustness.conftest import batch, batches, intervals, service_ranking

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True)


def counted(proposals: Proposals, uncertainty: Uncertainty | None, samples: int,
            top_k: int = 3, seed: int = 7) -> Tally:
    weights = weight_sampler(proposals.criteria, proposals.weights, uncertainty)
    return reduce(Tally.merge, [tally(proposals, weights, seed, block, size, top_k)
                                for block, size in blocks(samples)])


@PROPERTY
@given(case=batches(), spread=st.sampled_from([0.05, 0.2, 1.0]))
def test_each_proposal_takes_some_rank_in_every_sample(
        case: tuple[list[float], list[list[float]]], spread: float) -> None:
    weights, rows = case
    proposals = batch(weights, rows)
    total = counted(proposals, intervals(weights, spread), 300)
    found = rank_acceptability(proposals, total)
    # over ranks, each proposal's acceptabilities sum to 1; over proposals, each rank's do
    assert np.all(total.ranks.sum(axis=1) == 300)
    assert np.allclose(found.shares.sum(axis=1), 1.0)  # these batches are under 100 ranks
    assert np.allclose(found.shares.sum(axis=0), 1.0)
    assert sum(p.first for p in found.proposals) == pytest.approx(1.0)  # shares are floats
    for p in found.proposals:
        assert 1 <= p.rank_low <= p.rank_high <= proposals.size
        assert 1 <= p.expected_rank <= proposals.size
        assert (p.central_weights is not None) == (p.first > 0)


@PROPERTY
@given(case=batches(), spread=st.sampled_from([0.05, 0.2, 1.0]), data=st.data())
def test_a_dominated_proposal_is_never_first_more_often_than_its_dominator(
        case: tuple[list[float], list[list[float]]], spread: float, data: st.DataObject
) -> None:
    weights, rows = case
    better = data.draw(st.integers(0, len(rows) - 1))
    gains = data.draw(st.lists(st.integers(0, 20), min_size=len(weights),
                               max_size=len(weights)))
    worse = [max(0.0, s - g) for s, g in zip(rows[better], gains, strict=True)]
    rows = [*rows, worse]  # uploaded last, so it also loses every tie
    proposals = batch(weights, rows)
    found = rank_acceptability(proposals, counted(proposals, intervals(weights, spread), 300))
    dominator, dominated = found.proposals[better], found.proposals[-1]
    assert dominated.first <= dominator.first
    assert dominated.expected_rank >= dominator.expected_rank


@PROPERTY
@given(case=batches(), spread=st.sampled_from([0.05, 0.2, 1.0]))
def test_a_proposal_that_dominates_all_others_ranks_first_in_every_sample(
        case: tuple[list[float], list[list[float]]], spread: float) -> None:
    weights, rows = case
    # better than every other on every criterion (as good at 100, and uploaded first)
    best = [min(100.0, max(column) + 0.5) for column in zip(*rows, strict=True)]
    proposals = batch(weights, [best, *rows])
    found = rank_acceptability(proposals, counted(proposals, intervals(weights, spread), 300))
    top = found.proposals[0]
    assert top.first == 1.0 and top.expected_rank == 1 and top.rank_high == 1


@PROPERTY
@given(case=batches(), k=st.integers(1, 5))
def test_without_uncertainty_the_acceptability_is_the_plain_ranking(
        case: tuple[list[float], list[list[float]]], k: int) -> None:
    weights, rows = case
    proposals = batch(weights, rows)
    ranking = service_ranking(weights, rows)
    for declared in (None, Uncertainty(), intervals(weights, 0.0)):
        found = rank_acceptability(proposals, counted(proposals, declared, 50, top_k=k))
        for rank, position in enumerate(ranking, start=1):
            p = found.proposals[position]
            assert (p.rank_low, p.expected_rank, p.rank_high) == (rank, rank, rank)
            assert p.first == (rank == 1) and p.top_k == (rank <= k)
        assert found.proposals[ranking[0]].central_weights == dict(zip(
            proposals.criteria, weights, strict=True))


def test_the_same_seed_gives_the_same_answer_however_the_blocks_are_shared_out() -> None:
    rng = np.random.default_rng(3)
    weights = [0.3, 0.25, 0.3, 0.15]
    proposals = batch(weights, rng.integers(0, 101, (60, 4)).astype(float).tolist())
    declared = intervals(weights, 0.1)
    sampler = weight_sampler(proposals.criteria, proposals.weights, declared)
    units = [tally(proposals, sampler, 11, block, size, 5)
             for block, size in blocks(3 * BLOCK + 250)]
    in_order = reduce(Tally.merge, units)
    # two workers, each merging what it counted, the reducer merging them the other way round
    two = Tally.merge(reduce(Tally.merge, units[2:]), reduce(Tally.merge, units[:2]))
    shipped = reduce(Tally.merge, [Tally.from_bytes(u.to_bytes()) for u in reversed(units)])
    again = counted(proposals, declared, 3 * BLOCK + 250, top_k=5, seed=11)
    expected = rank_acceptability(proposals, in_order)
    for other in (two, shipped, again):
        assert np.array_equal(other.central, in_order.central)  # sums of weights, bit for bit
        found = rank_acceptability(proposals, other)
        assert found.proposals == expected.proposals
        assert np.array_equal(found.shares, expected.shares)
    other_seed = counted(proposals, declared, 3 * BLOCK + 250, top_k=5, seed=12)
    assert not np.array_equal(other_seed.ranks, in_order.ranks)


def test_weight_uncertainty_spreads_the_ranks_of_close_proposals() -> None:
    # p0 leads on c0, p1 on c1, equal overall at the stated weights: p0 first by upload order
    proposals = batch([0.5, 0.5], [[70.0, 50.0], [50.0, 70.0], [10.0, 10.0]])
    declared = Uncertainty(weights={"c0": Range(0.4, 0.6), "c1": Range(0.4, 0.6)})
    found = rank_acceptability(proposals, counted(proposals, declared, 4000, top_k=1))
    first = [p.first for p in found.proposals]
    assert abs(first[0] - 0.5) < 0.05 and abs(first[1] - 0.5) < 0.05 and first[2] == 0
    assert found.proposals[0].central_weights is not None
    assert found.proposals[0].central_weights["c0"] > 0.5  # p0 wins where c0 weighs more
    assert found.proposals[2].rank_low == found.proposals[2].rank_high == 3


def test_ranks_beyond_the_exact_ones_are_binned_and_the_interval_contains_the_exact_one(
) -> None:
    rng = np.random.default_rng(5)
    weights = [0.5, 0.5]
    rows = rng.integers(0, 101, (400, 2)).astype(float).tolist()
    proposals = batch(weights, rows)
    declared = intervals(weights, 0.3)
    found = rank_acceptability(proposals, counted(proposals, declared, 200))
    edges = rank_edges(400)
    assert edges[EXACT_RANKS] == EXACT_RANKS + 1 and edges[-1] == 401
    assert all(b - a <= max(1, 0.025 * a) for a, b in pairwise(edges))
    # the exact 5-95 % interval of each proposal, from the ranks themselves
    sampler = weight_sampler(proposals.criteria, proposals.weights, declared)
    drawn = sampler.block(7, 0)[:200]
    exact = np.array([np.argsort(service_ranking(list(w), rows)) + 1 for w in drawn])
    for p in found.proposals:
        low, high = np.quantile(exact[:, p.position], [0.05, 0.95], method="inverted_cdf")
        assert p.rank_low <= low and high <= p.rank_high
        if p.rank_interval_exact:
            assert (p.rank_low, p.rank_high) == (low, high)
        assert abs(p.expected_rank - exact[:, p.position].mean()) < 1e-9
