"""Engine throughput against durable-rules' own limits and against GoRules Zen, on the shipped
ruleset and the example proposals, one core, in one process.

- **raw durable-rules**: its documented Python API, ``Host.assert_fact`` + ``delete_state``, on
  the same compiled ruleset (the same shards) and documents built beforehand: what a program
  using durable-rules pays to decide, before any validation, enrichment, scoring or
  explanation. The baseline of the full-evaluation targets, with the whole fact as its
  document, as it was set; shown again with only the fields the rules read, as the engine's
  durable mode sends them (the Host then decodes a third less JSON), for the ratios against
  that reading.
- **full evaluation**, both modes: ``Engine.evaluate`` as a worker calls it (validate, enrich,
  decide, score, explain with the summary explanation); ``durable`` is the default mode, in
  which durable-rules decides and the compiled evaluator cross-checks.
- **deciding alone**, on built facts, each through its own API, one call a proposal: the
  compiled evaluator's ``decide`` (the rules that fire and the points per criterion), the
  reference interpreter (the tests' oracle), durable-rules' C engine as
  ``service.engine.evaluation.durable`` drives it, and GoRules Zen in each of its forms
  (``bench.zen``), given its contexts built beforehand; reading the rule ids out of Zen's answer
  is left out of its time.
- **lever**: a chunk of facts per ``assert_facts`` call through the Host, one state for all.

Before anything is timed, every evaluator must fire the same rules on every example and on
generated proposals (``check``). Figures are CPU µs per proposal, the median of interleaved
rounds: each round runs every contender once, so a burst of load on this shared machine
falls on all of them rather than on one.

Run: ``python -m bench.engine [--seconds 1]`` (seconds per contender).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from durable import engine as durable_engine

from bench import synthetic, zen
from bench.processes import ROOT
from service.engine import Engine, load_ruleset
from service.engine.evaluation.durable import (
    DurableRules,
    compile_ruleset,
    durable_fact,
    read_paths,
)
from service.engine.evaluation.engine import validate_proposal
from service.engine.evaluation.facts import build_fact
from service.engine.evaluation.interpreter import InterpretedRules

SID = "bench"
CHUNK = 50
GENERATED = 500  # proposals the evaluators must agree on besides the examples
MIN_ROUND = 0.002  # CPU seconds: shorter rounds are repeated, so timer noise stays small
RAW = "raw durable-rules (Host.assert_fact + delete_state)"
RAW_READ = ("raw durable-rules, documents of only the fields the rules read (as "
            "the engine sends them)")
DURABLE = "full evaluation, durable mode (default)"
NATIVE = "full evaluation, native mode"
COMPILED = "deciding: compiled evaluator"
DURABLE_DECIDING = "deciding: durable-rules C engine, driven directly"
ZEN_FORMS = ("deciding: GoRules Zen, compiled object expression",
             "deciding: GoRules Zen, compiled array expression",
             "deciding: GoRules Zen, JDM decision table (collect), ZenDecision.evaluate",
             "deciding: GoRules Zen, JDM decision table (collect), ZenEngine.evaluate(key)",
             f"deciding: GoRules Zen, JDM decision table (collect), evaluate_batch of {CHUNK}")


@dataclass(frozen=True)
class Figure:
    name: str
    us: float  # CPU µs per proposal

    @property
    def rate(self) -> float:
        return 1e6 / self.us


class _QuietHost(durable_engine.Host):  # type: ignore[misc]
    """durable-rules' ``Host`` without its two timer threads, which poll every ruleset for
    pending actions and race the calling thread for the C engine (error 307, "could not
    complete and start action", once this benchmark interleaves its rounds)."""

    def _run(self) -> None:
        pass


class RawDurable:
    """The compiled shards registered with durable-rules' own ``Host``, each action recording
    the id of its rule, as a program using durable-rules would."""

    def __init__(self, engine: Engine) -> None:
        self.host = _QuietHost()
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


Contender = tuple[Callable[[Any], object], list[Any], int]  # call, items, proposals per item


def interleaved(contenders: dict[str, Contender], seconds: float) -> dict[str, Figure]:
    """CPU µs per proposal of each contender: the median of rounds taken in turn, for about
    ``seconds`` per contender (at least five rounds)."""
    repeats: dict[str, int] = {}
    for name, (call, items, _) in contenders.items():  # warm-up, and rounds of ≥ MIN_ROUND
        start = time.process_time()
        for item in items:
            call(item)
        repeats[name] = max(1, math.ceil(MIN_ROUND / max(time.process_time() - start, 1e-9)))
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    deadline = time.perf_counter() + seconds * len(contenders)
    while len(samples[next(iter(samples))]) < 5 or time.perf_counter() < deadline:
        for name, (call, items, size) in contenders.items():
            start = time.process_time()
            for _ in range(repeats[name]):
                for item in items:
                    call(item)
            spent = time.process_time() - start
            samples[name].append(spent / (repeats[name] * len(items) * size) * 1e6)
    return {name: Figure(name, statistics.median(found)) for name, found in samples.items()}


def check(durable: Engine, zen_rules: zen.ZenRules, proposals: list[dict[str, Any]]) -> int:
    """The compiled evaluator, the reference interpreter, durable-rules and every form of Zen
    fire the same rules on every proposal; returns how many were checked."""
    reference = InterpretedRules(durable.ruleset)
    facts = [build_fact(validate_proposal(p), durable.ruleset.context) for p in proposals]
    for fact in facts:
        fired = durable.fired(fact)  # raises EngineDisagreement unless durable-rules agrees
        if fired != reference.fired(fact):
            raise AssertionError(f"the reference interpreter disagrees on {fact}")
    return zen.check(zen_rules, durable.compiled, facts)


def measure(seconds: float, generated: int = GENERATED) -> dict[str, Figure]:
    proposals = examples()
    ruleset = load_ruleset(ROOT / "rules" / "japan-fy2026.yaml")
    durable, native = Engine(ruleset, "durable"), Engine(ruleset, "native")
    zen_rules = zen.ZenRules(ruleset)
    checked = check(durable, zen_rules, proposals + [
        p for p, _ in synthetic.batch(generated, seed=13)])
    print(f"{checked:,} proposals: every evaluator fired the same rules on each", flush=True)
    facts = [build_fact(validate_proposal(p), ruleset.context) for p in proposals]
    documents = [durable_fact(fact, SID) for fact in facts]
    read = read_paths(ruleset)
    read_documents = [durable_fact(fact, SID, read) for fact in facts]
    contexts = [zen.context(fact) for fact in facts]
    raw = RawDurable(durable)
    chunk = [{**documents[i % len(documents)], "n": i} for i in range(CHUNK)]
    zen_chunk = zen_rules.requests([contexts[i % len(contexts)] for i in range(CHUNK)])
    reference = InterpretedRules(ruleset)
    contenders: dict[str, Contender] = {
        RAW: (raw.assert_one, documents, 1),
        RAW_READ: (raw.assert_one, read_documents, 1),
        f"raw durable-rules, {CHUNK} facts per assert_facts": (raw.assert_chunk, [chunk], CHUNK),
        DURABLE: (durable.evaluate, proposals, 1),
        NATIVE: (native.evaluate, proposals, 1),
        DURABLE_DECIDING: (DurableRules(ruleset).fired, facts, 1),
        COMPILED: (native.compiled.decide, facts, 1),
        "deciding: reference interpreter (the tests' oracle)": (reference.fired, facts, 1),
        ZEN_FORMS[0]: (zen_rules.evaluate_expression, contexts, 1),
        ZEN_FORMS[1]: (zen_rules.evaluate_array, contexts, 1),
        ZEN_FORMS[2]: (zen_rules.evaluate_table, contexts, 1),
        ZEN_FORMS[3]: (zen_rules.evaluate_key, contexts, 1),
        ZEN_FORMS[4]: (zen_rules.evaluate_batch, [zen_chunk], CHUNK),
    }
    return interleaved(contenders, seconds)


def rows(figures: dict[str, Figure]) -> list[tuple[str, Figure, Figure, float]]:
    """(target, figure, baseline, target ratio) for the README's table."""
    raw, durable, native = figures[RAW], figures[DURABLE], figures[NATIVE]
    compiled = figures[COMPILED]
    fastest_zen = min((figures[name] for name in ZEN_FORMS), key=lambda f: f.us)
    return [
        ("engine: durable mode (default), full evaluation vs raw durable-rules", durable, raw,
         1.5),
        ("engine: native mode, full evaluation vs raw durable-rules", native, raw, 3.5),
        ("engine: compiled deciding vs GoRules Zen's fastest form", compiled, fastest_zen,
         10.0),
        ("engine: native vs durable, full evaluation", native, durable, 20.0),
        ("engine: compiled vs durable-rules, deciding alone", compiled,
         figures[DURABLE_DECIDING], 20.0),
        ("engine: compiled deciding vs raw durable-rules", compiled, raw, 20.0),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per contender")
    args = parser.parse_args()
    figures = measure(args.seconds)
    print("| figure | µs per proposal (CPU, median) | proposals/s (1 core) |\n|---|---|---|")
    for figure in figures.values():
        print(f"| {figure.name} | {figure.us:,.1f} | {figure.rate:,.0f} |")
    print("\n| comparison | ratio | target |\n|---|---|---|")
    for name, figure, baseline, target in rows(figures):
        print(f"| {name} | {figure.rate / baseline.rate:.2f}× | ≥ {target:g}× |")


if __name__ == "__main__":
    main()
