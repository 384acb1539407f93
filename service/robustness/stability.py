"""Weight-stability intervals, computed exactly rather than sampled.

Move one criterion's weight from its stated value ``w`` to ``t`` and rescale the others in
proportion, so that they keep summing to 1 (each becomes ``w_k × (1 − t) / (1 − w)``). Every
proposal's overall score is then linear in ``t``:

    x_i(t) = t × s_ij + (1 − t) × r_i,   r_i = Σ_{k≠j} w_k s_ik / (1 − w)

and the ranking (scores rounded to two decimals, ties in upload order, as the service ranks)
can change only where a rounded score steps, at a half cent of one of the lines. The interval
of a criterion is the widest ``[lower, upper]`` around ``w`` within which the first place (or
the top-k set) stays the same. It is found pair by pair (each proposal that could overtake
against each one it could overtake): floats pick the few pairs whose lines come within a cent
of each other, and for those the half-cent steps of both lines are walked in exact rational
arithmetic, weights and scores taken as the decimals they are written as (0.3 is 3/10). Floats
would not do: two lines that step at the same weight land ~1e-16 apart in floats and would seem
to trade places for an instant.

At a bound itself the two scores meet (equal to the cent, or a cent apart by rounding) and the
service's rule decides: equal scores rank in upload order. Strictly inside the interval nothing
changes; just past a bound (one that is not 0 or 1) the proposals in ``takes_over`` rank where
the ones in ``gives_way`` did. The stated weights are where the batch was ranked: should the
service's float sums have rounded two equal scores apart there (61.405 up for one, down for the
other), the interval ends at the stated weight on the side where they become equal again.

The engine asks the same of one evaluation (``rating_stability``, with ``explain=full``) and
writes the lines the same way (``weight_line``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise

import numpy as np

from service.engine import decimal, weight_line
from service.robustness.proposals import Proposals
from service.robustness.ranking import order

# Cents (the unit of the lines) beyond float error in a line's value (~1e-11 for scores up to
# 100 points): the float filter keeps every pair that could come within a cent.
_EPSILON = 1e-6
# Slopes this close to zero (cents per unit of weight) are float noise on an exact zero.
_FLAT = 1e-9
_HALF = Fraction(1, 2)


@dataclass(frozen=True)
class Bound:
    weight: float  # where the change happens (or 0 / 1 when it does not)
    takes_over: tuple[int, ...] = ()  # positions that rank better just past it
    gives_way: tuple[int, ...] = ()  # positions they displace


@dataclass(frozen=True)
class Interval:
    lower: Bound
    upper: Bound


@dataclass(frozen=True)
class CriterionStability:
    criterion: str
    weight: float
    first: Interval  # the first place stays the same
    top_k: Interval  # the set of the first k stays the same


class _Lines:
    """Each proposal's score in cents as the weight of criterion ``j`` moves ``direction``
    (-1 down, +1 up) by ``d`` (0 <= d <= reach): ``start + slope × d``, in floats for all
    and exactly for the rows asked for."""

    def __init__(self, weights: np.ndarray, scores: np.ndarray, j: int, direction: int
                 ) -> None:
        self.scores, self.j, self.direction = scores, j, direction
        self.weights = [decimal(w) for w in weights]
        weight = float(weights[j])
        others = np.zeros(len(scores))
        for k in range(len(weights)):
            if k != j:
                others += weights[k] * scores[:, k]
        rest = others / (1 - weight)  # r_i
        self.slope = direction * 100 * (scores[:, j] - rest)
        self.slope[np.abs(self.slope) < _FLAT] = 0.0
        self.start = 100 * (rest + (scores[:, j] - rest) * weight)
        self.reach = decimal(weight) if direction < 0 else 1 - decimal(weight)
        self._exact: dict[int, tuple[Fraction, Fraction]] = {}

    def exact(self, row: int) -> tuple[Fraction, Fraction]:
        """``(start, slope)`` of ``row`` in rational arithmetic."""
        if row not in self._exact:
            self._exact[row] = weight_line(self.weights, [decimal(v) for v in self.scores[row]],
                                           self.j, self.direction)
        return self._exact[row]

    def cents_past(self, move: Fraction) -> np.ndarray:
        """Every rounded score just past ``move``: a score exactly on a half cent there has
        taken the step it is moving toward."""
        value = self.start + self.slope * float(move)
        found = np.rint(value).astype(np.int64)
        near = np.flatnonzero(np.abs(value - np.floor(value) - 0.5) < _EPSILON)
        for row in near.tolist():
            start, slope = self.exact(row)
            exact = start + slope * move
            if exact.denominator == 2 and slope != 0:  # on a half cent: past it
                found[row] = math.floor(exact) + (1 if slope > 0 else 0)
            else:
                found[row] = round(exact)
        return found


def weight_stability(proposals: Proposals, top_k: int) -> list[CriterionStability]:
    """Per criterion, the weight intervals within which the first place and the top-``k`` set
    stay as the service ranks them now."""
    ranked = order(proposals.overall_cents)
    found = []
    for j, name in enumerate(proposals.criteria):
        weight = float(proposals.weights[j])
        intervals = []
        for inside in (ranked[:1], ranked[:top_k]):
            lower, upper = (_bound(proposals, j, direction, inside) for direction in (-1, 1))
            intervals.append(Interval(lower, upper))
        found.append(CriterionStability(name, weight, *intervals))
    return found


def _bound(proposals: Proposals, j: int, direction: int, inside: np.ndarray) -> Bound:
    """Where moving criterion ``j``'s weight ``direction`` first changes which proposals are
    ``inside`` (the positions ranked first)."""
    weight = decimal(proposals.weights[j])
    end = Bound(0.0 if direction < 0 else 1.0)
    if weight == 1:  # all the weight on it: the others have no proportions to rescale
        return Bound(1.0)
    if len(inside) == proposals.size:
        return end
    lines = _Lines(proposals.weights, proposals.scores, j, direction)
    outside = np.setdiff1d(np.arange(proposals.size), inside)
    change = _first_change(lines, inside, outside)
    if change is None:
        return end
    before = set(inside.tolist())
    after = set(order(lines.cents_past(change))[:len(inside)].tolist())
    return Bound(float(weight + direction * change), tuple(sorted(after - before)),
                 tuple(sorted(before - after)))


def _first_change(lines: _Lines, inside: np.ndarray, outside: np.ndarray) -> Fraction | None:
    """The smallest move after which some proposal outside ranks above one inside."""
    upper = np.repeat(inside, len(outside))
    lower = np.tile(outside, len(inside))
    gap = lines.start[lower] - lines.start[upper]  # lower minus upper, in cents
    closing = lines.slope[lower] - lines.slope[upper]
    # the same line: equal scores for every weight but, perhaps, the stated one (see above);
    # past it, upload order ranks them
    same_line = (np.abs(gap) <= _EPSILON) & (closing == 0)
    if np.any(same_line & (lower < upper)):
        return Fraction(0)
    # a proposal cannot rank above another while its score is over a cent below
    with np.errstate(divide="ignore", invalid="ignore"):
        enter = np.where(gap >= -1 - _EPSILON, 0.0,
                         np.where(closing > 0, (-1 - _EPSILON - gap) / closing, np.inf))
    candidates = np.flatnonzero(~same_line & (enter <= float(lines.reach)))
    best: Fraction | None = None
    for pair in candidates[np.argsort(enter[candidates], kind="stable")]:
        start = Fraction(float(enter[pair]))
        if best is not None and start >= best:
            break
        limit = lines.reach if best is None else best
        found = _overtakes(lines, int(upper[pair]), int(lower[pair]), start,
                           float(gap[pair]), float(closing[pair]), limit)
        if found is not None:
            best = found
    return best


def _overtakes(lines: _Lines, upper: int, lower: int, enter: Fraction, gap: float,
               closing: float, limit: Fraction) -> Fraction | None:
    """The first move in [enter, limit] after which ``lower`` ranks above ``upper``.

    Past the point where the lower line is over a cent above the other it certainly ranks
    above; past the point where it falls back over a cent below it certainly cannot; in
    between, the two rounded scores change only at half-cent steps, so one exact test between
    each pair of consecutive steps decides each stretch.
    """
    end = limit
    if closing > 0:
        end = min(limit, Fraction((1 + _EPSILON - gap) / closing))
    elif closing < 0:
        end = min(limit, Fraction((-1 - _EPSILON - gap) / closing))
    if end <= enter:
        return None
    (start_u, slope_u), (start_l, slope_l) = lines.exact(upper), lines.exact(lower)
    steps = sorted(set(_steps(start_u, slope_u, enter, end))
                   | set(_steps(start_l, slope_l, enter, end)))
    points = [enter, *steps, end]
    for a, b in pairwise(points):
        middle = (a + b) / 2
        above = math.floor(start_l + slope_l * middle + _HALF)
        below = math.floor(start_u + slope_u * middle + _HALF)
        if above > below or (above == below and lower < upper):
            return a
    return None


def _steps(start: Fraction, slope: Fraction, low: Fraction, high: Fraction) -> list[Fraction]:
    """The moves in (low, high) at which a line's rounded value steps: its half cents."""
    if slope == 0:
        return []
    a, b = sorted((start + slope * low, start + slope * high))
    moves = ((k + _HALF - start) / slope
             for k in range(math.ceil(a - _HALF), math.floor(b - _HALF) + 1))
    return [m for m in moves if low < m < high]
