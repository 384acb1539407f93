"""Weight-stability intervals against the service's own ranking, re-ranked at each bound."""

from __future__ import annotations

import random
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from service.engine import rating_stability
from service.engine.evaluation.scoring import CriterionScore
from service.robustness.stability import Bound, Interval, weight_stability
from tests.robustness.conftest import batch, batches, moved, service_ranking, service_rating
from tests.unit.conftest import shipped

STEP = 1e-9  # far below the gap between two half-cent steps of such scores (~1e-6)
PROPERTY = settings(max_examples=300, deadline=None, derandomize=True)

Select = Callable[[list[int]], list[int]]


def _check_bound(weights: list[float], rows: list[list[float]], j: int, bound: Bound,
                 side: int, select: Select) -> None:
    """Unchanged just inside ``bound``; just outside it (unless it is 0 or 1) changed, to the
    proposals it names."""
    before = select(service_ranking(weights, rows))
    if bound.weight != weights[j]:  # a bound at the stated weight has no inside
        inside = moved(weights, j, bound.weight - side * STEP)
        assert select(service_ranking(inside, rows)) == before
    if 0 < bound.weight < 1:
        after = select(service_ranking(moved(weights, j, bound.weight + side * STEP), rows))
        assert set(after) - set(before) == set(bound.takes_over) != set()
        assert set(before) - set(after) == set(bound.gives_way) != set()
    else:
        assert bound.takes_over == () and bound.gives_way == ()


@PROPERTY
@given(case=batches(), k=st.integers(1, 5), seed=st.integers(0, 2**32))
def test_nothing_changes_inside_an_interval_and_something_just_outside(
        case: tuple[list[float], list[list[float]]], k: int, seed: int) -> None:
    weights, rows = case
    rng = random.Random(seed)
    for found in weight_stability(batch(weights, rows), k):
        j = int(found.criterion[1:])
        assert found.weight == weights[j]
        for interval, size in ((found.first, 1), (found.top_k, k)):
            def select(ranking: list[int], size: int = size) -> list[int]:
                return sorted(ranking[:size])
            before = select(service_ranking(weights, rows))
            assert interval.lower.weight <= weights[j] <= interval.upper.weight
            _check_bound(weights, rows, j, interval.lower, -1, select)
            _check_bound(weights, rows, j, interval.upper, 1, select)
            for _ in range(5):
                inside = rng.uniform(interval.lower.weight, interval.upper.weight)
                if interval.lower.weight < inside < interval.upper.weight:
                    assert select(service_ranking(moved(weights, j, inside), rows)) == before


def test_the_runner_up_takes_over_where_the_rounded_scores_part() -> None:
    weights = [0.6, 0.4]
    rows = [[80.0, 40.0], [50.0, 70.0]]  # p0: 64.00 first, p1: 58.00
    [c0, _] = weight_stability(batch(weights, rows), 1)
    # c0 at t, c1 at 1 − t: p0 = 40 + 40t, p1 = 70 − 20t. Both round to 60.00 from
    # t = 0.499875 (p0 = 59.995) to t = 0.500125 (p1 = 60.005), and the tie goes to the
    # earlier upload, p0: it stays first down to 0.499875, where it drops to 59.99
    assert c0.first.lower == Bound(0.499875, takes_over=(1,), gives_way=(0,))
    assert c0.first.upper == Bound(1.0)


def test_a_tie_at_a_bound_goes_to_the_earlier_upload() -> None:
    weights = [0.6, 0.4]
    rows = [[50.0, 70.0], [80.0, 40.0]]  # the same two, p1 (64.00) first
    [c0, _] = weight_stability(batch(weights, rows), 1)
    # now the tie at 60.00 goes to p0, so p1 loses the first place as soon as both round to
    # 60.00: at t = 0.500125, not where the lines cross (0.5)
    assert c0.first.lower == Bound(0.500125, takes_over=(0,), gives_way=(1,))
    assert service_ranking(moved(weights, 0, 0.5001), rows)[0] == 0


def test_two_scores_rounded_apart_only_by_float_error_tie_as_soon_as_the_weight_moves(
) -> None:
    weights = [0.24, 0.57, 0.19]
    # both 61.405 in decimals; the service's float sums give 61.404999… and 61.405, which
    # round to 61.40 and 61.41: p1 ranks first only at exactly the stated weights
    rows = [[90.0, 48.0, 65.5], [90.0, 45.5, 73.0]]
    assert service_ranking(weights, rows) == [1, 0]
    [c0, _, _] = weight_stability(batch(weights, rows), 1)
    assert c0.first == Interval(Bound(0.24, (0,), (1,)), Bound(0.24, (0,), (1,)))
    for side in (-1, 1):
        assert service_ranking(moved(weights, 0, 0.24 + side * STEP), rows) == [0, 1]


def test_a_criterion_with_all_the_weight_cannot_move() -> None:
    [only, other] = weight_stability(batch([1.0, 0.0], [[10.0, 90.0], [20.0, 0.0]]), 1)
    assert only.first.lower == only.first.upper == Bound(1.0)
    assert other.first.lower.weight == 0.0 and 0 < other.first.upper.weight < 1


@PROPERTY
@given(scores=st.lists(st.integers(0, 200).map(lambda h: h / 2), min_size=4, max_size=4))
def test_a_rating_holds_inside_its_interval_and_changes_just_outside(scores: list[float]
                                                                     ) -> None:
    ruleset = shipped().ruleset
    scored = [CriterionScore(c, (), 0.0, s, s) for c, s in zip(ruleset.criteria, scores,
                                                                 strict=True)]
    weights = [c.weight for c in ruleset.criteria]
    rating = service_rating(ruleset, weights, scores)
    for j, found in enumerate(rating_stability(ruleset, scored)):
        assert found["criterion"] == ruleset.criteria[j].name
        for bound, side, past in ((found["lower"], -1, found["below"]),
                                  (found["upper"], 1, found["above"])):
            if bound != weights[j]:
                inside = moved(weights, j, bound - side * STEP)
                assert service_rating(ruleset, inside, scores) == rating
            if 0 < bound < 1:
                outside = moved(weights, j, bound + side * STEP)
                assert service_rating(ruleset, outside, scores) == past != rating
            else:
                assert past is None
