"""The compiled evaluator, the reference interpreter and durable-rules fire the same rules on
every proposal, and the compiled explanations report the atoms the reference's ``why`` and
``why_not`` choose, with the same evidence and sentences.

Checked on three rulesets of random conditions over every field and operator (the compilers'
real test: 600 rules, literals and field-to-field comparisons, nested all / any / not; a
quarter of them graded rules reading their points off a scale, a quarter scoped to categories
and paths, some in groups, against the shipped context and its exact-alias registry), on the
shipped rulesets (2026.1.0 and 2026.2.0) and on the small fixture; with generated proposals
and every example. Each engine runs in durable mode, where ``evaluate`` raises
``EngineDisagreement`` unless
durable-rules fired exactly what the compiled evaluator fired (scopes included: durable-rules
decides them in the same pattern; it cannot read a scale, so graded points are checked against
the reference's reading).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.randomrules import RandomConditions
from service.engine import Engine, EngineDisagreement, RulesetError, load_ruleset
from service.engine.authoring.ruletests import fired_ids
from service.engine.evaluation.engine import validate_proposal
from service.engine.evaluation.evidence import AtomEvidence, ScaleReading
from service.engine.evaluation.facts import Fact, build_fact
from service.engine.evaluation.interpreter import AtomResult, InterpretedRules, why, why_not
from service.engine.language.catalog import field_catalog
from service.engine.language.model import FieldRef
from service.engine.language.operators import OPERATORS, atoms
from service.engine.language.templates import Template
from tests.strategies import COUNTRIES, proposals
from tests.unit.conftest import MINI, ROOT, load_json, shipped

RANDOM_SEEDS = (20261125, 7, 1999)


def random_ruleset(tmp: Path, count: int = 200, seed: int = 20261125) -> Path:
    rng = random.Random(seed)
    conditions = RandomConditions(rng, COUNTRIES)
    # whole points for one criterion, fractions for the other: the compiled evaluator adds
    # the first up as rules fire and sums the second with sum(), as the reference does
    points = {"interoperability": [-7, 3, 11], "budget_fit": [-7.5, 0.1, 0.2, 11.3]}
    header = yaml.safe_load(MINI.read_text())
    header["context"] = str(ROOT / "rules" / "context" / "japan-fy2026.yaml")
    header["name"] = "random"
    header["version"] = str(seed)
    rules: list[dict[str, Any]] = []
    for i in range(count):
        criterion = rng.choice(list(points))
        rule = {"id": f"R{i}", "criterion": criterion, "title": f"random {i}",
                "when": conditions.condition(), "points": rng.choice(points[criterion]),
                "because": "generated", "otherwise": "{system.name}: not {acquisition.quantity}"}
        if rng.random() < 0.25:  # graded: a scale instead of points, its `when` half the time
            del rule["points"]
            rule["scale"] = conditions.scale()
            if rng.random() < 0.5:
                del rule["when"]
        if rng.random() < 0.25:
            rule["scope"] = conditions.scope()
        rules.append(rule)
    header["rules"] = _grouped(rng, conditions, rules)
    path = tmp / "random.yaml"
    path.write_text(yaml.safe_dump(header, sort_keys=False))
    try:
        load_ruleset(path)
    except RulesetError as error:  # drop the few conditions too large for durable-rules
        too_big = {p.rule_id for p in error.problems if "too complex" in p.message}
        assert too_big and len(too_big) == len(error.problems), error
        header["rules"] = _without(header["rules"], too_big)
        path.write_text(yaml.safe_dump(header, sort_keys=False))
    return path


def _grouped(rng: random.Random, conditions: RandomConditions,
             rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rules with one run of three in ten put in a group with a scope of its own."""
    items: list[dict[str, Any]] = []
    for start in range(0, len(rules), 3):
        run = rules[start:start + 3]
        if rng.random() < 0.1:
            items.append({"group": f"group {start}", "scope": conditions.scope(), "rules": run})
        else:
            items.extend(run)
    return items


def _without(items: list[dict[str, Any]], ids: set[str]) -> list[dict[str, Any]]:
    kept = []
    for item in items:
        if "group" in item:
            inner = _without(item["rules"], ids)
            if inner:
                kept.append({**item, "rules": inner})
        elif item["id"] not in ids:
            kept.append(item)
    return kept


@pytest.fixture(scope="module")
def random_engines(tmp_path_factory: pytest.TempPathFactory) -> list[Engine]:
    return [Engine.from_path(random_ruleset(tmp_path_factory.mktemp(f"random{seed}"),
                                            seed=seed))
            for seed in RANDOM_SEEDS]


@pytest.fixture(scope="module")
def mini_durable() -> Engine:
    return Engine.from_path(MINI)


_REFERENCES: dict[int, InterpretedRules] = {}
_EVIDENCE: dict[int, AtomEvidence] = {}


def _reference(engine: Engine) -> InterpretedRules:
    if id(engine) not in _REFERENCES:
        _REFERENCES[id(engine)] = InterpretedRules(engine.ruleset)
    return _REFERENCES[id(engine)]


def _evidence(results: list[AtomResult]) -> list[dict[str, Any]]:
    """The reference's atoms, worded by the one implementation of evidence (which the golden
    results of tests/unit/test_scoring.py pin)."""
    for r in results:
        if id(r.atom) not in _EVIDENCE:
            _EVIDENCE[id(r.atom)] = AtomEvidence(r.atom)
    return [_EVIDENCE[id(r.atom)].report(r.observed, r.threshold, r.holds) for r in results]


def assert_agreement(engine: Engine, proposal: dict[str, Any]) -> None:
    """durable-rules, the compiled evaluator and the reference fire the same rules, and the
    result explains each rule as the reference does."""
    fact: Fact = build_fact(validate_proposal(proposal), engine.ruleset.context)
    result = engine.evaluate(proposal, "full")  # raises EngineDisagreement on a durable mismatch
    fired = _reference(engine).fired(fact)
    assert fired_ids(result) == fired
    graded = engine.ruleset.graded_criteria
    for criterion in result["criteria"]:  # the reference's sum, in the rules' order
        total = sum(rule.points_for(fact) for rule in engine.ruleset.rules
                    if rule.id in fired and rule.criterion == criterion["criterion"])
        assert criterion["points"] == (round(total, 2) if criterion["criterion"] in graded
                                       else total)
    rules = {rule.id: rule for rule in engine.ruleset.rules}
    # no rule fires outside its scope, and the ones outside are apart from the ones that failed
    assert all(rules[rule_id].applies(fact) for rule_id in fired)
    outside = {entry["rule_id"] for entry in result["not_applicable"]}
    assert outside == {rule.id for rule in rules.values() if not rule.applies(fact)}
    assert outside.isdisjoint(entry["rule_id"] for entry in result["not_fired"])
    findings = [f for c in result["criteria"]
                for kind in ("strengths", "weaknesses", "deficiencies") for f in c[kind]]
    for finding in findings:
        rule = rules[finding["rule_id"]]
        assert finding["evidence"] == _evidence(why(rule.condition, fact)), rule.id
        assert finding["sentence"] == Template(rule.because).render(fact)
        if rule.scale is not None:  # the points read off the scale, as the reading says
            value = fact[rule.scale.field]
            assert finding["points"] == rule.scale.points_at(value)
            assert finding["scale"] == ScaleReading(rule.scale).report(value)
    for entry in result["not_fired"]:
        rule = rules[entry["rule_id"]]
        assert entry["failed"] == _evidence(why_not(rule.condition, fact)), rule.id
        if rule.otherwise:
            assert entry["sentence"] == Template(rule.otherwise).render(fact)


AGREEMENT = settings(max_examples=1000, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.too_slow])


@AGREEMENT
@given(proposal=proposals())
def test_random_conditions_fire_alike_in_all_three_evaluators(
    random_engines: list[Engine], proposal: dict[str, Any]
) -> None:
    for engine in random_engines:
        assert_agreement(engine, proposal)


@AGREEMENT
@given(proposal=proposals())
def test_shipped_ruleset_fires_alike_in_all_three_evaluators(proposal: dict[str, Any]) -> None:
    assert_agreement(shipped(), proposal)


_DEFAULT: list[Engine] = []


def default_engine() -> Engine:
    """Ruleset 2026.2.0, the default (built once: hypothesis tests cannot take fixtures)."""
    if not _DEFAULT:
        _DEFAULT.append(Engine.from_path(ROOT / "rules" / "japan-fy2026-2.yaml", mode="durable"))
    return _DEFAULT[0]


@AGREEMENT
@given(proposal=proposals())
def test_ruleset_2026_2_fires_alike_in_all_three_evaluators(proposal: dict[str, Any]) -> None:
    assert_agreement(default_engine(), proposal)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(proposal=proposals())
def test_fixture_fires_alike_in_all_three_evaluators(mini_durable: Engine,
                                                     proposal: dict[str, Any]) -> None:
    assert_agreement(mini_durable, proposal)


EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
PORTFOLIO = sorted((ROOT / "examples" / "portfolio").glob("*.json"))


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_fires_alike_in_all_three_evaluators(
    random_engines: list[Engine], mini_durable: Engine, example: Path
) -> None:
    for engine in (shipped(), mini_durable, *random_engines):
        assert_agreement(engine, load_json(example))


@pytest.mark.parametrize("example", EXAMPLES + PORTFOLIO,
                         ids=[p.stem for p in EXAMPLES + PORTFOLIO])
def test_every_example_fires_alike_under_2026_2(example: Path) -> None:
    assert_agreement(default_engine(), load_json(example))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(proposal=proposals(), explain=st.sampled_from(["summary", "full"]))
def test_native_mode_gives_identical_results(proposal: dict[str, Any], explain: Any) -> None:
    durable, native = shipped(), shipped("native")
    assert native.evaluate(proposal, explain) == durable.evaluate(proposal, explain)


def test_random_rulesets_use_every_field_and_operator(random_engines: list[Engine]) -> None:
    rules = [rule for engine in random_engines for rule in engine.ruleset.rules]
    graded = [rule.scale for rule in rules if rule.scale]
    assert len(graded) > 100 and any(s.lowest < 0 < s.highest for s in graded)
    scoped = [rule.scope for rule in rules if rule.scope]
    assert len(scoped) > 150
    assert any(s.categories for s in scoped) and any(s.paths for s in scoped)
    used = [a for engine in random_engines for rule in engine.ruleset.rules
            for a in atoms(rule.condition)]
    assert {a.op for a in used} == set(OPERATORS)
    assert {a.field for a in used} == set(field_catalog())
    compared = {field_catalog()[a.field].kind for a in used if isinstance(a.value, FieldRef)}
    assert compared == {"number", "string", "list", "bool"}  # comparisons of each kind


def test_a_disagreement_is_an_error_never_a_silent_pick(tomahawk: dict[str, Any]) -> None:
    engine = Engine.from_path(MINI)  # durable mode
    decide = engine.compiled.decide

    def without_link16(fact: Fact) -> tuple[list[list[int]], list[float]]:
        fired, points = decide(fact)
        return [[i for i in indexes if i != 0] for indexes in fired], points

    engine.compiled.decide = without_link16  # the compiled evaluator misses I-LINK16
    with pytest.raises(EngineDisagreement) as caught:
        engine.evaluate(tomahawk)
    assert (caught.value.only_durable, caught.value.only_compiled) == (["I-LINK16"], [])
