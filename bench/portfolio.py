"""Portfolio time on a batch of what-if variants: each capability area's envelope (the default
of ``GET …/portfolio``) against one budget over the same proposals, in the same run.

The batch is 10,000 variants of the example proposals, each one's cost scaled 0.5-1.5×
(``bench.synthetic.variants``), scored by the native engine: a few distinct scores per
capability area at scattered costs, the case that made the exact search stop at its node limit.
Both figures are ``portfolio.build`` on the same summaries (what the endpoint does once it has
read them), best wall time of a few rounds; the answer's ``exact`` is printed beside each.

Run: ``python -m bench.portfolio [--size 10000] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Any

from bench import synthetic
from bench.engine import examples
from service.batch import portfolio
from service.batch.chunks import summarize
from service.config import Settings
from service.registry.engines import file_engines

BUDGET_JPY = 2e12


@dataclass(frozen=True)
class Timing:
    name: str
    seconds: float
    exact: bool
    groups: int


def summaries(size: int) -> list[dict[str, Any]]:
    """The batch's per-item summaries, as the chunk task stores them."""
    engine = file_engines(Settings.from_env().ruleset, "native").engine()
    proposals = list(synthetic.variants(examples(), size))
    results = [engine.assess(p) for p in proposals]
    return [{"index": index, "line": index + 1, **summarize(result, proposal)}
            for index, (result, proposal) in enumerate(zip(results, proposals, strict=True))]


def timed(name: str, batch: list[dict[str, Any]], budget: float | None, rounds: int
          ) -> Timing:
    best, doc = float("inf"), {}
    for _ in range(rounds):
        start = time.perf_counter()
        doc = portfolio.build(batch, [], budget, "JPY")
        best = min(best, time.perf_counter() - start)
    return Timing(name, best, doc["exact"], len(doc["groups"]))


def measure(size: int = 10_000, rounds: int = 3) -> tuple[Timing, Timing]:
    """(envelopes, one budget) on the same summaries."""
    batch = summaries(size)
    return (timed("capability-area envelopes", batch, None, rounds),
            timed(f"one budget of ¥{BUDGET_JPY:,.0f}", batch, BUDGET_JPY, rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for timing in measure(args.size, args.rounds):
        print(f"{timing.name}: {timing.seconds * 1000:,.0f} ms, {timing.groups} group(s), "
              f"exact: {timing.exact}")


if __name__ == "__main__":
    main()
