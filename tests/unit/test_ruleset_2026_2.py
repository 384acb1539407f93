"""Ruleset 2026.2.0 (issue 15) as an analyst would try it: published beside 2026.1.0, both
load; `rules check` passes with nothing acknowledged; Japan's own counterstrike and air and
missile defense programmes are not capped for lacking foreign operators; a support contract
never scores higher on interoperability than the platform it supports; the new examples of the
non-FMS paths and categories each have rule tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from schemas.vocabulary import (
    ACQUISITION_PATHS,
    DATALINKS,
    IFF_MODES,
    STANDARDS,
    SYSTEM_CATEGORIES,
)
from service.cli.main import main
from service.cli.output import change, score, words
from service.engine import Engine, check_defensible, load_ruleset
from service.engine.authoring.impact import impact
from service.engine.authoring.ruletests import run_test_file
from service.engine.language.model import Ruleset
from tests.unit.conftest import ROOT

PREVIOUS = ROOT / "rules" / "japan-fy2026.yaml"
CURRENT = ROOT / "rules" / "japan-fy2026-2.yaml"
TESTS = ROOT / "rules" / "tests" / "japan-fy2026-2.test.yaml"
PORTFOLIO = sorted((ROOT / "examples" / "portfolio").glob("*.json"))
SUPPORT = ("support_services", "platform_sustainment", "aerial_target")
# each support contract among the examples, and the platform it supports
SUPPORTED = {"e2d-sustainment-2026": "e2d-2023", "v22-sustainment-2026": "v22-2015",
             "aegis-support-2024": "asev-2026"}


@pytest.fixture(scope="module")
def ruleset() -> Ruleset:
    return load_ruleset(CURRENT)


@pytest.fixture(scope="module")
def engine(ruleset: Ruleset) -> Engine:
    return Engine(ruleset, "native")


def _example(stem: str) -> dict[str, Any]:
    found = [*ROOT.glob(f"examples/{stem}.json"), *ROOT.glob(f"examples/portfolio/{stem}.json")]
    loaded: dict[str, Any] = json.loads(found[0].read_text())
    return loaded


def _scores(result: dict[str, Any]) -> dict[str, float]:
    return {c["criterion"]: c["score"] for c in result["criteria"]}


def test_both_versions_load_under_one_name() -> None:
    previous, current = load_ruleset(PREVIOUS), load_ruleset(CURRENT)
    assert (previous.name, previous.version) == ("japan-fy2026", "2026.1.0")
    assert (current.name, current.version) == ("japan-fy2026", "2026.2.0")
    assert previous.content_hash != current.content_hash


def test_rules_check_passes_with_nothing_acknowledged(ruleset: Ruleset) -> None:
    report = check_defensible(ruleset)
    assert ruleset.acknowledged == ()
    assert report.findings == () and report.unused == () and report.cut_short == ()


def test_every_weight_has_a_rationale_and_the_weights_sum_to_one(ruleset: Ruleset) -> None:
    assert abs(sum(c.weight for c in ruleset.criteria) - 1) < 1e-9
    assert all(len(c.rationale) > 200 for c in ruleset.criteria)


def test_every_rule_cites_a_reference_file_the_repository_holds(ruleset: Ruleset) -> None:
    held = {p.name for p in (ROOT / "rules" / "reference").iterdir()}
    for rule in ruleset.rules:
        cited = {word.strip(".,;:()\"'").removeprefix("reference/")
                 for word in rule.description.split() if word.startswith("reference/")}
        assert cited and cited <= held, rule.id


def test_rule_tests_pass_and_cover_every_rule(ruleset: Ruleset) -> None:
    results = run_test_file(TESTS)
    assert [r.name for r in results if not r.passed] == []
    assert {r.id for r in ruleset.rules} <= {rule for r in results for rule in r.fired}


def test_at_least_twelve_new_examples_each_with_a_rule_test() -> None:
    tested = TESTS.read_text()
    assert len(PORTFOLIO) >= 12
    assert all(f"examples/portfolio/{path.name}" in tested for path in PORTFOLIO)
    paths = {json.loads(p.read_text())["acquisition"]["path"] for p in PORTFOLIO}
    categories = {json.loads(p.read_text())["system"]["category"] for p in PORTFOLIO}
    assert {"indigenous", "co_development", "licensed_production"} <= paths
    assert {"cyber", "space", "platform_sustainment", "surface_to_air_missile"} <= categories


@pytest.mark.parametrize("stem", ["type12-upgrade-2026", "hvgp-2026", "pac3-mse-licensed-2026",
                                  "sm3-iia-coproduction-2026", "asev-2026"])
def test_counterstrike_and_iamd_programmes_are_not_capped_for_lacking_foreign_operators(
        engine: Engine, stem: str) -> None:
    proposal = _example(stem)
    proposal["partners"] = {"operators": [], "co_developers": proposal["partners"]["co_developers"],
                            "training_with": []}
    result = engine.evaluate(proposal)
    assert result["recommendation"] == "recommend"
    assert not [f for c in result["criteria"] for f in c["deficiencies"]]
    assert not [f for c in result["criteria"] for f in c["weaknesses"]
                if c["criterion"] == "partner_coverage"]


def test_a_domestic_programme_loses_nothing_for_having_no_partner(engine: Engine) -> None:
    """Naming a partner operator can only add; having none takes nothing away."""
    alone = _example("type12-upgrade-2026")
    shared = json.loads(json.dumps(alone))
    shared["partners"]["operators"] = ["US"]
    assert _scores(engine.evaluate(alone))["partner_coverage"] == 70  # baseline 40, +30 domestic
    assert engine.evaluate(shared)["overall_score"] > engine.evaluate(alone)["overall_score"]


@pytest.mark.parametrize("support, platform", SUPPORTED.items())
def test_a_support_contract_never_outscores_its_platform_on_interoperability(
        engine: Engine, support: str, platform: str) -> None:
    contract = _scores(engine.evaluate(_example(support)))["interoperability"]
    assert contract < _scores(engine.evaluate(_example(platform)))["interoperability"]


def test_no_support_contract_can_reach_the_interoperability_any_platform_keeps(
        ruleset: Ruleset, engine: Engine) -> None:
    """Over every category and path: the least any platform, weapon, cyber or space system can
    score on interoperability (no rule takes its points away) is more than a support contract
    scores when it lists every datalink, IFF mode and standard there is."""
    criterion = next(c for c in ruleset.criteria if c.name == "interoperability")
    rules = [r for r in ruleset.rules if r.criterion == criterion.name]
    worst_other = min(
        criterion.baseline + sum(min(r.point_range[0], 0) for r in rules
                                 if r.applies({"system.category": c, "acquisition.path": p}))
        for c in SYSTEM_CATEGORIES if c not in SUPPORT for p in ACQUISITION_PATHS)
    everything = {"datalinks": list(DATALINKS), "iff_modes": list(IFF_MODES),
                  "standards": list(STANDARDS), "munitions_commonality": "full"}
    for category in SUPPORT:
        for path in ACQUISITION_PATHS:
            proposal = _example("e2d-sustainment-2026")
            proposal["system"]["category"], proposal["acquisition"]["path"] = category, path
            proposal["capabilities"] = everything
            proposal["partners"]["training_with"] = ["US", "AU", "GB"]
            best = _scores(engine.evaluate(proposal))["interoperability"]
            assert best < worst_other == criterion.baseline, (category, path)


def test_a_support_contract_gains_nothing_from_listing_its_platforms_links(
        engine: Engine) -> None:
    contract = _example("e2d-sustainment-2026")
    bare = json.loads(json.dumps(contract))
    bare["capabilities"] = {}
    assert (_scores(engine.evaluate(contract))["interoperability"]
            == _scores(engine.evaluate(bare))["interoperability"])


def test_a_cyber_system_is_not_judged_by_link16(engine: Engine) -> None:
    result = engine.evaluate(_example("active-cyber-defense-2026"), explain="full")
    not_applicable = {r["rule_id"] for r in result["not_applicable"]}
    assert {"IOP-01", "IOP-05", "IOP-20", "IOP-07"} <= not_applicable


def test_licensed_production_is_worth_at_least_an_fms_buy(engine: Engine) -> None:
    licensed = _example("pac3-mse-licensed-2026")
    bought = json.loads(json.dumps(licensed))
    bought["acquisition"]["path"] = "fms"
    assert engine.evaluate(licensed)["overall_score"] > engine.evaluate(bought)["overall_score"]


def test_sentences_use_no_enum_codes_and_never_say_nation(engine: Engine) -> None:
    codes = ("_", "nation")
    for path in [*sorted((ROOT / "examples").glob("*.json")), *PORTFOLIO]:
        proposal = json.loads(path.read_text())
        result = engine.evaluate(proposal)
        for criterion in result["criteria"]:
            for kind in ("strengths", "weaknesses", "deficiencies"):
                for finding in criterion[kind]:
                    sentence = finding["sentence"].replace(proposal["system"]["name"], "")
                    assert not any(code in sentence.lower() for code in codes), sentence


# --- docs/ruleset-2026.2.md: its impact tables are what `rules diff` reports ------------------

DOC = ROOT / "docs" / "ruleset-2026.2.md"


def impact_table(folder: Path) -> str:
    """`policy-eval rules diff rules/japan-fy2026.yaml rules/japan-fy2026-2.yaml --on FOLDER`
    as a markdown table: every proposal whose overall score, a criterion score, rating,
    recommendation or rank changes, with every criterion score that changes."""
    proposals = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    report = impact(Engine(load_ruleset(PREVIOUS), "native"), Engine(load_ruleset(CURRENT),
                                                                     "native"), proposals)
    rows = ["| proposal | overall | criteria | rating | recommendation | rank | rules "
            "responsible |", "|---|---|---|---|---|---|---|"]
    for item in report.changes:
        criteria = "<br>".join(
            f"{words(name)} {score(item.old.scores.get(name, 0))} → "
            f"{score(item.new.scores[name])} ({change(delta)})"
            for name, delta in item.score_deltas.items())
        rows.append(" | ".join([
            f"| {item.proposal}",
            f"{score(item.old.overall)} → {score(item.new.overall)} ({change(item.overall_delta)})",
            criteria,
            _pair(item.old.rating, item.new.rating),
            _pair(words(item.old.recommendation), words(item.new.recommendation)),
            _pair(str(item.old.rank), str(item.new.rank)),
            ", ".join(item.rules)]) + " |")
    summary = report.summary()
    rows.append("")
    rows.append(f"{report.total} proposals: {summary['changed']} changed: overall score for "
                f"{summary['overall_score']}, a criterion score for "
                f"{summary['criterion_scores']}, rating for {summary['rating']}, recommendation "
                f"for {summary['recommendation']}, rank for {summary['rank']}")
    return "\n".join(rows)


def _pair(old: str, new: str) -> str:
    return old if old == new else f"{old} → {new}"


@pytest.mark.parametrize("folder", ["examples", "examples/portfolio"])
def test_the_change_notes_show_the_impact_on_every_example(folder: str) -> None:
    assert impact_table(ROOT / folder) in DOC.read_text()


def test_the_change_notes_show_the_check_as_it_runs(capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    shown = DOC.read_text().split("$ policy-eval rules check --strict rules/japan-fy2026-2.yaml\n"
                                  )[1].split("```")[0].splitlines()
    assert main(["rules", "check", "--strict", str(CURRENT.relative_to(ROOT))]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for line in shown:
        assert " ".join(line.split()).removesuffix("…") in out


@pytest.mark.parametrize("path", [*sorted((ROOT / "examples").glob("*.json")), *PORTFOLIO],
                         ids=lambda p: Path(p).stem)
def test_every_example_evaluates_with_four_scores_and_reasons(engine: Engine,
                                                              path: Path) -> None:
    result = engine.evaluate(json.loads(path.read_text()))
    assert [c["criterion"] for c in result["criteria"]] == [
        "threat_alignment", "interoperability", "budget_fit", "partner_coverage"]
    reasons = [f for c in result["criteria"]
               for kind in ("strengths", "weaknesses", "deficiencies") for f in c[kind]]
    assert reasons and all(f["sentence"] and f["evidence"] for f in reasons)
    assert all(f["points"] > 0 for c in result["criteria"] for f in c["strengths"])


def test_the_strong_examples_are_recommended_and_the_weak_capped(engine: Engine) -> None:
    for stem in ("tomahawk-2023", "sm6-2025", "e2d-2023", "asev-2026",
                 "pac3-mse-licensed-2026", "type12-upgrade-2026"):
        assert engine.evaluate(_example(stem))["recommendation"] == "recommend", stem
    for stem in ("weak-no-datalink", "weak-no-priority-threat", "weak-over-budget"):
        assert engine.evaluate(_example(stem))["recommendation"] == "do_not_recommend", stem
