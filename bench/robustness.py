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

``--service`` measures it as the service runs it instead: its own Redis, a ``celery worker``
with 2 pool processes and the API under gunicorn, on the shipped ruleset with the uncertainty
below declared; the batch is uploaded and scored first (not timed), then
``POST /v1/batches/{id}/robustness`` is timed until its job is done (job start to result), with
the CPU seconds of every process of the stack; the baseline is the same batch's plain
portfolio and ranked CSV download through the same API, in the same run.

The batch is ``bench.synthetic`` proposals scored by the shipped ruleset (native engine), under
the uncertainty of the rule-authoring guide's example. Wall-clock seconds (the pool is the
point) and CPU seconds of every process that worked (the pool's workers time their own
units), so that a busy machine shows as the gap between the two; the load average at the
start is printed.

Run: ``python -m bench.robustness [--proposals 10000] [--samples 10000]
[--portfolio-samples 500] [--processes 2] [--service]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import Any, TypeVar

import requests
import yaml

from bench import synthetic
from bench.processes import ROOT, celery_worker, children, cpu_seconds, gunicorn, own_redis, stop
from service.api.auth import digest
from service.batch.chunks import summarize
from service.engine import Engine, Range, Uncertainty, load_ruleset
from service.robustness.acceptability import Tally, rank_acceptability, tally
from service.robustness.analysis import Plan
from service.robustness.core import CoreTally, core_indices, core_tally
from service.robustness.proposals import Proposals, from_summaries
from service.robustness.sampling import CostSampler, WeightSampler, weight_sampler
from service.robustness.stability import weight_stability

# the rule-authoring guide's example declaration
UNCERTAINTY = Uncertainty(
    weights={"interoperability": Range(0.25, 0.35), "budget_fit": Range(0.15, 0.30),
             "threat_alignment": Range(0.25, 0.35), "partner_coverage": Range(0.10, 0.20)},
    cost_by_path={"fms": Range(0.80, 1.00), "licensed_production": Range(0.90, 1.30)},
    exchange_rate=Range(0.90, 1.10))
SEED = 2026
KEY = "bench-evaluator-key-0123456789abcdef"
T = TypeVar("T")
M = TypeVar("M", Tally, CoreTally)


@dataclass(frozen=True)
class Part:
    name: str
    seconds: float  # wall clock
    cpu: float  # CPU seconds of every process that worked on it
    samples: int = 0


def generated_batch(size: int) -> tuple[Proposals, list[dict[str, Any]]]:
    ruleset = load_ruleset(ROOT / "rules" / "japan-fy2026.yaml")
    engine = Engine(ruleset, "native")
    rng = random.Random(7)
    proposals = [synthetic.proposal(rng, number) for number in range(size)]
    summaries = []
    for index, proposal in enumerate(proposals):  # generated proposals are valid
        summaries.append({**summarize(engine.assess(proposal), proposal), "index": index})
    return from_summaries(summaries, ruleset.criteria), summaries


# what forked pool processes inherit: set before the pool starts
_BATCH: dict[str, Any] = {}


def _rank_block(unit: tuple[int, int]) -> tuple[bytes, float]:
    """A block's tally, as a worker hands it back, and the CPU seconds it took."""
    start = time.process_time()
    block, size = unit
    counted = tally(_BATCH["proposals"], _BATCH["weights"], SEED, block, size, _BATCH["top_k"])
    return counted.to_bytes(), time.process_time() - start


def _portfolio_chunk(samples: range) -> tuple[bytes, float]:
    start = time.process_time()
    counted = core_tally(_BATCH["proposals"], _BATCH["weights"], _BATCH["costs"], SEED,
                         samples, None, "JPY")
    return counted.to_bytes(), time.process_time() - start


def _timed(work: Callable[[], T]) -> tuple[T, float, float]:
    """What ``work`` returns, its wall-clock seconds and the CPU seconds of this process."""
    start, cpu = time.perf_counter(), time.process_time()
    found = work()
    return found, time.perf_counter() - start, time.process_time() - cpu


def _merged(results: Iterable[tuple[bytes, float]], kind: type[M]) -> tuple[M, float]:
    """The tallies of ``results`` merged, and the CPU seconds the workers spent on them."""
    tallies, cpu = [], 0.0
    for data, seconds in results:
        tallies.append(kind.from_bytes(data))
        cpu += seconds
    return reduce(lambda a, b: a.merge(b), tallies), cpu


def measure(size: int, samples: int, portfolio_samples: int, processes: int,
            top_k: int = 10) -> list[Part]:
    (proposals, summaries), scoring, _ = _timed(lambda: generated_batch(size))
    print(f"{size:,} generated proposals scored in {scoring:.1f} s", flush=True)
    plan = Plan(samples, portfolio_samples, top_k, SEED)
    weights: WeightSampler = weight_sampler(proposals.criteria, proposals.weights, UNCERTAINTY)
    _BATCH.update(proposals=proposals, weights=weights, top_k=top_k,
                  costs=CostSampler(proposals, UNCERTAINTY))
    plain = min((_timed(lambda: sorted(summaries, key=lambda s: (-s["overall_score"],
                                                                  s["index"])))[1:]
                 for _ in range(5)), key=lambda timing: timing[1])
    parts = [Part("plain ranking, as the service ranks (baseline)", *plain, 1)]
    _, seconds, cpu = _timed(lambda: weight_stability(proposals, top_k))
    parts.append(Part("weight stability, exact, every criterion", seconds, cpu))
    units = plan.rank_blocks()
    (one, _), seconds, cpu = _timed(lambda: _merged(map(_rank_block, units), Tally))
    parts.append(Part("rank acceptability, 1 process", seconds, cpu, samples))
    chunks = plan.portfolio_chunks(4 * processes)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        list(pool.map(int, range(processes)))  # processes started before any timing
        (shared, work), seconds, cpu = _timed(
            lambda: _merged(pool.map(_rank_block, units), Tally))
        parts.append(Part(f"rank acceptability, {processes} processes", seconds, cpu + work,
                          samples))
        (core, work), seconds, cpu = _timed(
            lambda: _merged(pool.map(_portfolio_chunk, chunks), CoreTally))
        parts.append(Part(f"portfolio core indices, {processes} processes", seconds,
                          cpu + work, portfolio_samples))

        def job() -> float:
            ranks = [pool.submit(_rank_block, unit) for unit in units]
            cores = [pool.submit(_portfolio_chunk, chunk) for chunk in chunks]
            weight_stability(proposals, top_k)
            counted, rank_cpu = _merged((r.result() for r in ranks), Tally)
            rank_acceptability(proposals, counted)
            funded, core_cpu = _merged((c.result() for c in cores), CoreTally)
            core_indices(funded)
            return rank_cpu + core_cpu

        work, seconds, cpu = _timed(job)
        parts.append(Part(f"job: all of the above, {processes} processes", seconds, cpu + work,
                          samples))
    assert rank_acceptability(proposals, one).proposals == rank_acceptability(
        proposals, shared).proposals, "the pool must give what one process gives"
    found = core_indices(core)
    print(f"tally of one block: {len(_rank_block(units[0])[0]) / 1e6:.1f} MB; portfolio: "
          f"{sum(c.status == 'core' for c in found.proposals)} core, "
          f"{sum(c.status == 'borderline' for c in found.proposals)} borderline, "
          f"{found.inexact} inexact samples")
    return parts


def table(parts: list[Part]) -> str:
    baseline = parts[0].cpu
    lines = ["| part | wall s | CPU s | CPU per sample | ÷ plain ranking |",
             "|---|---|---|---|---|"]
    for part in parts:
        each = part.cpu / part.samples if part.samples else None
        lines.append(f"| {part.name} | {part.seconds:.3f} | {part.cpu:.3f} | "
                     f"{'' if each is None else f'{each * 1e3:.2f} ms'} | "
                     f"{'' if each is None else f'{each / baseline:.2f}×'} |")
    return "\n".join(lines)


@dataclass(frozen=True)
class ServiceRun:
    proposals: int
    samples: int
    portfolio_samples: int
    seconds: float  # POST …/robustness to the job done
    cpu: dict[str, float]  # CPU seconds by process, over that time
    portfolio_seconds: float  # the plain portfolio of the same batch (GET …/portfolio)
    ranking_seconds: float  # the ranked CSV download of the same batch
    polls: int


def _ruleset_with_uncertainty(folder: Path) -> Path:
    """The shipped ruleset with ``UNCERTAINTY`` declared, beside a copy of its context."""
    shutil.copytree(ROOT / "rules" / "context", folder / "context")
    declared = {"uncertainty": {
        "weights": {name: [r.low, r.high] for name, r in UNCERTAINTY.weights.items()},
        "cost_by_path": {path: [r.low, r.high] for path, r in UNCERTAINTY.cost_by_path.items()},
        "exchange_rate": [UNCERTAINTY.exchange_rate.low, UNCERTAINTY.exchange_rate.high]
        if UNCERTAINTY.exchange_rate else None}}
    path = folder / "japan-fy2026-uncertain.yaml"
    text = (ROOT / "rules" / "japan-fy2026.yaml").read_text()
    path.write_text(f"{text.rstrip()}\n{yaml.safe_dump(declared, sort_keys=False)}")
    return path


def through_the_service(size: int, samples: int, processes: int) -> ServiceRun:
    logs = Path(tempfile.mkdtemp(prefix="bench-robustness-"))
    rng = random.Random(7)
    upload = "\n".join(json.dumps(synthetic.proposal(rng, n)) for n in range(size)) + "\n"
    redis_url, server = own_redis(logs)
    env = {**os.environ, "REDIS_URL": redis_url, "POLICY_ENGINE": "native",
           "POLICY_RULESET": str(_ruleset_with_uncertainty(logs)),
           "API_KEYS": f"bench:evaluator:{digest(KEY)}", "RATE_LIMIT": "1000000/minute",
           "PYTHONUNBUFFERED": "1"}
    auth = {"Authorization": f"Bearer {KEY}"}
    worker = celery_worker("service.worker.app", env, logs / "worker.log", processes)
    api, url = gunicorn("service.api.wsgi:app", env, logs / "api.log", "--worker-class",
                        "gthread", "--workers", "1", "--threads", "8")
    try:
        sent = requests.post(f"{url}/v1/batches", data=upload.encode(), timeout=600,
                             headers={**auth, "Content-Type": "application/x-ndjson"})
        batch = url + sent.headers["Location"]
        while requests.get(batch, headers=auth, timeout=60).json()["status"] != "done":
            time.sleep(0.5)
        print(f"{size:,} proposals scored by the service (not timed)", flush=True)

        def timed_get(path: str, **params: str) -> float:
            start = time.perf_counter()
            response = requests.get(f"{batch}/{path}", params=params, headers=auth, timeout=600)
            response.raise_for_status()
            return time.perf_counter() - start

        portfolio = min(timed_get("portfolio") for _ in range(3))
        ranking = min(timed_get("results", format="csv") for _ in range(3))
        watched = {"worker pool": children(worker.pid), "worker main": [worker.pid],
                   "API": children(api.pid), "Redis": [server.pid]}
        before = {name: sum(cpu_seconds(p) for p in pids) for name, pids in watched.items()}
        start = time.perf_counter()
        started = requests.post(f"{batch}/robustness", json={"samples": samples}, headers=auth,
                                timeout=600)
        if started.status_code != 202:
            raise SystemExit(f"bench: {started.status_code} {started.text[:300]}")
        polls = 0
        while True:
            polls += 1
            job = requests.get(url + started.headers["Location"], headers=auth, timeout=600)
            if job.status_code != 202:
                break
            time.sleep(0.5)
        seconds = time.perf_counter() - start
        found = job.json()
        if found["status"] != "done":
            raise SystemExit(f"bench: the job ended {found['status']}: {found.get('error')}")
        cpu = {name: sum(cpu_seconds(p) for p in pids) - before[name]
               for name, pids in watched.items()}
        return ServiceRun(size, samples, found["result"]["portfolio"]["samples"], seconds, cpu,
                          portfolio, ranking, polls)
    finally:
        stop(api)
        stop(worker)
        stop(server)


def service_table(run: ServiceRun) -> str:
    cpu = ", ".join(f"{name} {seconds:.1f}" for name, seconds in run.cpu.items())
    return "\n".join([
        "| through the service | wall s | ÷ baseline |", "|---|---|---|",
        f"| baseline: plain portfolio of the batch (GET …/portfolio) | "
        f"{run.portfolio_seconds:.2f} | 1× |",
        f"| baseline: ranked CSV download of the batch | {run.ranking_seconds:.2f} | "
        f"{run.ranking_seconds / run.portfolio_seconds:.1f}× |",
        f"| robustness job: {run.samples:,} samples ({run.portfolio_samples} portfolio) of "
        f"{run.proposals:,} proposals, POST to result | {run.seconds:.1f} | "
        f"{run.seconds / run.portfolio_seconds:.0f}× |",
        "", f"CPU seconds over the job: {cpu} ({sum(run.cpu.values()):.1f} in all; "
            f"{run.polls} polls of the job)"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proposals", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--portfolio-samples", type=int, default=Plan().portfolio_samples)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--service", action="store_true",
                        help="through Redis, a 2-process worker and the API")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start",
          flush=True)
    if args.service:
        print(service_table(through_the_service(args.proposals, args.samples,
                                                args.processes)))
        print(f"load average {os.getloadavg()[0]:.2f} at the end")
        return
    print(table(measure(args.proposals, args.samples, args.portfolio_samples,
                        args.processes)))


if __name__ == "__main__":
    main()
