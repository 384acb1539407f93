"""``policy-eval robustness FILE``: how far a batch file's ranking and portfolio hold under the
uncertainty its ruleset declares, locally or on a service, with a progress bar and tables.

Locally the file is scored as ``policy-eval score`` scores it (a pool of processes, the same
chunks and summaries as the service), then analysed as the service's job analyses it: the same
units (``analysis.Plan.units``), shared over the same pool, combined the same way. With
``--url`` the file is uploaded, scored and analysed by the service (``POST /v1/batches``, then
``POST /v1/batches/{id}/robustness``), each followed to its end, and the result and charts
downloaded; Ctrl-C cancels what is running there.

The seed, unless given, is derived from the file's bytes, so the same file gives the same
answer, locally and on a service alike. ``-o report.json`` writes the result, and its charts
beside it (``report-tornado.svg``, …); progress goes to stderr, the tables to stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import time
import urllib.parse
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from schemas.robustness import MAX_SAMPLES, MAX_SEED, MAX_TOP_K
from service.batch.formats import MEDIA_TYPE_OF, Format
from service.batch.settings import BatchSettings
from service.cli import output
from service.cli.client import BAD_INPUT, OK, ServiceError, call, fail, refuse
from service.cli.problems import load_engine, ruleset_path
from service.cli.score import (
    POLL_SECONDS,
    Outcome,
    _budget,
    _follow,
    _format_of,
    _request,
    _score_into,
)
from service.robustness.analysis import Inputs, Plan, Unit, combine, run_unit
from service.robustness.job import Refused, Request, default_seed, prepare, result

SHOWN = 10  # proposals in the printed tables; the report has every one
BOUNDS = {"samples": (1, MAX_SAMPLES), "top_k": (1, MAX_TOP_K), "seed": (0, MAX_SEED)}


def cmd_robustness(args: argparse.Namespace, console: Console) -> int:
    fmt = _format_of(args.file)
    if not args.file.is_file():
        fail(f"no such file: {args.file}")
    for name, (low, high) in BOUNDS.items():
        value = getattr(args, name)
        if value is not None and not low <= value <= high:
            fail(f"--{name.replace('_', '-')}: must be from {low:,} to {high:,}")
    if args.output is not None and args.output.suffix != ".json":
        fail(f"{args.output}: the report must be a .json file")
    if args.output is not None and not args.output.parent.is_dir():
        fail(f"{args.output}: no such directory {args.output.parent}")
    budget = _budget(args.portfolio)
    if budget is None and args.currency != "JPY":
        fail("--currency USD needs a --portfolio budget: the envelopes are in JPY")
    seed = args.seed if args.seed is not None else _file_seed(args.file)
    if args.url:
        found, charts = _remotely(args, fmt, budget, seed)
    else:
        found, charts = _locally(args, fmt, budget, seed)
    if args.output is not None:
        found = {**found, "charts": _write(args.output, found, charts)}
        output.console(stderr=True).print(f"wrote {args.output} and its charts beside it")
    _print(found, console)
    return OK


def _file_seed(path: Path) -> int:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return default_seed(digest.hexdigest())


def _bar() -> Progress:
    """The analysis's progress bar, on stderr as the scoring's is."""
    return Progress(TextColumn("[bold]analysing"), BarColumn(), TaskProgressColumn(),
                    TimeElapsedColumn(), console=output.console(stderr=True), transient=False)


# --- locally ----------------------------------------------------------------------------------

_given: dict[str, Inputs] = {}  # what the pool's processes inherit: set before the pool forks


def _run_unit(plan: Plan, unit: Unit) -> bytes:
    return run_unit(_given["inputs"], plan, unit)


def _locally(args: argparse.Namespace, fmt: Format, budget: float | None, seed: int
             ) -> tuple[dict[str, Any], dict[str, str]]:
    path = ruleset_path(args.ruleset)
    ruleset = load_engine(path, "native", output.console(stderr=True)).ruleset
    outcome = Outcome()  # summaries only: all the analysis reads
    if not _score_into(args, fmt, path, max(1, args.workers), False, BatchSettings.from_env(),
                       max(args.file.stat().st_size, 1), outcome):
        raise SystemExit(BAD_INPUT)
    request = Request("", ruleset.version, args.samples, args.top_k, seed, budget,
                      args.currency)
    try:
        _given["inputs"] = prepare(outcome.summaries, ruleset, request)
    except Refused as refusal:
        refuse(str(refusal))
    plan = request.plan
    units = plan.units()
    outputs: list[bytes] = [b""] * len(units)
    with ProcessPoolExecutor(max(1, args.workers),
                             mp_context=multiprocessing.get_context("fork")) as pool:
        # every process forked before the bar starts its refresh thread (as score does)
        futures = {pool.submit(_run_unit, plan, unit): number
                   for number, unit in enumerate(units)}
        with _bar() as progress:
            bar = progress.add_task("analyse", total=sum(unit.steps for unit in units))
            for future in as_completed(futures):
                number = futures[future]
                outputs[number] = future.result()
                progress.advance(bar, units[number].steps)
    found, charts = result(combine(_given.pop("inputs"), plan, outputs), request)
    return {**found, "batch_id": None, "file": str(args.file)}, charts


# --- on a service -----------------------------------------------------------------------------


def _remotely(args: argparse.Namespace, fmt: Format, budget: float | None, seed: int
              ) -> tuple[dict[str, Any], dict[str, str]]:
    base = args.url.rstrip("/")
    with args.file.open("rb") as body:
        headers = {"Content-Type": MEDIA_TYPE_OF[fmt], "Accept": "application/json",
                   "Content-Length": str(args.file.stat().st_size)}
        with _request(f"{base}/v1/batches", "POST", body, headers, args.key) as answer:
            batch = urllib.parse.urljoin(base + "/", answer.headers["Location"])
            status = json.loads(answer.read())
    try:
        _follow(batch, status, args.key)
    except KeyboardInterrupt:
        _request(batch, "DELETE", key=args.key).close()
        output.console(stderr=True).print("[yellow]cancelled the batch on the service[/]")
        raise
    asked: dict[str, Any] = {"samples": args.samples, "top_k": args.top_k,
                             "currency": args.currency, "seed": seed}
    if budget is not None:
        asked["budget"] = budget
    try:
        started = call(base, "POST", urllib.parse.urlsplit(f"{batch}/robustness").path, asked,
                       key=args.key)
    except ServiceError as error:  # the batch cannot be analysed: the input's fault
        (refuse if error.status in (409, 422) else fail)(
            f"the service cannot analyse {args.file}: {error}")
    job = urllib.parse.urljoin(base + "/", started["links"]["self"])
    try:
        found = _follow_job(job, args.key)
    except KeyboardInterrupt:
        _request(job, "DELETE", key=args.key).close()
        output.console(stderr=True).print("[yellow]cancelled the analysis on the service[/]")
        raise
    charts = {}
    for name, link in found["charts"].items():
        with _request(urllib.parse.urljoin(base + "/", link), key=args.key) as answer:
            charts[name] = answer.read().decode()
    return {**found, "file": str(args.file)}, charts


def _follow_job(location: str, key: str | None) -> dict[str, Any]:
    with _bar() as progress:
        bar = progress.add_task("analyse", total=None)
        while True:
            with _request(location, key=key) as answer:
                job = json.loads(answer.read())
            if job["progress"]:
                progress.update(bar, total=job["progress"]["total"],
                                completed=job["progress"]["done"])
            if job["status"] == "done":
                found: dict[str, Any] = job["result"]
                return found
            if job["status"] in ("failed", "cancelled"):
                detail = (job.get("error") or {}).get("detail", "")
                fail(f"the analysis ended {job['status']} on the service. {detail}".strip())
            time.sleep(POLL_SECONDS)


# --- the report -------------------------------------------------------------------------------


def _write(path: Path, found: dict[str, Any], charts: dict[str, str]) -> dict[str, str]:
    """The report and its charts beside it; the report names the chart files."""
    names = {}
    for name, svg in charts.items():
        chart = path.with_name(f"{path.stem}-{name}.svg")
        chart.write_text(svg, encoding="utf-8")
        names[name] = chart.name
    path.write_text(json.dumps({**found, "charts": names}, indent=1, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return names


def _name(entry: dict[str, Any]) -> str:
    return str(entry.get("proposal_id") or entry.get("title") or f"item {entry['index']}")


def _who(entries: list[dict[str, Any]]) -> str:
    return ", ".join(map(_name, entries)) or "—"


def _print(found: dict[str, Any], console: Console) -> None:
    k = found["top_k"]
    stability = output.table(
        f"How far each weight can move, the others rescaled, before the first place (and the "
        f"top {k}) change", ("criterion", "weight", "first holds", "below it, first",
                             "above it, first", f"top {k} hold"), right=("weight",))
    for entry in found["weight_stability"]:
        first, top = entry["first"], entry["top_k"]
        stability.add_row(output.words(entry["criterion"]), f"{entry['weight']:.3f}",
                          f"{first['lower']:.3f} to {first['upper']:.3f}",
                          _who(first["below"]["takes_over"]), _who(first["above"]["takes_over"]),
                          f"{top['lower']:.3f} to {top['upper']:.3f}")
    output.print_table(console, stability)
    ranked = found["rank_acceptability"]
    numbers = ("rank", "first", f"top {k}", "expected rank", "5–95 %")
    acceptability = output.table(
        f"Rank acceptability over {found['samples']:,} samples: the best "
        f"{min(SHOWN, len(ranked))} of {output.plural(len(ranked), 'proposal')} by expected "
        "rank", ("proposal", *numbers), right=numbers)
    for entry in ranked[:SHOWN]:
        low, high = entry["rank_interval"]
        acceptability.add_row(_name(entry), str(entry["rank"]), f"{entry['first']:.1%}",
                              f"{entry['top_k']:.1%}", f"{entry['expected_rank']:.1f}",
                              f"{low} to {high}")
    output.print_table(console, acceptability)
    portfolio = found["portfolio"]
    statuses = [p["status"] for p in portfolio["proposals"]]
    console.print(f"Portfolio over {portfolio['samples']:,} samples: "
                  f"{statuses.count('core'):,} core (funded in at least 99 %), "
                  f"{statuses.count('borderline'):,} borderline, "
                  f"{statuses.count('exterior'):,} never funded", soft_wrap=True)
    borderline = [p for p in portfolio["proposals"] if p["status"] == "borderline"]
    for entry in borderline[:SHOWN]:
        console.print(f"  {_name(entry)}: funded in {entry['share']:.1%} "
                      f"(± {entry['standard_error']:.1%})", soft_wrap=True)
    if len(borderline) > SHOWN:
        console.print(f"  … and {len(borderline) - SHOWN:,} more borderline")
