"""The engine benchmark still measures what the README's table says it does: its baseline is
durable-rules driven through its own Host on the same compiled ruleset, every comparison of the
table has a figure on each side (a renamed figure would break ``bench.run``), GoRules Zen, its
peer, is given rules that fire exactly as ours do (else its timings compare other work), and
the portfolio benchmark keeps its baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from bench import counterfactuals, engine, portfolio, run, zen
from service.engine import Engine, load_ruleset
from service.engine.evaluation.durable import durable_fact
from service.engine.evaluation.engine import validate_proposal
from service.engine.evaluation.facts import build_fact
from tests.strategies import proposals
from tests.unit.conftest import MINI, SHIPPED
from tests.unit.test_agreement import RANDOM_SEEDS, random_ruleset


def test_the_engine_benchmark_compares_against_raw_durable_rules_and_zen() -> None:
    figures = engine.measure(0.01, generated=20)

    rows = engine.rows(figures)
    name, _, baseline, target = rows[0]
    assert name == "engine: durable mode (default), full evaluation vs raw durable-rules"
    assert target == 1.5 and baseline.name.startswith("raw durable-rules (Host.assert_fact")
    name, figure, baseline, target = rows[2]
    assert (figure.name, target) == ("deciding: compiled evaluator", 10.0)
    assert baseline.name in engine.ZEN_FORMS
    assert all(figure.us > 0 and baseline.us > 0 for _, figure, baseline, _ in rows)


def test_the_raw_baseline_decides_what_the_engine_decides() -> None:
    shipped = Engine(load_ruleset(engine.ROOT / "rules" / "japan-fy2026.yaml"), "durable")
    raw = engine.RawDurable(shipped)
    for proposal in engine.examples():
        fact = build_fact(validate_proposal(proposal), shipped.ruleset.context)
        raw.fired.clear()
        raw.assert_one(durable_fact(fact, engine.SID))
        assert frozenset(raw.fired) == shipped.fired(fact), proposal["id"]


def test_the_portfolio_benchmark_compares_envelopes_with_one_budget() -> None:
    envelopes, one_budget = portfolio.measure(size=200, rounds=1)

    assert envelopes.groups > 1 and one_budget.groups == 1
    assert envelopes.exact and one_budget.exact
    assert envelopes.seconds > 0 and one_budget.seconds > 0


def test_the_counterfactual_benchmark_searches_the_examples_beside_their_evaluation() -> None:
    figures = counterfactuals.measure(generated=3)

    assert figures.proposals == len(engine.examples()) + 3
    assert figures.options > 0
    assert figures.search_p90_ms >= figures.search_p50_ms > 0 and figures.evaluation_p50_ms > 0
    [line] = run.counterfactual_lines(3)
    assert line.within == counterfactuals.TARGET_MS / 1000 and "p50" in line.measured


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[zen.ZenRules, Engine]]:
    paths = [SHIPPED, MINI, *(random_ruleset(tmp_path_factory.mktemp(f"zen{seed}"), seed=seed)
                              for seed in RANDOM_SEEDS)]
    engines = [Engine(load_ruleset(path), "native") for path in paths]
    return [(zen.ZenRules(e.ruleset), e) for e in engines]


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(proposal=proposals())
def test_zen_fires_what_the_compiled_evaluator_fires(
    peers: list[tuple[zen.ZenRules, Engine]], proposal: dict[str, Any]
) -> None:
    """On the numbers as Zen reads them (hypothesis draws amounts such as 1e-233, which Zen
    reads as 0): the translation of the rules is what is checked here."""
    for zen_rules, peer in peers:
        fact = build_fact(validate_proposal(proposal), peer.ruleset.context)
        assert zen.check(zen_rules, peer.compiled, [zen.as_zen_reads(fact)]) == 1


def test_zen_is_checked_on_every_example(peers: list[tuple[zen.ZenRules, Engine]]) -> None:
    for zen_rules, peer in peers:
        facts = [build_fact(validate_proposal(p), peer.ruleset.context)
                 for p in engine.examples()]
        assert zen.check(zen_rules, peer.compiled, facts) == len(facts)


def test_a_disagreement_with_zen_stops_the_benchmark(tmp_path: Path) -> None:
    ruleset = load_ruleset(MINI)
    shifted = load_ruleset(MINI)  # the same rules, one threshold moved: another decision
    rules = list(shifted.rules)
    index = next(i for i, r in enumerate(rules) if r.id == "B-SHARE")
    condition = rules[index].condition
    rules[index] = type(rules[index])(**{**rules[index].__dict__,
                                         "condition": type(condition)(
                                             condition.field, "gt", condition.value)})
    moved = zen.ZenRules(type(shifted)(**{**shifted.__dict__, "rules": tuple(rules)}))
    facts = [build_fact(validate_proposal(p), ruleset.context) for p in engine.examples()]
    with pytest.raises(zen.ZenDisagrees, match="B-SHARE"):
        zen.check(moved, Engine(ruleset, "native").compiled, facts)


@pytest.mark.parametrize("value", ["it's \"quoted\"", "back\\slash", float("inf")])
def test_a_literal_zen_cannot_write_is_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="Zen"):
        zen.literal(value)
