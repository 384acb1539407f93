"""Counterfactual search time per proposal on the shipped ruleset, beside the time of the
``explain=full`` evaluation it is added to, in the same run: the examples and generated
proposals (``bench.synthetic``), each searched once after a warm-up, native engine.

The target is the issue's: p50 at most 50 ms per proposal on this machine.

Run: ``python -m bench.counterfactuals [--generated 300]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import synthetic
from bench.engine import examples
from service.config import DEFAULT_RULESET
from service.engine import Engine, counterfactuals

TARGET_MS = 50.0


@dataclass(frozen=True)
class Figures:
    proposals: int
    search_p50_ms: float
    search_p90_ms: float
    evaluation_p50_ms: float
    options: int  # options found over all proposals, to show the search is not idle


def _times(run: Callable[[dict[str, Any]], Any], proposals: list[dict[str, Any]]
           ) -> list[float]:
    times = []
    for proposal in proposals:
        start = time.perf_counter()
        run(proposal)
        times.append((time.perf_counter() - start) * 1000)
    return times


def measure(generated: int = 300) -> Figures:
    engine = Engine.from_path(DEFAULT_RULESET, "native")
    proposals = examples() + [p for p, _ in synthetic.batch(generated, seed=16)]
    counterfactuals(engine, proposals[0])  # warm-up: the per-ruleset plan is built once
    options = sum(len(counterfactuals(engine, p)["options"]) for p in proposals[:20])
    search = _times(lambda p: counterfactuals(engine, p), proposals)
    evaluation = _times(lambda p: engine.evaluate(p, "full"), proposals)
    deciles = statistics.quantiles(search, n=10)
    return Figures(len(proposals), statistics.median(search), deciles[8],
                   statistics.median(evaluation), options)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generated", type=int, default=300)
    figures = measure(parser.parse_args().generated)
    print(f"counterfactual search, {figures.proposals} proposals: p50 "
          f"{figures.search_p50_ms:.1f} ms, p90 {figures.search_p90_ms:.1f} ms (target p50 ≤ "
          f"{TARGET_MS:g} ms); explain=full evaluation p50 {figures.evaluation_p50_ms:.2f} ms")


if __name__ == "__main__":
    main()
