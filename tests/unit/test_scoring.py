"""Scores add up, explanations account for every point, and results are deterministic."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings

from service.engine import Engine, ProposalInvalid, parse_ruleset
from service.engine.authoring.ruletests import fired_ids
from tests.strategies import proposals
from tests.unit.conftest import MINI, shipped

FINDINGS = ("strengths", "weaknesses", "deficiencies")


def _check_arithmetic(result: dict[str, Any], engine: Engine) -> None:
    weights = {c.name: c.weight for c in engine.ruleset.criteria}
    total = 0.0
    for criterion in result["criteria"]:
        points = sum(f["points"] for kind in FINDINGS for f in criterion[kind])
        assert criterion["points"] == pytest.approx(points)
        assert criterion["raw_score"] == pytest.approx(criterion["baseline"] + points)
        assert criterion["score"] == min(100, max(0, criterion["raw_score"]))
        total += weights[criterion["criterion"]] * criterion["score"]
    assert result["overall_score"] == pytest.approx(total, abs=0.005)
    band = engine.ruleset.band_for(result["overall_score"])
    assert result["rating"] == band.rating


def test_tomahawk_scores_add_up_on_the_fixture(mini_engine: Engine,
                                               tomahawk: dict[str, Any]) -> None:
    result = mini_engine.evaluate(tomahawk)
    scores = {c["criterion"]: c["score"] for c in result["criteria"]}
    # interoperability: 50 + Link 16 (20) + IFF (10) + U.S. and 3 partners (15)
    # budget: 60 + 12.1% of envelope (25) + FMS (5) + not munitions (1)
    assert scores == {"interoperability": 95, "budget_fit": 91}
    assert result["overall_score"] == 93.0
    assert (result["rating"], result["recommendation"]) == ("outstanding", "recommend")
    _check_arithmetic(result, mini_engine)


def test_evidence_puts_observed_value_beside_threshold(mini_engine: Engine,
                                                       tomahawk: dict[str, Any]) -> None:
    result = mini_engine.evaluate(tomahawk)
    budget = next(c for c in result["criteria"] if c["criterion"] == "budget_fit")
    share = next(f for f in budget["strengths"] if f["rule_id"] == "B-SHARE")
    assert share["sentence"] == "It takes 12.1% of the remaining envelope."
    [evidence] = share["evidence"]
    assert evidence["field"] == "derived.share_of_remaining_envelope"
    assert evidence["observed"] == 0.1214  # 364.25e9 / 3e12, to 4 significant digits
    assert (evidence["op"], evidence["threshold"], evidence["holds"]) == ("lte", 0.2, True)
    assert evidence["text"] == ("Share of the remaining envelope is 12.1%; the rule asks that "
                                "it is at most 20% — met.")


def test_deficiency_caps_the_recommendation_whatever_the_score(
    mini_engine: Engine, tomahawk: dict[str, Any]
) -> None:
    over = copy.deepcopy(tomahawk)
    over["acquisition"]["total_cost"] = {"amount": 4e12, "currency": "JPY"}
    result = mini_engine.evaluate(over)
    # interoperability 95, budget 60 - 60 + 5 + 1 = 6: overall 50.5 is marginal, "defer"
    assert (result["overall_score"], result["band_recommendation"]) == (50.5, "defer")
    assert result["capped_by"] == ["B-OVER"]
    assert result["recommendation"] == "do_not_recommend"
    assert "caps the recommendation" in result["summary"]
    budget = next(c for c in result["criteria"] if c["criterion"] == "budget_fit")
    [deficiency] = budget["deficiencies"]
    assert deficiency["caps_at"] == "do_not_recommend"
    assert deficiency["evidence"][0]["threshold_field"] == "derived.envelope_remaining_jpy"
    _check_arithmetic(result, mini_engine)


def test_explain_full_lists_why_not_with_the_failed_atom(mini_engine: Engine,
                                                         tomahawk: dict[str, Any]) -> None:
    result = mini_engine.evaluate(tomahawk, explain="full")
    not_fired = {r["rule_id"]: r for r in result["not_fired"]}
    assert set(not_fired) | fired_ids(result) == {r.id for r in mini_engine.ruleset.rules}
    link = mini_engine.evaluate({**tomahawk, "capabilities": {"datalinks": ["link11"]}},
                                explain="full")
    why_not = {r["rule_id"]: r for r in link["not_fired"]}["I-LINK16"]
    assert why_not["sentence"] == "Tomahawk Block V has no Link 16 (datalinks: link11)."
    assert [(f["field"], f["op"], f["holds"]) for f in why_not["failed"]] == [
        ("capabilities.datalinks", "contains", False)]
    assert not_fired["B-NO-SUSTAIN"]["failed"][0]["observed"] == 40000000.0


def test_absent_optional_field_is_false_for_every_operator(mini_engine: Engine,
                                                           tomahawk: dict[str, Any]) -> None:
    bare = copy.deepcopy(tomahawk)
    del bare["acquisition"]["delivery_start_year"]
    del bare["acquisition"]["sustainment_cost_per_year"]
    fired = fired_ids(mini_engine.evaluate(bare))
    assert "B-NO-SUSTAIN" in fired  # `missing` is the way to test absence
    assert "B-LATE" not in fired  # derived.delivery_lead_years is absent: gt is false


def test_same_input_gives_the_same_bytes(mini_engine: Engine, tomahawk: dict[str, Any]) -> None:
    first = json.dumps(mini_engine.evaluate(tomahawk, "full"), sort_keys=True)
    reordered = json.loads(json.dumps(tomahawk, sort_keys=True))
    again = json.dumps(mini_engine.evaluate(reordered, "full"), sort_keys=True)
    assert first == again
    changed = mini_engine.evaluate({**tomahawk, "title": "other"})
    assert changed["decision_id"] != json.loads(first)["decision_id"]
    assert changed["input_hash"] != json.loads(first)["input_hash"]


def test_invalid_proposal_never_reaches_the_rules(mini_engine: Engine,
                                                  tomahawk: dict[str, Any]) -> None:
    bad = copy.deepcopy(tomahawk)
    bad["acquisition"]["quantity"] = "400"
    with pytest.raises(ProposalInvalid) as caught:
        mini_engine.evaluate(bad)
    assert "quantity" in caught.value.messages["acquisition"]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(proposal=proposals())
def test_points_add_up_on_generated_proposals(proposal: dict[str, Any]) -> None:
    engine = shipped()
    _check_arithmetic(engine.evaluate(proposal), engine)


def test_evaluate_many_equals_evaluate_and_keeps_invalid_items_in_place(
    mini_engine: Engine, tomahawk: dict[str, Any]
) -> None:
    bad = {**tomahawk, "fiscal_year": "2026"}
    other = {**tomahawk, "title": "other"}
    outcomes = mini_engine.evaluate_many([tomahawk, bad, other], "full")
    assert outcomes[0] == mini_engine.evaluate(tomahawk, "full")
    assert isinstance(outcomes[1], ProposalInvalid)
    assert "fiscal_year" in outcomes[1].messages
    assert outcomes[2] == mini_engine.evaluate(other, "full")


def test_a_comparison_with_an_absent_field_says_it_is_not_given(
    tomahawk: dict[str, Any]
) -> None:
    header = MINI.read_text().split("rules:")[0]
    ruleset = parse_ruleset(header + "rules:\n  - {id: R1, criterion: budget_fit, title: t, "
                            "points: 1, because: x, when: {field: derived.total_cost_jpy, "
                            "op: lt, value: {field: derived.sustainment_per_year_jpy}}}\n",
                            "inline", MINI.parent)
    bare = copy.deepcopy(tomahawk)
    del bare["acquisition"]["sustainment_cost_per_year"]
    [failed] = Engine(ruleset).evaluate(bare, "full")["not_fired"][0]["failed"]
    assert failed["threshold"] is None
    assert failed["text"].endswith("the rule asks that it is less than not given "
                                   "(Sustainment per year (JPY)) — not met.")


def test_numbers_are_reported_to_what_their_data_supports(tomahawk: dict[str, Any]) -> None:
    """Yen to the yen, dollars to the cent, ratios to 4 significant digits, and counts and
    years as integers: no ``366271000000.00006``, no ``2026.0``."""
    result = shipped("native").evaluate(tomahawk, "full")
    derived = result["derived"]
    assert derived["total_cost_jpy"] == 366_271_000_000
    assert type(derived["total_cost_jpy"]) is int
    assert derived["budget_fiscal_year"] == 2026 and type(derived["budget_fiscal_year"]) is int
    assert type(derived["partner_operator_count"]) is int
    assert derived["share_of_remaining_envelope"] == 0.1786
    years = [e for c in result["criteria"] for kind in ("strengths", "weaknesses")
             for f in c[kind] for e in f["evidence"] if e["field"].endswith("_year")]
    assert years and all(type(e["observed"]) is int for e in years)
