"""Engine throughput against durable-rules' own limits, on the shipped ruleset and the example
proposals, one core, in one process.

- **raw durable-rules**: its documented Python API, ``Host.assert_fact`` + ``delete_state``, on
  the same compiled ruleset (the same shards) and documents built beforehand: what a program
  using durable-rules pays to decide, before any validation, enrichment, scoring or
  explanation: the baseline the engine's figures are measured against.
- **full evaluation**, both modes: ``Engine.evaluate`` as a worker calls it (validate, enrich,
  decide, score, explain); ``durable`` is the default mode, in which durable-rules decides and
  the native evaluator cross-checks and explains.
- **deciding alone**: durable-rules' C engine as ``service.engine.evaluation.durable`` drives
  it, and the native evaluator, on built facts.
- **lever**: a chunk of facts per ``assert_facts`` call through the Host, one state for all.

Run: ``python -m bench.engine [--seconds 2]``. CPU time of the best round (see
``bench.scaling.best_us``), so figures hold on a busy machine.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from durable import engine as durable_engine

from bench.processes import ROOT
from bench.scaling import best_us
from service.engine import Engine, load_ruleset
from service.engine.evaluation.durable import DurableRules, compile_ruleset, durable_fact
from service.engine.evaluation.engine import validate_proposal
from service.engine.evaluation.facts import build_fact

SID = "bench"
CHUNK = 50


@dataclass(frozen=True)
class Figure:
    name: str
    us: float  # CPU µs per proposal

    @property
    def rate(self) -> float:
        return 1e6 / self.us


class RawDurable:
    """The compiled shards registered with durable-rules' own ``Host``, each action recording
    the id of its rule, as a program using durable-rules would."""

    def __init__(self, engine: Engine) -> None:
        self.host = durable_engine.Host()
        self.fired: list[str] = []
        self.names: list[str] = []
        for index, (definition, rule_ids) in enumerate(compile_ruleset(engine.ruleset)):
            name = f"raw_{index}"
            self.host.register_rulesets({name: {
                rule: {**body, "run": self._recorder(rule_ids.get(rule))}
                for rule, body in definition.items()}})
            self.names.append(name)

    def _recorder(self, rule_id: str | None) -> Callable[[Any], None]:
        def record(c: Any) -> None:  # exactly one parameter: two would make it asynchronous
            if rule_id is not None:  # None: the catch-all rule
                self.fired.append(rule_id)

        return record

    def assert_one(self, document: dict[str, Any]) -> None:
        for name in self.names:
            self.host.assert_fact(name, document)
            self.host.delete_state(name, SID)

    def assert_chunk(self, documents: list[dict[str, Any]]) -> None:
        for name in self.names:
            self.host.assert_facts(name, documents)
            self.host.delete_state(name, SID)


def examples() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((ROOT / "examples").glob("*.json"))]


def measure(seconds: float) -> dict[str, Figure]:
    proposals = examples()
    ruleset = load_ruleset(ROOT / "rules" / "japan-fy2026.yaml")
    durable, native = Engine(ruleset, "durable"), Engine(ruleset, "native")
    facts = [build_fact(validate_proposal(p), durable.ruleset.context) for p in proposals]
    documents = [durable_fact(fact, SID) for fact in facts]
    raw = RawDurable(durable)
    chunk = [{**documents[i % len(documents)], "n": i} for i in range(CHUNK)]
    decider = DurableRules(durable.ruleset)
    figures = [
        Figure("raw durable-rules (Host.assert_fact + delete_state)",
               best_us(raw.assert_one, documents, seconds)),
        Figure(f"raw durable-rules, {CHUNK} facts per assert_facts",
               best_us(raw.assert_chunk, [chunk], seconds) / CHUNK),
        Figure("full evaluation, durable mode (default)",
               best_us(durable.evaluate, proposals, seconds)),
        Figure("full evaluation, native mode", best_us(native.evaluate, proposals, seconds)),
        Figure("deciding: durable-rules C engine, driven directly",
               best_us(decider.fired, facts, seconds)),
        Figure("deciding: native evaluator", best_us(native.fired, facts, seconds)),
    ]
    return {figure.name: figure for figure in figures}


def rows(figures: dict[str, Figure]) -> list[tuple[str, Figure, Figure, float]]:
    """(target, figure, baseline, target ratio) for the README's table."""
    raw = figures["raw durable-rules (Host.assert_fact + delete_state)"]
    durable = figures["full evaluation, durable mode (default)"]
    native = figures["full evaluation, native mode"]
    return [
        ("engine: full evaluation vs raw durable-rules", durable, raw, 0.7),
        ("engine: native vs durable, full evaluation", native, durable, 20.0),
        ("engine: native vs durable, deciding alone",
         figures["deciding: native evaluator"],
         figures["deciding: durable-rules C engine, driven directly"], 20.0),
        ("engine: native deciding vs raw durable-rules", figures["deciding: native evaluator"],
         raw, 20.0),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    figures = measure(args.seconds)
    print("| figure | µs per proposal (CPU) | proposals/s (1 core) |\n|---|---|---|")
    for figure in figures.values():
        print(f"| {figure.name} | {figure.us:,.1f} | {figure.rate:,.0f} |")
    print("\n| comparison | ratio | target |\n|---|---|---|")
    for name, figure, baseline, target in rows(figures):
        print(f"| {name} | {figure.rate / baseline.rate:.2f}× | ≥ {target}× |")


if __name__ == "__main__":
    main()
