"""Portfolio documents: within budget, deficient proposals out, a reason for every exclusion."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from service.batch.portfolio import build, funded


def summary(index: int, score: float, cost: float, area: str = "stand_off_defense",
            deficiencies: tuple[str, ...] = (), envelope: float = 1e12) -> dict[str, Any]:
    return {"index": index, "line": index + 2, "proposal_id": f"p{index}",
            "title": f"P{index}", "overall_score": score, "total_cost_jpy": cost,
            "total_cost_usd": cost / 150, "capability_area": area,
            "envelope_remaining_jpy": envelope, "deficiencies": list(deficiencies)}


def test_every_proposal_is_chosen_or_excluded_with_its_reason() -> None:
    summaries = [
        summary(0, 90.0, 4e11),
        summary(1, 80.0, 5e11),
        summary(2, 95.0, 1e10, deficiencies=("I-NO-DATALINK",)),
        summary(3, 99.0, 2e12),  # more than the budget alone
        summary(4, 10.0, 5e11),  # poor value for money
        summary(5, 70.0, 5e11),
    ]
    failures = [{"index": 6, "line": 8, "status": "invalid", "proposal_id": "p6",
                 "errors": []}]

    doc = build(summaries, failures, 1e12, "JPY")

    chosen = {e["index"] for e in doc["chosen"]}
    reasons = {e["index"]: e["reason"] for e in doc["excluded"]}
    assert chosen == {0, 1}
    assert reasons == {2: "deficiency", 3: "over_budget", 4: "lower_value_per_cost",
                       5: "lower_value_per_cost", 6: "invalid"}
    assert doc["spent"] <= doc["budget"] == 1e12
    assert doc["exact"] and doc["total_score"] == 170.0 == doc["upper_bound"]
    assert all(e["detail"] for e in doc["excluded"])


def test_crowded_out_when_value_per_yen_is_not_the_reason() -> None:
    # 0 is the best value per yen, but with it nothing else fits; 1 + 2 score more together
    summaries = [summary(0, 70.0, 6e11), summary(1, 50.0, 5e11), summary(2, 50.0, 5e11)]
    doc = build(summaries, [], 1e12, "JPY")

    assert {e["index"] for e in doc["chosen"]} == {1, 2}
    assert [(e["index"], e["reason"]) for e in doc["excluded"]] == [(0, "crowded_out")]
    assert "optimal" in doc["excluded"][0]["detail"]


def test_default_budget_is_each_area_envelope() -> None:
    summaries = [summary(0, 90.0, 6e11, envelope=1e12), summary(1, 80.0, 6e11, envelope=1e12),
                 summary(2, 50.0, 3e11, area="unmanned_assets", envelope=2e11)]
    doc = build(summaries, [], None, "JPY")

    assert doc["budget_basis"] == "capability_area_envelopes"
    assert {g["name"]: g["budget"] for g in doc["groups"]} == {
        "stand_off_defense": 1e12, "unmanned_assets": 2e11}
    assert [e["index"] for e in doc["chosen"]] == [0]
    assert {e["index"]: e["reason"] for e in doc["excluded"]} == {1: "lower_value_per_cost",
                                                                  2: "over_budget"}


def test_optimal_against_brute_force_in_usd() -> None:
    summaries = [summary(i, s, c) for i, (s, c) in enumerate(
        [(71.3, 3.1e11), (64.0, 2.2e11), (88.8, 5.5e11), (45.5, 1.0e11), (59.9, 2.9e11),
         (77.7, 4.0e11), (30.1, 0.5e11)])]
    budget = 8.0e11 / 150
    doc = build(summaries, [], budget, "USD")

    best = max(sum(s["overall_score"] for s in subset)
               for size in range(len(summaries) + 1)
               for subset in itertools.combinations(summaries, size)
               if sum(s["total_cost_usd"] for s in subset) <= budget)
    assert doc["total_score"] == round(best, 2)
    assert sum(e["cost"] for e in doc["chosen"]) <= budget


def test_max_shortfall_is_below_one_proposal_per_budget() -> None:
    """A search stopped early: the shortfall bound holds per group (one budget, or one
    capability area's envelope) and the document's is their sum, as the README says."""
    rng = random.Random(5)
    areas = ("stand_off_defense", "unmanned_assets", "integrated_air_missile_defense")
    summaries = [summary(i, round(rng.uniform(40, 99), 2), rng.uniform(1e10, 3e11),
                         area=areas[i % 3], envelope=1e12) for i in range(60)]

    stopped = build(summaries, [], None, "JPY", node_limit=1)
    optimum = build(summaries, [], None, "JPY")

    assert not stopped["exact"] and optimum["exact"] and optimum["max_shortfall"] == 0
    assert stopped["total_score"] <= optimum["total_score"] <= stopped["upper_bound"]
    for group in stopped["groups"]:
        best_in_group = max(s["overall_score"] for s in summaries
                            if s["capability_area"] == group["name"])
        assert 0 < group["max_shortfall"] < best_in_group
    assert stopped["max_shortfall"] == pytest.approx(
        sum(g["max_shortfall"] for g in stopped["groups"]))
    assert stopped["upper_bound"] - stopped["total_score"] == pytest.approx(
        stopped["max_shortfall"])


def test_funded_is_the_choice_build_makes() -> None:
    """What the robustness analysis asks hundreds of times: the same funded set and the same
    proof, for a budget in either currency and for the envelopes, node limit included."""
    rng = random.Random(5)
    areas = ("stand_off_defense", "unmanned_assets", "research_development")
    summaries = [summary(i, round(rng.uniform(20, 95), 2), rng.choice([1e9, 3e10, 2e11, 7e11]),
                         area=rng.choice(areas), envelope=rng.choice([5e11, 9e11]),
                         deficiencies=("D-1",) if rng.random() < 0.3 else ())
                 for i in range(120)]
    rng.shuffle(summaries)
    for budget, currency, node_limit in ((1e12, "JPY", 100_000), (5e9, "USD", 100_000),
                                         (None, "JPY", 100_000), (2e12, "JPY", 50)):
        doc = build(summaries, [], budget, currency, node_limit)  # type: ignore[arg-type]
        chosen, exact = funded(summaries, budget, currency, node_limit)  # type: ignore[arg-type]
        assert chosen == {e["index"] for e in doc["chosen"]}, (budget, currency)
        assert exact == doc["exact"], (budget, currency, node_limit)
    assert not funded(summaries, 2e12, "JPY", 50)[1]  # the limit cut one search short


@pytest.mark.parametrize("currency", ["JPY", "USD"])
def test_amounts_read_as_a_person_writes_them(currency: str) -> None:
    """Whole yen as integers, dollars to the cent: no 43348055019.840004."""
    rng = random.Random(8)
    summaries = [summary(i, rng.uniform(40, 95), rng.uniform(1e9, 3e11) + 0.37)
                 for i in range(30)]
    doc = build(summaries, [], 2.5e12, currency)  # type: ignore[arg-type]
    amounts = [doc["spent"], *(g[key] for g in doc["groups"] for key in ("spent", "remaining"))]
    for amount in amounts:
        if currency == "JPY":
            assert type(amount) is int
        else:
            assert amount == round(amount, 2)
