"""One analysis end to end, from a batch's summaries to its document, as a job will run it."""

from __future__ import annotations

import json

import pytest

from service.engine.language.model import Range, Uncertainty
from service.robustness.analysis import Plan, analyse, document
from service.robustness.proposals import ProposalsError, from_summaries
from tests.robustness.conftest import criteria_for, summary


def test_the_document_names_proposals_and_orders_them_as_an_analyst_reads_them() -> None:
    weights = [0.5, 0.3, 0.2]
    rows = [[50.0, 50.0, 50.0], [90.0, 80.0, 70.0], [80.0, 85.0, 75.0], [10.0, 20.0, 30.0]]
    summaries = [summary(i, row, weights, cost=5e10) for i, row in enumerate(rows)]
    proposals = from_summaries(reversed(summaries), criteria_for(weights))  # any order in
    declared = Uncertainty(weights={"c0": Range(0.3, 0.6)})
    plan = Plan(samples=1200, portfolio_samples=40, top_k=2, seed=5)
    found = document(analyse(proposals, declared, plan, budget=1e11))
    json.dumps(found)  # JSON-ready as it stands
    assert (found["samples"], found["top_k"], found["seed"]) == (1200, 2, 5)
    [c0, _, _] = found["weight_stability"]
    assert c0["criterion"] == "c0" and c0["weight"] == 0.5
    assert c0["first"]["lower"] <= 0.5 <= c0["first"]["upper"]
    ranked = [a["proposal_id"] for a in found["rank_acceptability"]]
    assert ranked[:2] == ["p1", "p2"] and ranked[-1] == "p3"
    assert found["rank_acceptability"][0]["central_weights"]["c0"] > 0
    portfolio = found["portfolio"]
    assert portfolio["samples"] == 40
    assert [p["proposal_id"] for p in portfolio["proposals"][:2]] == ["p1", "p2"]
    assert portfolio["proposals"][-1]["status"] == "exterior"


def test_a_plan_shares_portfolio_samples_into_runs() -> None:
    plan = Plan(samples=2500, portfolio_samples=10)
    assert plan.rank_blocks() == [(0, 1000), (1, 1000), (2, 500)]
    assert plan.portfolio_chunks(3) == [range(0, 4), range(4, 8), range(8, 10)]
    assert Plan(portfolio_samples=0).portfolio_chunks(2) == []
    with pytest.raises(ValueError):
        Plan(samples=0)


def test_summaries_of_another_ruleset_are_refused_by_item() -> None:
    with pytest.raises(ProposalsError, match="item 3 has no score for c2"):
        from_summaries([summary(3, [1.0, 2.0], [0.5, 0.5])], criteria_for([0.5, 0.3, 0.2]))
