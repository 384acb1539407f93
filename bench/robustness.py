"""Robustness analysis speed: 10,000 samples over a generated batch of 10,000 proposals on 2
processes, each part timed, beside the plain ranking of the same batch in the same run.

- **plain ranking** (baseline): the batch ranked once as the service ranks it, overall score
  then upload order (``sorted`` over the summaries, as the memory store does);
- **weight stability**: the exact intervals of every criterion, first place and top 10;
- **rank acceptability**: every weight sample ranked (``acceptability.tally`` per block of
  1,000), on 1 process and shared over the pool, then merged;
- **portfolio core indices**: ``portfolio_samples`` optimal portfolios (the batch's own
  ``portfolio.build`` per sample) shared over the pool;
- **job**: all of it as a job would run it: every rank block and portfolio chunk queued to the
  same pool, stability meanwhile in the parent, tallies merged as they come back.

The batch is ``bench.synthetic`` proposals scored by the shipped ruleset (native engine), under
the uncertainty of the rule-authoring guide's example. Wall-clock seconds (the pool is the
point), so a busy machine shows; the load average at the start is printed.

Run: ``python -m bench.robustness [--proposals 10000] [--samples 10000]
[--portfolio-samples 500] [--processes 2]``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import reduce
from typing import Any, TypeVar

from bench import synthetic
from bench.processes import ROOT
from service.batch.chunks import summarize
from service.engine import Engine, Range, Uncertainty, load_ruleset
from service.robustness.acceptability import Tally, rank_acceptability, tally
from service.robustness.analysis import Plan
from service.robustness.core import CoreTally, core_indices, core_tally
from service.robustness.proposals import Proposals, cost_basis, from_summaries
from service.robustness.sampling import CostSampler, WeightSampler, weight_sampler
from service.robustness.stability import weight_stability

# the rule-authoring guide's example declaration
UNCERTAINTY = Uncertainty(
    weights={"interoperability": Range(0.25, 0.35), "budget_fit": Range(0.15, 0.30),
             "threat_alignment": Range(0.25, 0.35), "partner_coverage": Range(0.10, 0.20)},
    cost_by_path={"fms": Range(0.80, 1.00), "licensed_production": Range(0.90, 1.30)},
    exchange_rate=Range(0.90, 1.10))
SEED = 2026
T = TypeVar("T")


@dataclass(frozen=True)
class Part:
    name: str
    seconds: float
    samples: int = 0


def generated_batch(size: int) -> tuple[Proposals, list[dict[str, Any]]]:
    ruleset = load_ruleset(ROOT / "rules" / "japan-fy2026.yaml")
    engine = Engine(ruleset, "native")
    rng = random.Random(7)
    proposals = [synthetic.proposal(rng, number) for number in range(size)]
    summaries = [{**summarize(evaluation, proposal), **cost_basis(proposal), "index": index}
                 for index, (evaluation, proposal) in enumerate(zip(
                     engine.evaluate_many(proposals, "summary"), proposals, strict=True))]
    return from_summaries(summaries, ruleset.criteria), summaries


# what forked pool processes inherit: set before the pool starts
_BATCH: dict[str, Any] = {}


def _rank_block(unit: tuple[int, int]) -> bytes:
    block, size = unit
    return tally(_BATCH["proposals"], _BATCH["weights"], SEED, block, size,
                 _BATCH["top_k"]).to_bytes()


def _portfolio_chunk(samples: range) -> bytes:
    return core_tally(_BATCH["proposals"], _BATCH["weights"], _BATCH["costs"], SEED, samples,
                      None, "JPY").to_bytes()


def _timed(work: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    found = work()
    return found, time.perf_counter() - start


def measure(size: int, samples: int, portfolio_samples: int, processes: int,
            top_k: int = 10) -> list[Part]:
    (proposals, summaries), scoring = _timed(lambda: generated_batch(size))
    print(f"{size:,} generated proposals scored in {scoring:.1f} s", flush=True)
    plan = Plan(samples, portfolio_samples, top_k, SEED)
    weights: WeightSampler = weight_sampler(proposals.criteria, proposals.weights, UNCERTAINTY)
    _BATCH.update(proposals=proposals, weights=weights, top_k=top_k,
                  costs=CostSampler(proposals, UNCERTAINTY))
    plain = min(_timed(lambda: sorted(summaries, key=lambda s: (-s["overall_score"],
                                                                 s["index"])))[1]
                for _ in range(5))
    parts = [Part("plain ranking, as the service ranks (baseline)", plain, 1)]
    _, seconds = _timed(lambda: weight_stability(proposals, top_k))
    parts.append(Part("weight stability, exact, every criterion", seconds))
    units = plan.rank_blocks()
    one, seconds = _timed(lambda: reduce(Tally.merge, map(Tally.from_bytes,
                                                          map(_rank_block, units))))
    parts.append(Part("rank acceptability, 1 process", seconds, samples))
    chunks = plan.portfolio_chunks(4 * processes)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        list(pool.map(int, range(processes)))  # processes started before any timing
        shared, seconds = _timed(lambda: reduce(Tally.merge, map(Tally.from_bytes,
                                                                 pool.map(_rank_block, units))))
        parts.append(Part(f"rank acceptability, {processes} processes", seconds, samples))
        core, seconds = _timed(lambda: reduce(CoreTally.merge, map(
            CoreTally.from_bytes, pool.map(_portfolio_chunk, chunks))))
        parts.append(Part(f"portfolio core indices, {processes} processes", seconds,
                          portfolio_samples))

        def job() -> None:
            ranks = [pool.submit(_rank_block, unit) for unit in units]
            cores = [pool.submit(_portfolio_chunk, chunk) for chunk in chunks]
            weight_stability(proposals, top_k)
            rank_acceptability(proposals, reduce(Tally.merge, (Tally.from_bytes(r.result())
                                                                for r in ranks)))
            core_indices(reduce(CoreTally.merge, (CoreTally.from_bytes(c.result())
                                                   for c in cores)))

        _, seconds = _timed(job)
        parts.append(Part(f"job: all of the above, {processes} processes", seconds, samples))
    assert rank_acceptability(proposals, one).proposals == rank_acceptability(
        proposals, shared).proposals, "the pool must give what one process gives"
    found = core_indices(core)
    print(f"tally of one block: {len(_rank_block(units[0])) / 1e6:.1f} MB; portfolio: "
          f"{sum(c.status == 'core' for c in found.proposals)} core, "
          f"{sum(c.status == 'borderline' for c in found.proposals)} borderline, "
          f"{found.inexact} inexact samples")
    return parts


def table(parts: list[Part]) -> str:
    baseline = parts[0].seconds
    lines = ["| part | seconds | per sample | per sample ÷ plain ranking |",
             "|---|---|---|---|"]
    for part in parts:
        each = part.seconds / part.samples if part.samples else None
        lines.append(f"| {part.name} | {part.seconds:.3f} | "
                     f"{'' if each is None else f'{each * 1e3:.2f} ms'} | "
                     f"{'' if each is None else f'{each / baseline:.2f}×'} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proposals", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--portfolio-samples", type=int, default=Plan().portfolio_samples)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start",
          flush=True)
    print(table(measure(args.proposals, args.samples, args.portfolio_samples,
                        args.processes)))


if __name__ == "__main__":
    main()
