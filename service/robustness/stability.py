"""Weight-stability intervals, computed exactly rather than sampled.

Move one criterion's weight from its stated value ``w`` to ``t`` and rescale the others in
proportion, so that they keep summing to 1 (each becomes ``w_k × (1 − t) / (1 − w)``). Every
proposal's overall score is then linear in ``t``:

    x_i(t) = t × s_ij + (1 − t) × r_i,   r_i = Σ_{k≠j} w_k s_ik / (1 − w)

and the ranking (scores rounded to two decimals, ties in upload order, as the service ranks)
can change only where a rounded score steps, at a half cent of one of the lines. The interval
of a criterion is the widest ``[lower, upper]`` around ``w`` within which the first place (or
the top-k set) stays the same; it is found pair by pair (each proposal that could overtake
against each one it could overtake) only where the two lines come within a cent of each other,
and there by walking the half-cent steps of both in order.

At a bound itself the two scores meet (equal to the cent, or one cent apart by rounding) and
the service's rule decides: equal scores rank in upload order, exact half cents round to even.
Strictly inside the interval nothing changes; just past a bound (one that is not 0 or 1) the
proposals named by ``takes_over`` rank where the ones in ``gives_way`` did.

``rating_stability`` is the same question for one evaluation: how far each weight can move
before the rating band of its overall score changes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from service.engine.language.model import Ruleset
from service.robustness.proposals import Proposals
from service.robustness.ranking import beats, order

# Cents (the unit below) within which float error could hide a crossing; scores are <= 100
# points, so error in a line's value is ~1e-11 cents.
_EPSILON = 1e-6
# Slopes this close to zero (cents per unit of weight) are float noise on an exact zero.
_FLAT = 1e-9
# Steps closer than this (in weight) are one step: two lines stepping at the same weight in
# exact arithmetic land ~1e-16 apart in floats, and must not seem to step one after the other.
_SAME_STEP = 1e-10
# "Just past" a move: each score taken this many cents further along its line, more than float
# error and less than any real distance between two half-cent steps of the service's scores.
_NUDGE = 1e-7


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


@dataclass(frozen=True)
class _Lines:
    """Each proposal's score in cents along one direction: ``start + slope × d`` for a move
    of ``d`` (0 <= d <= reach) away from the stated weight."""

    start: np.ndarray
    slope: np.ndarray
    reach: float

    def at(self, d: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The rounded scores of ``rows`` at moves ``d`` (off the half-cent steps)."""
        return np.rint(self.start[rows] + self.slope[rows] * d).astype(np.int64)


def weight_stability(proposals: Proposals, top_k: int) -> list[CriterionStability]:
    """Per criterion, the weight intervals within which the first place and the top-``k`` set
    stay as the service ranks them now."""
    ranked = order(proposals.overall_cents)
    first, top = ranked[:1], ranked[:top_k]
    found = []
    for j, name in enumerate(proposals.criteria):
        weight = float(proposals.weights[j])
        sides = [_lines(proposals.weights, proposals.scores, j, direction)
                 for direction in (-1, 1)]
        found.append(CriterionStability(
            name, weight,
            Interval(*(_bound(lines, first, weight, d) for lines, d in zip(sides, (-1, 1),
                                                                           strict=True))),
            Interval(*(_bound(lines, top, weight, d) for lines, d in zip(sides, (-1, 1),
                                                                         strict=True)))))
    return found


def _lines(weights: np.ndarray, scores: np.ndarray, j: int, direction: int) -> _Lines | None:
    """The scores (rows of ``scores``) as the weight of criterion ``j`` moves down (-1) or up
    (+1); None when it cannot move: all the weight is on it, the others have no proportions."""
    weight = float(weights[j])
    if weight >= 1:
        return None
    others = np.zeros(len(scores))
    for k in range(len(weights)):
        if k != j:
            others += weights[k] * scores[:, k]
    rest = others / (1 - weight)  # r_i
    slope = 100 * (scores[:, j] - rest)
    slope[np.abs(slope) < _FLAT] = 0.0
    start = 100 * (rest + (scores[:, j] - rest) * weight)
    return _Lines(start, direction * slope, weight if direction < 0 else 1 - weight)


def _bound(lines: _Lines | None, inside: np.ndarray, weight: float, direction: int) -> Bound:
    """Where moving ``direction`` first changes the set ``inside`` (positions ranked first)."""
    if lines is None or len(inside) == len(lines.start):
        return Bound(weight if lines is None else (0.0 if direction < 0 else 1.0))
    outside = np.setdiff1d(np.arange(len(lines.start)), inside)
    change = _first_change(lines, inside, outside)
    if change is None:
        return Bound(0.0 if direction < 0 else 1.0)
    moved = min(1.0, max(0.0, weight + direction * change))
    now = set(inside.tolist())
    after = _just_past(lines, change, len(inside))
    return Bound(moved, tuple(sorted(after - now)), tuple(sorted(now - after)))


def _first_change(lines: _Lines, inside: np.ndarray, outside: np.ndarray) -> float | None:
    """The smallest move after which some proposal outside ranks above one inside."""
    upper = np.repeat(inside, len(outside))
    lower = np.tile(outside, len(inside))
    gap = lines.start[lower] - lines.start[upper]  # lower minus upper, in cents
    closing = lines.slope[lower] - lines.slope[upper]
    # equal for every weight but the stated one, where float error in the service's sums may
    # have rounded one up and the other down: past it, upload order ranks them
    same_line = (np.abs(gap) <= _EPSILON) & (closing == 0)
    if np.any(same_line & (lower < upper)):
        return 0.0
    # a proposal cannot rank above another while its score is over a cent below
    with np.errstate(divide="ignore", invalid="ignore"):
        enter = np.where(gap >= -1 - _EPSILON, 0.0,
                         np.where(closing > 0, (-1 - _EPSILON - gap) / closing, np.inf))
    candidates = np.flatnonzero(~same_line & (enter <= lines.reach))
    best = math.inf
    for pair in candidates[np.argsort(enter[candidates], kind="stable")]:
        if enter[pair] >= best:
            break
        found = _overtakes(lines, int(upper[pair]), int(lower[pair]), float(enter[pair]),
                           float(gap[pair]), float(closing[pair]), min(best, lines.reach))
        if found is not None:
            best = found
    return None if best == math.inf else best


def _overtakes(lines: _Lines, upper: int, lower: int, enter: float, gap: float,
               closing: float, limit: float) -> float | None:
    """The first move in [enter, limit] after which ``lower`` ranks above ``upper``.

    Past the point where the lower line is a cent above the other it certainly ranks above;
    past the point where it falls back over a cent below it certainly cannot; in between,
    the two rounded scores only change at half-cent steps, so one test between each pair of
    consecutive steps decides each stretch.
    """
    if closing > 0:
        certain = (1 + _EPSILON - gap) / closing
        end = min(limit, certain)
    elif closing < 0:
        certain = math.inf
        end = min(limit, (-1 - _EPSILON - gap) / closing)
    else:
        certain, end = math.inf, limit
    if end < enter:
        return None
    points = np.sort(np.concatenate([[enter, end], _steps(lines, upper, enter, end),
                                     _steps(lines, lower, enter, end)]))
    points = points[np.concatenate([[True], np.diff(points) > _SAME_STEP])]
    if len(points) < 2:
        return None
    middles = (points[:-1] + points[1:]) / 2
    rows = np.array([lower, upper])
    scores = lines.at(middles[:, None], rows)
    above = beats(scores[:, 0], np.array(lower), scores[:, 1], np.array(upper))
    if above.any():
        return float(points[int(np.argmax(above))])
    return end if end == certain else None


def _steps(lines: _Lines, row: int, start: float, end: float) -> np.ndarray:
    """The moves in (start, end) at which the rounded score of ``row`` steps (half cents)."""
    slope = lines.slope[row]
    if slope == 0:
        return np.empty(0)
    a, b = sorted((lines.start[row] + slope * start, lines.start[row] + slope * end))
    halves = np.arange(math.ceil(a - 0.5), math.floor(b - 0.5) + 1) + 0.5
    moves = (halves - lines.start[row]) / slope
    return moves[(moves > start) & (moves < end)]


def _just_past(lines: _Lines, change: float, size: int) -> set[int]:
    """The first ``size`` positions just past ``change``, before any score steps again."""
    return set(order(_cents_past(lines, change))[:size].tolist())


def _cents_past(lines: _Lines, move: float, rows: np.ndarray | slice = slice(None)
                ) -> np.ndarray:
    """The rounded scores just past ``move``: a score on a half-cent step has taken it."""
    slope = lines.slope[rows]
    value = lines.start[rows] + slope * move + np.sign(slope) * _NUDGE
    return np.rint(value).astype(np.int64)


@dataclass(frozen=True)
class RatingInterval:
    criterion: str
    weight: float
    rating: str
    lower: float
    upper: float
    below: str | None  # the rating just under ``lower`` (None when lower is 0)
    above: str | None  # just over ``upper`` (None when upper is 1)


def rating_stability(ruleset: Ruleset, scores: Mapping[str, float]) -> list[RatingInterval]:
    """Per criterion, the weight interval (others rescaled in proportion) within which the
    rating of an evaluation with these criterion ``scores`` stays the same; at a bound the
    overall score is at the band's edge, rounded to two decimals as the service rounds it."""
    weights = np.array([c.weight for c in ruleset.criteria])
    values = np.array([[float(scores[c.name]) for c in ruleset.criteria]])
    overall = round(sum(c.weight * float(scores[c.name]) for c in ruleset.criteria), 2)
    band = ruleset.band_for(overall)
    higher = [b.min_score for b in ruleset.bands if b.min_score > band.min_score]
    floor_cents = math.ceil(band.min_score * 100 - _EPSILON)
    ceiling_cents = math.ceil(min(higher) * 100 - _EPSILON) if higher else None
    found = []
    for j, criterion in enumerate(ruleset.criteria):
        ends: list[tuple[float, str | None]] = []
        for direction in (-1, 1):
            lines = _lines(weights, values, j, direction)
            move = None if lines is None else _band_exit(lines, floor_cents, ceiling_cents)
            if lines is None:
                ends.append((criterion.weight, None))
            elif move is None or move > lines.reach:
                ends.append((0.0 if direction < 0 else 1.0, None))
            else:
                move = max(0.0, move)
                past = int(_cents_past(lines, move)[0])
                ends.append((min(1.0, max(0.0, criterion.weight + direction * move)),
                             ruleset.band_for(past / 100).rating))
        (lower, below), (upper, above) = ends
        found.append(RatingInterval(criterion.name, criterion.weight, band.rating, lower, upper,
                                    below, above))
    return found


def _band_exit(lines: _Lines, floor_cents: int, ceiling_cents: int | None) -> float | None:
    """The move at which the rounded score leaves [floor, ceiling) cents: it reaches the
    ceiling at half a cent below it, and falls under the floor at half a cent below that."""
    start, slope = float(lines.start[0]), float(lines.slope[0])
    if slope > 0 and ceiling_cents is not None:
        return (ceiling_cents - 0.5 - start) / slope
    if slope < 0:
        return (floor_cents - 0.5 - start) / slope
    return None
