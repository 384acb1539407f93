"""How far each weight can move before an evaluation's rating changes: exact, not sampled.

Move criterion ``j``'s weight from its stated value ``w`` to ``t`` and rescale the others in
proportion, so that they keep summing to 1 (each becomes ``w_k × (1 − t) / (1 − w)``). The
overall score is then a line in ``t``:

    x(t) = t × s_j + (1 − t) × r,   r = Σ_{k≠j} w_k s_k / (1 − w)

and the rating (the band of the overall score rounded to two decimals) holds until the line
reaches the next band's edge, half a cent before it as rounding goes. Weights and scores are
taken as the decimals they are written as (0.3 is 3/10) and the line is solved in rational
arithmetic: floats would put a bound ~1e-16 off an edge that two decimals meet exactly.

The batch's robustness analysis asks the same question of a whole ranking and reuses these
lines (``weight_line``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from service.engine.evaluation.scoring import CriterionScore
from service.engine.language.model import Ruleset

_HALF = Fraction(1, 2)


def decimal(value: float) -> Fraction:
    """A weight or score as the decimal it was written as: repr gives the shortest decimal
    that reads back as the same float."""
    return Fraction(repr(float(value)))


def weight_line(weights: Sequence[Fraction], scores: Sequence[Fraction], j: int,
                direction: int) -> tuple[Fraction, Fraction]:
    """``(start, slope)``: the overall score in cents as criterion ``j``'s weight moves
    ``direction`` (-1 down, +1 up) by ``d``, the others rescaled, is ``start + slope × d``.
    Needs ``weights[j] < 1`` (with all the weight on one criterion there is nothing to
    rescale)."""
    rest = sum((weights[k] * scores[k] for k in range(len(weights)) if k != j),
               Fraction(0)) / (1 - weights[j])
    return 100 * (rest + (scores[j] - rest) * weights[j]), direction * 100 * (scores[j] - rest)


def rating_stability(ruleset: Ruleset, scores: Sequence[CriterionScore]) -> list[dict[str, Any]]:
    """Per criterion (in the ruleset's order), the weight interval within which the rating of
    an evaluation with these criterion ``scores`` stays the same: ``lower`` and ``upper``
    (0 or 1 when it holds all the way), and the rating just past each (``below``, ``above``;
    None at 0 or 1)."""
    weights = [decimal(s.criterion.weight) for s in scores]
    values = [decimal(s.score) for s in scores]
    band = ruleset.band_for(round(sum(s.weighted for s in scores), 2))
    # the band holds while the score in cents is in [floor, ceiling)
    floor = math.ceil(decimal(band.min_score) * 100)
    higher = [b.min_score for b in ruleset.bands if b.min_score > band.min_score]
    ceiling = math.ceil(decimal(min(higher)) * 100) if higher else None
    found = []
    for j, score in enumerate(scores):
        (lower, below), (upper, above) = (
            _band_end(ruleset, weights, values, j, direction, floor, ceiling)
            for direction in (-1, 1))
        found.append({"criterion": score.criterion.name, "weight": score.criterion.weight,
                      "lower": lower, "upper": upper, "below": below, "above": above})
    return found


def _band_end(ruleset: Ruleset, weights: Sequence[Fraction], values: Sequence[Fraction],
              j: int, direction: int, floor: int, ceiling: int | None
              ) -> tuple[float, str | None]:
    """The weight at which moving ``direction`` takes the score out of [floor, ceiling)
    cents (it reaches the ceiling at half a cent below it, falls under the floor at half a
    cent below that), and the rating past it."""
    weight = weights[j]
    if weight == 1:
        return 1.0, None
    start, slope = weight_line(weights, values, j, direction)
    reach = weight if direction < 0 else 1 - weight
    if slope > 0 and ceiling is not None:
        move, past = (ceiling - _HALF - start) / slope, ceiling
    elif slope < 0:
        move, past = (floor - _HALF - start) / slope, floor - 1
    else:
        return (0.0 if direction < 0 else 1.0), None
    if move > reach:
        return (0.0 if direction < 0 else 1.0), None
    return float(weight + direction * max(Fraction(0), move)), ruleset.band_for(past / 100).rating
