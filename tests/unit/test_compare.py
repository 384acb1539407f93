"""Results side by side: every pair's rule differences and ``other`` add up to the score
difference, ranks share ties, and a what-if of nothing is all zeros (on both shipped
versions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.synthetic import batch
from service.engine import comparison, what_if_diff
from service.engine.whatif.compare import ranks
from tests.unit.conftest import VERSIONS, shipped


@pytest.mark.parametrize("version", VERSIONS, ids=lambda p: p.stem)
def test_every_pairs_differences_add_up_to_its_score_difference(version: Path) -> None:
    engine = shipped("native", version)
    results = [engine.evaluate(p) for p, _ in batch(60, seed=4)]
    for group in (results[start:start + 20] for start in range(0, len(results), 20)):
        answer = comparison(list(group), [None] * len(group))
        assert len(answer["pairs"]) == len(group) * (len(group) - 1) // 2
        for pair in answer["pairs"]:
            a, b = group[pair["a"]], group[pair["b"]]
            assert pair["score_difference"] == round(a["overall_score"] - b["overall_score"], 2)
            total = sum(d["points"] for d in pair["differences"]) + pair["other"]
            assert abs(total - pair["score_difference"]) < 1e-6
            assert all(d["points"] != 0 for d in pair["differences"])


def test_ranks_share_ties() -> None:
    assert ranks([50.0, 70.0, 50.0, 10.0]) == [2, 1, 2, 4]


@pytest.mark.parametrize("version", VERSIONS, ids=lambda p: p.stem)
def test_a_what_if_of_nothing_is_all_zeros(version: Path) -> None:
    engine = shipped("native", version)
    [result] = [engine.evaluate(p) for p, _ in batch(1, seed=9)]
    diff = what_if_diff(result, result)
    assert diff["overall"]["delta"] == 0 and all(c["delta"] == 0 for c in diff["criteria"])
    assert diff["rules_gained"] == diff["rules_lost"] == diff["rules_changed"] == []
    assert not diff["rating"]["changed"] and not diff["recommendation"]["changed"]
