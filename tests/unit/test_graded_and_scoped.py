"""Graded rules read their points off a scale, scoped rules apply only to the categories and
paths they name, and results say what they take on trust."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from marshmallow import ValidationError

from schemas.proposal import ProposalSchema
from service.cli.main import main
from service.engine import Engine, ProposalInvalid, RulesetError, load_ruleset, ruleset_changes
from service.engine.language.model import Scale
from tests.unit.conftest import MINI, ROOT, load_json

SHIPPED_CONTEXT = ROOT / "rules" / "context" / "japan-fy2026.yaml"
HEADER = MINI.read_text().split("rules:")[0].replace(
    "context: context.yaml", f"context: {SHIPPED_CONTEXT}")
GRADED = """  - id: COST
    criterion: budget_fit
    title: Share of the annual budget
    scale:
      field: derived.share_of_annual_budget
      breakpoints: [[0.01, 15], [0.05, 5], [0.2, -10]]
    because: "{system.name} costs {derived.share_of_annual_budget:.1%} of the budget."
"""
SCOPED = """  - group: Platforms only
    scope: {except_categories: [support_services, platform_sustainment]}
    rules:
      - id: LINK16
        criterion: interoperability
        title: Link 16
        when: {field: capabilities.datalinks, op: contains, value: link16}
        points: 10
        because: "{system.name} carries Link 16."
      - id: FMS-LINK16
        criterion: interoperability
        title: Link 16 bought through FMS
        scope: {paths: [fms]}
        when: {field: capabilities.datalinks, op: contains, value: link16}
        points: 5
        because: "{system.name} is an FMS buy with Link 16."
"""


def _engine(tmp_path: Path, rules: str) -> Engine:
    path = tmp_path / "ruleset.yaml"
    path.write_text(HEADER + "rules:\n" + rules)
    return Engine.from_path(path)


def _e2d(**changes: Any) -> dict[str, Any]:
    proposal: dict[str, Any] = load_json(ROOT / "examples" / "e2d-2023.json")
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = proposal
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return proposal


def _finding(result: dict[str, Any], rule: str) -> dict[str, Any] | None:
    return next((f for c in result["criteria"] for kind in ("strengths", "weaknesses")
                 for f in c[kind] if f["rule_id"] == rule), None)


# --- scales --------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "points"), [
    (0.0, 15.0), (0.01, 15.0), (0.03, 10.0), (0.05, 5.0), (0.125, -2.5), (0.2, -10.0),
    (7.0, -10.0),
])
def test_a_scale_interpolates_between_breakpoints_and_is_level_beyond(value: float,
                                                                      points: float) -> None:
    scale = Scale("derived.share_of_annual_budget", ((0.01, 15), (0.05, 5), (0.2, -10)))
    assert scale.points_at(value) == points


def test_a_graded_finding_names_the_value_the_scale_and_the_points(tmp_path: Path) -> None:
    engine = _engine(tmp_path, GRADED)
    # ¥198.88 billion of FY2026's ¥9.04 trillion is 2.2%: 15 - 10 × (2.2 - 1) / 4 = 12
    result = engine.evaluate(_e2d(acquisition__total_cost={"amount": 198.88e9,
                                                           "currency": "JPY"}))
    finding = _finding(result, "COST")
    assert finding is not None
    assert finding["points"] == 12
    assert finding["scale"]["observed"] == pytest.approx(0.022)
    assert finding["scale"]["text"] == (
        "Share of the annual defense budget is 2.2%; on the scale 1% → +15, 5% → +5, "
        "20% → -10 (level beyond its ends) that gives +12 points.")
    budget = next(c for c in result["criteria"] if c["criterion"] == "budget_fit")
    assert budget["points"] == 12 and budget["score"] == 72  # the baseline is 60


def test_a_graded_penalty_is_a_weakness_and_no_criterion_jumps(tmp_path: Path) -> None:
    engine = _engine(tmp_path, GRADED)
    scores = []
    for amount in (0.1999e12 * 9.04, 0.2e12 * 9.04, 0.2001e12 * 9.04):
        result = engine.evaluate(_e2d(acquisition__total_cost={"amount": amount,
                                                               "currency": "JPY"}))
        budget = next(c for c in result["criteria"] if c["criterion"] == "budget_fit")
        assert [f["rule_id"] for f in budget["weaknesses"]] == ["COST"]
        scores.append(budget["score"])
    assert scores == [50.01, 50.0, 50.0]  # 60 - 9.99, then the scale's level end, -10


def test_a_graded_rule_does_not_fire_without_its_field(tmp_path: Path) -> None:
    engine = _engine(tmp_path, """  - id: SUSTAIN
    criterion: budget_fit
    title: Sustainment share
    when: {field: system.category, op: ne, value: munitions}
    scale:
      field: derived.sustainment_share_of_annual_budget
      breakpoints: [[0.001, 0], [0.02, -10]]
    because: x
""")
    proposal = _e2d()
    del proposal["acquisition"]["sustainment_cost_per_year"]
    result = engine.evaluate(proposal, "full")
    assert _finding(result, "SUSTAIN") is None
    [missed] = result["not_fired"]
    assert missed["points"] == 0.0
    assert [e["op"] for e in missed["failed"]] == ["exists"]


@pytest.mark.parametrize(("rule", "message"), [
    ("    points: 5\n    scale: {field: acquisition.quantity, breakpoints: [[1, 0], [9, 5]]}\n",
     "fixed points or reads them off a scale, not both"),
    ("    scale: {field: system.name, breakpoints: [[1, 0], [9, 5]]}\n",
     "a scale reads a number; system.name is a string"),
    ("    scale: {field: acquisition.quantity, breakpoints: [[9, 0], [1, 5]]}\n",
     "breakpoint values must increase strictly"),
    ("    scale: {field: acquisition.quantity, breakpoints: [[1, 0]]}\n",
     "'breakpoints' is a list of 2 to 20"),
    ("    scale: {field: acquisition.quantity, breakpoints: [[1, 0], [2, 500]]}\n",
     "points must be between -100 and 100"),
    ("    scale: {field: acquisition.quantity, breakpoints: [[1, 0], [2, 0]]}\n",
     "0 everywhere never moves the score"),
])
def test_scale_errors_are_reported_at_the_rule(tmp_path: Path, rule: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(HEADER + "rules:\n  - id: BAD\n    criterion: budget_fit\n    title: t\n"
                    "    because: x\n" + rule)
    with pytest.raises(RulesetError) as caught:
        load_ruleset(path)
    assert any(message in p.message and p.rule_id == "BAD" for p in caught.value.problems), \
        caught.value.problems


# --- scopes --------------------------------------------------------------------------------


def test_out_of_scope_rules_are_not_applicable_never_failed(tmp_path: Path) -> None:
    engine = _engine(tmp_path, SCOPED)
    support = engine.evaluate(_e2d(system__category="support_services"), "full")
    assert _finding(support, "LINK16") is None
    assert support["not_fired"] == []
    assert [r["rule_id"] for r in support["not_applicable"]] == ["LINK16", "FMS-LINK16"]
    assert support["not_applicable"][0]["text"] == (
        "Applies to any system other than a support service or a fleet sustainment contract; "
        "this is a support service bought through Foreign Military Sales.")
    interoperability = support["criteria"][0]
    assert interoperability["points"] == 0 and interoperability["score"] == 50


def test_a_rule_scope_narrows_its_group_scope(tmp_path: Path) -> None:
    engine = _engine(tmp_path, SCOPED)
    fms = engine.evaluate(_e2d(), "full")
    assert _finding(fms, "LINK16") and _finding(fms, "FMS-LINK16")
    dcs = engine.evaluate(_e2d(acquisition__path="dcs"), "full")
    assert _finding(dcs, "LINK16") and not _finding(dcs, "FMS-LINK16")
    [excluded] = dcs["not_applicable"]
    assert excluded["scope"] == ("categories other than support_services, "
                                 "platform_sustainment; paths fms")


@pytest.mark.parametrize(("scope", "message", "hint"), [
    ("{categories: [fighter]}", "'fighter' is not one of the categories",
     "did you mean 'fighter_aircraft'?"),
    ("{categories: [cyber], except_categories: [space]}",
     "give categories or except_categories, not both", ""),
    ("{paths: []}", "'paths' must be a non-empty list", ""),
    ("{region: [asia]}", "unknown key 'region' in a scope", ""),
])
def test_scope_errors_name_the_rule_and_suggest(tmp_path: Path, scope: str, message: str,
                                                hint: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(HEADER + "rules:\n  - id: BAD\n    criterion: budget_fit\n    title: t\n"
                    "    when: {field: acquisition.path, op: eq, value: fms}\n    points: 1\n"
                    f"    because: x\n    scope: {scope}\n")
    with pytest.raises(RulesetError) as caught:
        load_ruleset(path)
    [problem] = [p for p in caught.value.problems if message in p.message]
    assert problem.rule_id == "BAD" and hint in problem.hint


def test_an_acknowledgment_names_a_check_and_gives_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(HEADER + "rules:\n" + GRADED + "acknowledged:\n"
                    "  - {check: monotony, rules: [COST], reason: typo}\n"
                    "  - {check: cliff, rules: [COST]}\n"
                    "  - {check: cliff, rules: [], reason: none named}\n")
    with pytest.raises(RulesetError) as caught:
        load_ruleset(path)
    messages = [(p.line, p.message) for p in caught.value.problems]
    start = path.read_text().splitlines().index("acknowledged:") + 1
    assert any(line == start + 1 and "'check' must be one of" in m for line, m in messages)
    assert any(line == start + 2 and "'reason' is required" in m for line, m in messages)
    assert any(line == start + 3 and "non-empty list of names" in m for line, m in messages)


def test_an_acknowledgment_of_a_rule_that_is_gone_is_a_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Removing a rule does not break the ruleset's loading; `rules check` says which
    acknowledgment still names it."""
    path = tmp_path / "gone.yaml"
    path.write_text(HEADER + "rules:\n" + GRADED + "acknowledged:\n"
                    "  - {check: overlap, rules: [CST], reason: a typo or a removed rule}\n")
    load_ruleset(path)
    assert main(["rules", "check", str(path)]) == 0
    assert main(["rules", "check", "--strict", str(path)]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert ("warning: acknowledged overlap names 'CST', which is nowhere in the ruleset "
            "(hint: did you mean 'COST'?)") in out


# --- the registry and the claims -----------------------------------------------------------


def test_the_registry_matches_exact_names_never_parts_of_names() -> None:
    context = load_ruleset(ROOT / "rules" / "japan-fy2026.yaml").context
    entry = context.partner_system
    assert entry("sm-3 blk IIA") and entry("sm-3 blk IIA").system == "SM-3 Block IIA"  # type: ignore[union-attr]
    assert entry("SM 3") and entry("SM 3").system == "SM-3"  # type: ignore[union-attr]
    for name in ("Aegis System Equipped Vessel", "ASM-3", "Tomahawk derivative", "SM3"):
        assert entry(name) is None, name


def test_an_unmatched_system_and_implausible_claims_are_said_so() -> None:
    engine = Engine.from_path(ROOT / "rules" / "japan-fy2026.yaml", mode="native")
    proposal = _e2d(system__name="V-22 sustainment contract",
                    system__category="platform_sustainment",
                    acquisition__capability_area="command_control_intelligence",
                    threats_addressed=["amphibious_invasion", "air"])
    result = engine.evaluate(proposal)
    said = {(a["kind"], a["field"]): a["text"] for a in result["assumptions"]}
    assert said[("unmatched", "system.name")].startswith(
        "'V-22 sustainment contract' is not in the partner registry")
    assert said[("unsupported", "threats_addressed")] == (
        "The context does not list hostile aircraft and an amphibious invasion among the "
        "threats a fleet sustainment contract can address.")
    assert ("unsupported", "acquisition.capability_area") in said
    assert ("default", "derived.envelope_remaining_jpy") in said  # nothing known committed
    derived = result["derived"]
    assert derived["unsupported_threats"] == ["air", "amphibious_invasion"]  # vocabulary order
    assert derived["supported_priority_threat_count"] == 0
    assert derived["priority_threat_count"] == 2  # the claim itself, as 2026.1.0 reads it
    assert derived["registry_system"] == "unlisted"


def test_a_category_the_context_does_not_describe_is_taken_at_its_word(tmp_path: Path) -> None:
    engine = Engine.from_path(MINI, mode="native")  # the mini context describes none
    result = engine.evaluate(_e2d())
    [unverified] = [a for a in result["assumptions"] if a["kind"] == "unverified"]
    assert unverified["field"] == "system.category"
    assert "capability_area_supported" not in result["derived"]
    assert result["derived"]["supported_threat_weight_sum"] == (
        result["derived"]["threat_weight_sum"])


def test_a_registry_name_may_denote_one_entry_only(tmp_path: Path) -> None:
    context = SHIPPED_CONTEXT.read_text().replace(
        "aliases: [JASSM, AGM-158B]", "aliases: [JASSM, AGM-158B, e-2d advanced hawkeye]")
    (tmp_path / "context.yaml").write_text(context)
    path = tmp_path / "ruleset.yaml"
    path.write_text(HEADER.replace(str(SHIPPED_CONTEXT), "context.yaml") + "rules:\n" + GRADED)
    with pytest.raises(RulesetError) as caught:
        load_ruleset(path)
    [problem] = caught.value.problems
    assert problem.file.endswith("context.yaml")
    assert "the name 'e 2d advanced hawkeye' denotes both 'E-2D' and 'JASSM-ER'" in (
        problem.message)


# --- cost over time ------------------------------------------------------------------------


def test_a_phasing_gives_each_year_its_share_and_the_peak_to_rules() -> None:
    engine = Engine.from_path(ROOT / "rules" / "japan-fy2026.yaml", mode="native")
    proposal = _e2d(acquisition__total_cost={"amount": 900e9, "currency": "JPY"},
                    acquisition__service_life_years=25,
                    acquisition__phasing=[
                        {"fiscal_year": 2026, "amount": 300e9, "currency": "JPY"},
                        {"fiscal_year": 2025, "amount": 600e9, "currency": "JPY"}])
    result = engine.evaluate(proposal)
    assert [(r["fiscal_year"], r["budget_fiscal_year"]) for r in result["cost_by_year"]] == [
        (2025, 2025), (2026, 2026)]
    shares = [r["share_of_annual_budget"] for r in result["cost_by_year"]]
    assert shares == pytest.approx([600e9 / 8.7e12, 300e9 / 9.04e12])
    derived = result["derived"]
    assert derived["peak_year_share_of_annual_budget"] == 0.06897  # 600e9 / 8.7e12, 4 digits
    assert derived["peak_fiscal_year"] == 2025
    assert derived["share_of_annual_budget"] == 0.09956  # 900e9 / 9.04e12, as before
    sustainment = 60e6 * 155.86  # the E-2D example's USD 60 million a year, at FY2026's rate
    assert derived["life_cycle_cost_jpy"] == pytest.approx(900e9 + 25 * sustainment)
    assert not any(a["field"] == "derived.service_life_years" for a in result["assumptions"])


def test_without_phasing_the_whole_cost_is_in_the_fiscal_year_and_said_so() -> None:
    engine = Engine.from_path(ROOT / "rules" / "japan-fy2026.yaml", mode="native")
    result = engine.evaluate(_e2d())
    derived = result["derived"]
    assert derived["peak_year_share_of_annual_budget"] == derived["share_of_annual_budget"]
    assert "cost_by_year" not in result
    texts = {a["field"]: a["text"] for a in result["assumptions"]}
    assert texts["derived.peak_year_share_of_annual_budget"] == (
        "No phasing by fiscal year is given, so the whole cost is counted in FY2026.")
    assert texts["derived.service_life_years"] == (
        "No service life is given: the context's 30 years for an airborne early-warning "
        "aircraft are used.")


@pytest.mark.parametrize(("phasing", "message"), [
    ([{"fiscal_year": 2026, "amount": 1e9, "currency": "USD"}], "not to the total cost"),
    ([{"fiscal_year": 2026, "amount": 1381e6, "currency": "JPY"}], "in its own currency (USD)"),
    ([{"fiscal_year": 2026, "amount": 690.5e6, "currency": "USD"}] * 2, "appears once"),
])
def test_a_phasing_that_does_not_add_up_is_refused_by_field(phasing: list[dict[str, Any]],
                                                            message: str) -> None:
    proposal = _e2d(acquisition__phasing=phasing)
    with pytest.raises(ValidationError) as caught:
        ProposalSchema().load(proposal)
    assert message in caught.value.messages["acquisition"]["phasing"][0]  # type: ignore[index]
    engine = Engine.from_path(MINI, mode="native")
    with pytest.raises(ProposalInvalid):
        engine.evaluate(proposal)


def test_a_changed_scale_or_scope_is_a_changed_rule(tmp_path: Path) -> None:
    old = _engine(tmp_path, GRADED + SCOPED).ruleset
    (tmp_path / "new").mkdir()
    new = _engine(tmp_path / "new", GRADED.replace("[0.2, -10]", "[0.25, -10]")
                  + SCOPED.replace("scope: {paths: [fms]}", "scope: {paths: [fms, dcs]}")
                  ).ruleset
    changes = {c.id: {p.part: (p.old, p.new) for p in c.parts}
               for c in ruleset_changes(old, new).changed}
    assert changes["COST"]["scale"][1]["breakpoints"][-1] == [0.25, -10.0]
    assert changes["FMS-LINK16"]["scope"] == (
        "categories other than support_services, platform_sustainment; paths fms",
        "categories other than support_services, platform_sustainment; paths fms, dcs")
    assert set(changes) == {"COST", "FMS-LINK16"}
