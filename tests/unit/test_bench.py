"""The engine benchmark still measures what the README's table says it does: its baseline is
durable-rules driven through its own Host on the same compiled ruleset, and every comparison
of the table has a figure on each side (a renamed figure would break ``bench.run``)."""

from __future__ import annotations

from bench import engine, portfolio
from service.engine import Engine, load_ruleset
from service.engine.evaluation.durable import durable_fact
from service.engine.evaluation.engine import validate_proposal
from service.engine.evaluation.facts import build_fact


def test_the_engine_benchmark_compares_against_raw_durable_rules() -> None:
    figures = engine.measure(0.01)

    rows = engine.rows(figures)
    name, _, baseline, target = rows[0]
    assert name == "engine: full evaluation vs raw durable-rules" and target == 0.7
    assert baseline.name.startswith("raw durable-rules (Host.assert_fact")
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
