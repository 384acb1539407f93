"""The vectorised ranking computes each overall score to the cent as the service does."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings

from service.robustness.ranking import cents, order, overall_cents
from tests.robustness.conftest import batches, service_ranking


def test_cents_round_as_python_rounds_every_half_cent() -> None:
    # 0.005, 0.015, … 100.005: the values whose last digit decides; as binary floats half of
    # them lie just under their half cent and half just over, and x * 100 may round either way
    values = np.arange(0, 100_001) / 1000
    expected = [round(round(float(v), 2) * 100) for v in values]
    assert cents(values).tolist() == expected


@settings(max_examples=200, deadline=None, derandomize=True)
@given(case=batches())
def test_the_stated_weights_give_the_services_scores_and_ranking(
        case: tuple[list[float], list[list[float]]]) -> None:
    weights, rows = case
    found = overall_cents(np.array(rows), np.array([weights]))[0]
    expected = [round(round(sum(w * s for w, s in zip(weights, row, strict=True)), 2) * 100)
                for row in rows]
    assert found.tolist() == expected
    assert order(found).tolist() == service_ranking(weights, rows)
