"""Exact 0/1 knapsack for portfolios: the set of proposals with the greatest total score whose
cost fits the budget.

Integers only, so "fits" is exact: values are scores in hundredths of a point (scores have two
decimals), costs are in whole yen or cents, rounded up (a proposal never looks cheaper than it
is), the budget rounded down.

The method (Martello & Toth, *Knapsack Problems*, 1990, ch. 2):
1. sort by value per cost; the greedy solution (take in that order whatever still fits) is a
   lower bound, the LP relaxation (Dantzig) an upper bound, and they differ by less than one
   proposal's value;
2. reduction: a proposal whose inclusion (or exclusion) caps the LP bound at or below the greedy
   value is fixed, which leaves a small "core" of proposals near the break in value per cost;
3. depth-first branch and bound (Horowitz-Sahni) over the core, pruning with the LP bound.

This proves optimality in well under a second on 100,000 generated proposals. The search is
exponential in the worst case, so it stops after ``node_limit`` nodes and returns the best set
found with the LP upper bound: then ``exact`` is false and the shortfall from the optimum is at
most ``upper_bound - value``, never more than the score of the one proposal at the break
(at most 100 points), because the greedy set is always a candidate.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

NODE_LIMIT = 2_000_000
_SCALE = 128  # bits: distinct value/cost ratios never compare equal (costs < 2**60)


@dataclass(frozen=True, slots=True)
class Candidate:
    key: int  # the caller's identifier
    value: int  # > 0
    cost: int  # >= 0


@dataclass(frozen=True)
class Solution:
    chosen: frozenset[int]  # candidate keys
    value: int
    cost: int
    upper_bound: int  # no set within the budget scores more; equals value when exact
    exact: bool
    nodes: int


def _ratio(candidate: Candidate) -> int:
    return (candidate.value << _SCALE) // candidate.cost


def solve(candidates: Sequence[Candidate], capacity: int,
          node_limit: int = NODE_LIMIT) -> Solution:
    """The best set within ``capacity``; candidates costing more than it are never chosen."""
    free = [c for c in candidates if c.cost == 0 and c.value > 0]
    # equal (value, cost) pairs end up adjacent, which the search relies on (see below)
    items = sorted((c for c in candidates if 0 < c.cost <= capacity and c.value > 0),
                   key=lambda c: (-_ratio(c), c.cost, c.key))
    base = sum(c.value for c in free)
    if sum(c.cost for c in items) <= capacity:
        everything = free + items
        total = sum(c.value for c in everything)
        return Solution(frozenset(c.key for c in everything), total,
                        sum(c.cost for c in everything), total, True, 0)
    costs = [c.cost for c in items]
    values = [c.value for c in items]
    prefix_cost = [0, *accumulate(costs)]
    prefix_value = [0, *accumulate(values)]
    # the break: items [0, brk) fit whole, item brk does not
    brk = bisect_right(prefix_cost, capacity) - 1
    upper = prefix_value[brk] + (capacity - prefix_cost[brk]) * values[brk] // costs[brk]
    greedy = _greedy(costs, values, capacity, brk)
    lower = sum(values[j] for j in greedy)
    best, exact, nodes = greedy, lower == upper, 0
    if not exact:
        fixed_in, core = _reduce(costs, values, capacity, brk, prefix_cost, prefix_value, lower)
        spare = capacity - sum(costs[j] for j in fixed_in)
        fixed_value = sum(values[j] for j in fixed_in)
        if spare < 0:  # nothing beats the greedy set
            exact = True
        else:
            found, exact, nodes = _branch_and_bound([costs[j] for j in core],
                                                    [values[j] for j in core], spare,
                                                    lower - fixed_value, node_limit)
            if found is not None:
                best = fixed_in + [core[j] for j in found]
    value = sum(values[j] for j in best)
    chosen = [items[j] for j in best] + free
    return Solution(frozenset(c.key for c in chosen), value + base,
                    sum(c.cost for c in chosen), (value if exact else upper) + base, exact,
                    nodes)


def _greedy(costs: list[int], values: list[int], capacity: int, brk: int) -> list[int]:
    chosen = list(range(brk))
    spare = capacity - sum(costs[:brk])
    for j in range(brk + 1, len(costs)):
        if costs[j] <= spare:
            chosen.append(j)
            spare -= costs[j]
    return chosen


def _reduce(costs: list[int], values: list[int], capacity: int, brk: int,
            prefix_cost: list[int], prefix_value: list[int], lower: int
            ) -> tuple[list[int], list[int]]:
    """Items that must be in (resp. out of) any set better than ``lower``, and the rest.

    For an item before the break, the LP bound without it; for one at or after the break, the
    LP bound with it forced in. If that bound cannot beat ``lower``, the item's other choice is
    the only one that can.
    """
    n = len(costs)
    fixed_in: list[int] = []
    core: list[int] = []
    for j in range(n):
        if j < brk:
            k = bisect_right(prefix_cost, capacity + costs[j]) - 1  # k > j
            bound = prefix_value[k] - values[j]
            if k < n:
                bound += (capacity + costs[j] - prefix_cost[k]) * values[k] // costs[k]
            if bound <= lower:
                fixed_in.append(j)
                continue
        else:
            spare = capacity - costs[j]
            k = bisect_right(prefix_cost, spare) - 1  # k <= brk, k != j
            bound = values[j] + prefix_value[k]
            if k < n:
                bound += (spare - prefix_cost[k]) * values[k] // costs[k]
            if bound <= lower:
                continue  # fixed out
        core.append(j)
    return fixed_in, core


def _branch_and_bound(costs: list[int], values: list[int], capacity: int, beat: int,
                      node_limit: int) -> tuple[list[int] | None, bool, int]:
    """Horowitz-Sahni depth-first search for a set worth more than ``beat``.

    Items are in decreasing value per cost, so a forward move takes the longest run that fits
    and the LP bound of what follows prunes. Identical items (same value and cost, adjacent)
    are interchangeable, so only sets taking a prefix of each run of them are searched: leaving
    one out leaves out the rest of its run. Without this, a batch of many copies of one
    proposal (what-if variants often are) makes the search exponential for nothing.
    Returns (best set or None, finished, nodes).
    """
    n = len(costs)
    # after_run[i]: the first item after i that differs from it
    after_run = [n] * n
    for i in range(n - 2, -1, -1):
        same = costs[i] == costs[i + 1] and values[i] == values[i + 1]
        after_run[i] = after_run[i + 1] if same else i + 1
    prefix_cost = [0, *accumulate(costs)]
    prefix_value = [0, *accumulate(values)]
    best_value, best = beat, None
    taken: list[int] = []  # increasing indexes: backtracking pops the last
    spare, value, j, nodes = capacity, 0, 0, 0
    while True:
        nodes += 1
        if nodes > node_limit:
            return best, False, nodes
        # items j..k-1 fit whole in what is left; item k (if any) does not
        k = bisect_right(prefix_cost, prefix_cost[j] + spare, j) - 1
        bound = value + prefix_value[k] - prefix_value[j]
        if k < n:
            bound += (spare - (prefix_cost[k] - prefix_cost[j])) * values[k] // costs[k]
        if bound > best_value:
            taken.extend(range(j, k))
            spare -= prefix_cost[k] - prefix_cost[j]
            value += prefix_value[k] - prefix_value[j]
            j = after_run[k] if k < n else n + 1  # item k (and its copies) left out here
            if j < n:
                continue
            if value > best_value:
                best_value, best = value, list(taken)
        if not taken:
            return best, True, nodes
        last = taken.pop()
        spare += costs[last]
        value -= values[last]
        # leaving `last` out: its copies after it go too (copies before it stay taken)
        j = after_run[last]
