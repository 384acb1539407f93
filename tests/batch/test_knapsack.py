"""The knapsack solver against brute force, on small cases including ties and copies."""

from __future__ import annotations

import itertools
import random

import pytest

from service.batch.knapsack import Candidate, solve


def brute_force(candidates: list[Candidate], capacity: int) -> int:
    best = 0
    for size in range(len(candidates) + 1):
        for subset in itertools.combinations(candidates, size):
            if sum(c.cost for c in subset) <= capacity:
                best = max(best, sum(c.value for c in subset if c.value > 0))
    return best


def random_case(rng: random.Random) -> tuple[list[Candidate], int]:
    n = rng.randint(0, 12)
    shared = [(rng.randint(1, 10_000), rng.randint(1, 50)) for _ in range(3)]
    candidates = []
    for key in range(n):
        kind = rng.random()
        if kind < 0.3:  # copies: what-if variants of one proposal
            value, cost = rng.choice(shared)
        elif kind < 0.45:  # variants that score the same at another cost
            value, cost = rng.choice(shared)[0], rng.randint(1, 60)
        elif kind < 0.55:
            value, cost = rng.randint(1, 10_000), 0
        else:
            value, cost = rng.randint(0, 10_000), rng.randint(1, 10**rng.randint(1, 12))
        candidates.append(Candidate(key, value, cost))
    return candidates, rng.randint(0, sum(c.cost for c in candidates) + 1)


@pytest.mark.parametrize("seed", range(6))
def test_optimal_against_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(150):
        candidates, capacity = random_case(rng)
        solution = solve(candidates, capacity)
        chosen = [c for c in candidates if c.key in solution.chosen]
        assert solution.exact
        assert sum(c.cost for c in chosen) == solution.cost <= capacity
        assert sum(c.value for c in chosen) == solution.value
        assert solution.value == brute_force(candidates, capacity)


def test_stopped_search_reports_a_valid_bound() -> None:
    rng = random.Random(7)
    # value proportional to cost: every item has the same ratio, the hard case for pruning
    candidates = [Candidate(i, 3 * cost, cost)
                  for i, cost in enumerate(rng.randint(1000, 3000) for _ in range(60))]
    capacity = sum(c.cost for c in candidates) // 2 + 7

    stopped = solve(candidates, capacity, node_limit=5)
    full = solve(candidates, capacity)

    assert not stopped.exact and full.exact
    assert stopped.value <= full.value <= stopped.upper_bound
    # the documented bound: never more than one item's value short of the optimum
    assert stopped.upper_bound - stopped.value <= max(c.value for c in candidates)


def test_many_copies_and_a_large_batch_are_solved_exactly_and_fast() -> None:
    copies = [Candidate(i, 9300, 364_250_000_000) for i in range(600)]
    assert solve(copies, 3_000_000_000_000).value == 8 * 9300
    rng = random.Random(3)
    large = [Candidate(i, rng.randint(3000, 9500), int(10 ** rng.uniform(8, 12)))
             for i in range(20_000)]
    solution = solve(large, sum(c.cost for c in large) // 20)
    assert solution.exact and solution.cost <= sum(c.cost for c in large) // 20


@pytest.mark.parametrize(("seed", "share"), [(0, 3), (0, 7), (1, 20)])
def test_what_if_variants_are_solved_exactly(seed: int, share: int) -> None:
    """1,200 variants of six programmes: each programme's score at costs 0.5-1.5× its own. The
    search must prove its set optimal within the node limit."""
    rng = random.Random(seed)
    programmes = [(rng.randint(5000, 9500), int(10 ** rng.uniform(9, 11.5))) for _ in range(6)]
    variants = [Candidate(i, value, int(cost * rng.uniform(0.5, 1.5)))
                for i, (value, cost) in enumerate(programmes[i % 6] for i in range(1200))]
    capacity = sum(c.cost for c in variants) // share

    solution = solve(variants, capacity)

    assert solution.exact and solution.upper_bound == solution.value
    assert solution.cost <= capacity
    # of each score, the cheapest variants are the ones funded
    for value, _ in programmes:
        costs = sorted(c.cost for c in variants if c.value == value)
        funded = sorted(c.cost for c in variants if c.value == value and c.key in solution.chosen)
        assert funded == costs[:len(funded)]
