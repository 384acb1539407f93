"""Every benchmark in one run, each figure beside its baseline measured in the same
run on the same machine: ``python -m bench.run`` (about 8 minutes; it starts its own Redis
servers, workers and API processes, and redraws docs/scaling.png).

Absolute figures vary from machine to machine; the ratios are what the targets are set on.
"""

from __future__ import annotations

import argparse
import os
import platform
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bench import batch, counterfactuals, engine, http, portfolio, robustness, scaling
from bench.processes import ROOT


@dataclass(frozen=True)
class Line:
    figure: str
    measured: str
    baseline: str
    ratio: float
    target: float
    # a target in wall-clock seconds instead of a ratio: the figure's own seconds, and the limit
    seconds: float | None = None
    within: float | None = None

    def markdown(self) -> str:
        if self.seconds is not None and self.within is not None:
            met = "yes" if self.seconds <= self.within else "**no**"
            return (f"| {self.figure} | {self.measured} | {self.baseline} | {self.ratio:.0f}× | "
                    f"≤ {self.within:g} s | {met} |")
        met = "yes" if self.ratio >= self.target else "**no**"
        return (f"| {self.figure} | {self.measured} | {self.baseline} | {self.ratio:.2f}× | "
                f"≥ {self.target:g}× | {met} |")


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.machine())
    return (f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{date.today()}, load average {os.getloadavg()[0]:.2f} at the start")


def engine_lines(figures: dict[str, engine.Figure]) -> list[Line]:
    return [Line(name, f"{figure.rate:,.0f}/s ({figure.us:,.0f} µs)",
                 f"{baseline.name}: {baseline.rate:,.0f}/s", figure.rate / baseline.rate, target)
            for name, figure, baseline, target in engine.rows(figures)]


def http_lines(seconds: float, clients: int) -> list[Line]:
    comparisons = http.measure(seconds, clients)
    for c in comparisons:
        if c.cpu_ms:
            print(f"CPU ms per request, {c.figure}: {http.cpu_line(c.cpu_ms)}; baseline: "
                  f"{http.cpu_line(c.baseline_cpu_ms)}", flush=True)
    return [Line(c.figure, f"{c.measured.rate:,.0f}/s, p50 {c.measured.p50:.1f} ms, p99 "
                           f"{c.measured.p99:.1f} ms, {c.measured.errors} errors",
                 f"{c.baseline_name}: {c.baseline.rate:,.0f}/s, p50 {c.baseline.p50:.1f} ms, "
                 f"p99 {c.baseline.p99:.1f} ms", c.ratio, c.target)
            for c in comparisons]


def batch_lines(sizes: list[int], engine_seconds: float, raw: engine.Figure) -> list[Line]:
    """Each batch through the service and with ``policy-eval score``, against the engine alone
    (≥ 1.5×) and, for the largest, against raw durable-rules as usually driven (≥ 4×)."""
    runs = batch.measure(["native", "durable"], sizes, engine_seconds=engine_seconds)
    for r in runs:
        print(f"CPU ms per proposal, batch of {r.size:,}, {r.engine}: {batch.cpu_parts(r)}; "
              f"engine alone {1000 / r.engine_rate:.3f}", flush=True)
    lines = []
    for r in runs:
        for how, rate in (("through the service", r.rate),
                          ("`policy-eval score --workers 2`", r.local_rate)):
            lines.append(Line(f"batch of {r.size:,}, {r.engine} engine, {how}",
                              f"{rate:,.0f}/s end to end", f"engine alone, 1 process: "
                              f"{r.engine_rate:,.0f}/s", rate / r.engine_rate, 1.5))
            if r.size == max(sizes):
                lines.append(Line(f"batch of {r.size:,}, {r.engine} engine, {how}",
                                  f"{rate:,.0f}/s end to end",
                                  f"{raw.name}: {raw.rate:,.0f}/s", rate / raw.rate, 4.0))
    by_size = {(r.engine, r.size): r.api_peak_mb for r in runs}
    small, large = min(sizes), max(sizes)
    for mode in ("native", "durable"):
        growth = by_size[(mode, large)] / by_size[(mode, small)]
        lines.append(Line(f"API peak memory, {mode}: {large:,} vs {small:,} proposals",
                          f"{by_size[(mode, large)]:.0f} MB", f"{by_size[(mode, small)]:.0f} MB",
                          1 / growth, 0.9))
    return lines


def portfolio_lines() -> list[Line]:
    envelopes, one_budget = portfolio.measure()
    return [Line("portfolio of 10,000 what-if variants, each capability area's envelope",
                 f"{envelopes.seconds * 1000:,.0f} ms ({envelopes.groups} areas, "
                 f"exact: {envelopes.exact})",
                 f"{one_budget.name}, same proposals: {one_budget.seconds * 1000:,.0f} ms "
                 f"(exact: {one_budget.exact})", one_budget.seconds / envelopes.seconds, 0.5)]


def counterfactual_lines(generated: int) -> list[Line]:
    found = counterfactuals.measure(generated)
    return [Line(f"counterfactual search per proposal, shipped ruleset, {found.proposals} "
                 "proposals", f"p50 {found.search_p50_ms:.1f} ms, p90 {found.search_p90_ms:.1f} ms",
                 f"the explain=full evaluation it is added to: p50 "
                 f"{found.evaluation_p50_ms:.2f} ms",
                 found.search_p50_ms / found.evaluation_p50_ms, 0.0,
                 found.search_p50_ms / 1000, counterfactuals.TARGET_MS / 1000)]


def robustness_lines(size: int, samples: int) -> list[Line]:
    run = robustness.through_the_service(size, samples, processes=2)
    print(robustness.service_table(run), flush=True)
    return [Line(f"robustness of a batch of {size:,}: {samples:,} samples "
                 f"({run.portfolio_samples} portfolio), 2 worker processes, job start to result",
                 f"{run.seconds:.1f} s ({sum(run.cpu.values()):.1f} CPU s)",
                 f"the batch's plain portfolio, same API: {run.portfolio_seconds:.2f} s",
                 run.seconds / run.portfolio_seconds, 0.0, run.seconds, 60.0)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine-seconds", type=float, default=1.0,
                        help="per contender of bench.engine (taking turns)")
    parser.add_argument("--http-seconds", type=float, default=15.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--batch-sizes", default="10000,100000")
    parser.add_argument("--scaling-seconds", type=float, default=0.5)
    args = parser.parse_args()
    header = f"machine: {machine()}"
    print(header, flush=True)
    figures = engine.measure(args.engine_seconds)
    lines = [*engine_lines(figures), *http_lines(args.http_seconds, args.clients),
             *batch_lines([int(s) for s in args.batch_sizes.split(",")], 10.0,
                          figures[engine.RAW]),
             *portfolio_lines(), *counterfactual_lines(300), *robustness_lines(10_000, 10_000)]
    rows = scaling.measure(args.scaling_seconds)
    scaling.plot(rows, ROOT / "docs" / "scaling.png")
    print(f"\n{header}\n")
    print("| figure | measured | baseline (same run) | ratio | target | met |")
    print("|---|---|---|---|---|---|")
    for line in lines:
        print(line.markdown())
    print("\nScaling (docs/scaling.png):\n")
    print(scaling.table(rows))


if __name__ == "__main__":
    main()
