"""``policy-eval score FILE``: score a batch file, with a progress bar, locally or on a service.

Locally (the default) the file is split into the chunks the API makes (``intake.chunks``) and
they are scored by a pool of worker processes, one per core, each with its own engine built
after the fork from the ruleset registry, through the same ``score_chunk`` as the chunk task:
the same file gives the same scores here and on the service, and the output files are written
by the same code as the service's downloads. No Celery app is involved.

With ``--url`` the file is uploaded to ``POST /v1/batches``, its progress polled, and the
results downloaded; Ctrl-C cancels the batch on the service.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from schemas.vocabulary import EXPLAIN_LEVELS
from service.batch import intake, portfolio, report
from service.batch.chunks import Chunk, Scored, score_chunk
from service.batch.formats import EXTENSIONS, MEDIA_TYPE_OF, CountingReader, Format, UploadError
from service.batch.settings import BatchSettings
from service.cli.client import BAD_INPUT, OK, USAGE, add_remote_arguments, fail
from service.config import Settings
from service.engine import Explain, Mode
from service.registry.engines import EngineCache, file_engines

POLL_SECONDS = 0.5


def add_score_command(commands: Any) -> None:
    score = commands.add_parser(
        "score", help="score a batch file (JSON array, JSON Lines or CSV) with a progress bar",
        description="Score every proposal of FILE; print the best ones, or write all of them "
                    "ranked to -o. Exit status 1 when some proposals could not be scored.")
    score.add_argument("file", type=Path, help="a .json (array), .jsonl or .csv file")
    score.add_argument("-o", "--output", type=Path,
                       help="write every result, ranked, to a .csv or .jsonl file")
    score.add_argument("--portfolio", metavar="BUDGET",
                       help="the best set within BUDGET (a number in --currency), or "
                            "'envelopes' for each capability area's remaining envelope")
    score.add_argument("--currency", choices=("JPY", "USD"), default="JPY")
    score.add_argument("--sort", default="overall_score",
                       help="rank by overall_score (default) or a criterion")
    score.add_argument("--explain", choices=EXPLAIN_LEVELS, default="summary")
    add_remote_arguments(score, required=False)  # --url: score on a service, not locally
    score.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                       help="local worker processes (default: one per core)")
    score.add_argument("--ruleset", type=Path, default=None,
                       help="local: default POLICY_RULESET, else the shipped ruleset")
    score.add_argument("--engine", choices=("durable", "native"), default="durable")
    score.set_defaults(run=cmd_score)


@dataclass
class Outcome:
    """Everything scored, held compactly: summaries in memory, full evaluations (only needed
    for JSON Lines) spilled to a temporary file."""

    summaries: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    spill: IO[bytes] | None = None
    offsets: dict[int, tuple[int, int]] = field(default_factory=dict)
    criteria: list[str] = field(default_factory=list)

    def add(self, results: list[tuple[int, int, dict[str, Any] | None, bytes | None]]) -> None:
        for index, line, body, evaluation in results:
            if body is not None and "errors" in body:
                self.failures.append(body)
                continue
            assert body is not None
            self.summaries.append({"index": index, "line": line, **body})
            if not self.criteria:
                self.criteria = list(body["scores"])
            if evaluation is not None and self.spill is not None:
                self.offsets[index] = (self.spill.tell(), len(evaluation))
                self.spill.write(evaluation)

    def evaluation(self, index: int) -> bytes:
        assert self.spill is not None
        offset, length = self.offsets[index]
        self.spill.seek(offset)
        return self.spill.read(length)


def _format_of(path: Path) -> Format:
    found = next((fmt for ext, fmt in EXTENSIONS.items() if path.name.lower().endswith(ext)),
                 None)
    if found is None:
        fail(f"{path}: cannot tell the format; name it .json, .jsonl or .csv")
    return found


def cmd_score(args: argparse.Namespace, console: Console) -> int:
    fmt = _format_of(args.file)
    if not args.file.is_file():
        fail(f"no such file: {args.file}")
    if args.output is not None and args.output.suffix not in (".csv", ".jsonl"):
        fail(f"{args.output}: the output must be a .csv or .jsonl file")
    budget = _budget(args.portfolio)
    if args.url:
        return _score_remotely(args, fmt, budget, console)
    return _score_locally(args, fmt, budget, console)


def _budget(text: str | None) -> float | None:
    if text is None or text == "envelopes":
        return None
    try:
        value = float(text.replace("_", "").replace(",", ""))
    except ValueError:
        fail(f"--portfolio: {text!r} is not a number (or 'envelopes')")
    if not value > 0:
        fail("--portfolio: the budget must be positive")
    return value


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("[bold]scoring"), BarColumn(), MofNCompleteColumn(),
                    TaskProgressColumn(), TextColumn("{task.fields[rate]}"),
                    TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                    console=console, transient=False)


# --- local: a process pool --------------------------------------------------------------------

_engines: EngineCache | None = None


def _start_worker(ruleset: Path | None, mode: Mode) -> None:
    """In each pool process, after the fork: this process's engines (durable-rules state must
    not cross a fork), for the ruleset file given, else POLICY_RULESET or the shipped one."""
    global _engines
    _engines = file_engines(ruleset or Settings.from_env().ruleset, mode)


def _score_in_worker(chunk: Chunk, keep_evaluations: bool
                     ) -> list[tuple[int, int, dict[str, Any] | None, bytes | None]]:
    assert _engines is not None, "the pool's initializer builds the engines"
    found: list[tuple[int, int, dict[str, Any] | None, bytes | None]] = []
    for outcome in score_chunk(_engines.engine(), chunk):
        if isinstance(outcome, Scored):
            evaluation = (json.dumps(outcome.evaluation, ensure_ascii=False,
                                     separators=(",", ":")).encode()
                          if keep_evaluations else None)
            found.append((outcome.index, outcome.line, outcome.summary, evaluation))
        else:
            found.append((outcome.index, outcome.line, outcome.as_dict(), None))
    return found


def _chunks(path: Path, fmt: Format, explain: Explain, settings: BatchSettings
            ) -> Iterator[tuple[Chunk, int]]:
    """The file's chunks, as the API makes them, each with how many of the file's bytes have
    been read (for the estimate)."""
    with path.open("rb") as stream:
        reader = CountingReader(stream)
        for chunk in intake.chunks(fmt, explain, reader, settings):
            yield chunk, reader.bytes_read


def _ready() -> bool:
    return True


def _score_locally(args: argparse.Namespace, fmt: Format, budget: float | None,
                   console: Console) -> int:
    workers = max(1, args.workers)
    keep = args.output is not None and args.output.suffix == ".jsonl"
    settings = BatchSettings.from_env()
    file_size = max(args.file.stat().st_size, 1)
    with tempfile.TemporaryFile() as spill:
        outcome = Outcome(spill=spill if keep else None)
        if not _score_into(args, fmt, workers, keep, settings, file_size, outcome, console):
            return USAGE
        return _finish(args, outcome, budget, console)


def _score_into(args: argparse.Namespace, fmt: Format, workers: int, keep: bool,
                settings: BatchSettings, file_size: int, outcome: Outcome, console: Console
                ) -> bool:
    """Score the file into ``outcome``; False when the file cannot be read."""
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                             initializer=_start_worker,
                             initargs=(args.ruleset, args.engine)) as pool:
        # fork every worker before the progress bar starts its refresh thread: a fork while
        # another thread holds a lock can leave the child waiting on it forever
        pool.submit(_ready).result()
        started = time.monotonic()
        try:
            with _progress(console) as progress:
                bar = progress.add_task("score", total=None, rate="")
                pending: set[Future[Any]] = set()
                read = done = 0
                for chunk, position in _chunks(args.file, fmt, args.explain, settings):
                    read += len(chunk.items)
                    # until the file is read, the total is extrapolated from the bytes so far
                    progress.update(bar, total=max(read, round(read * file_size / position)))
                    pending.add(pool.submit(_score_in_worker, chunk, keep))
                    if len(pending) >= 2 * workers:  # bounded: never the whole file in memory
                        done += _collect(pending, outcome)
                        progress.update(bar, completed=done, rate=_rate(done, started))
                progress.update(bar, total=read)
                while pending:
                    done += _collect(pending, outcome)
                    progress.update(bar, completed=done, rate=_rate(done, started))
        except UploadError as error:
            console.print(f"[red]{args.file}: {error}[/]", highlight=False)
            return False
    return True


def _rate(done: int, started: float) -> str:
    return f"{done / max(time.monotonic() - started, 1e-3):,.0f}/s"


def _collect(pending: set[Future[Any]], outcome: Outcome) -> int:
    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
    count = 0
    for future in finished:
        pending.discard(future)
        results = future.result()
        outcome.add(results)
        count += len(results)
    return count


def _ranked(outcome: Outcome, sort: str) -> list[dict[str, Any]]:
    def key(summary: dict[str, Any]) -> tuple[float, int]:
        value = summary["overall_score"] if sort == "overall_score" else summary["scores"][sort]
        return (-value, summary["index"])

    return sorted(outcome.summaries, key=key)


def _finish(args: argparse.Namespace, outcome: Outcome, budget: float | None,
            console: Console) -> int:
    if outcome.summaries and args.sort != "overall_score" and args.sort not in outcome.criteria:
        fail(f"--sort: use overall_score or one of {', '.join(outcome.criteria)}")
    ranked = _ranked(outcome, args.sort)
    failures = sorted(outcome.failures, key=lambda f: f["index"])
    if args.output is not None:
        with args.output.open("wb") as out:
            if args.output.suffix == ".csv":
                out.write(report.csv_bytes([report.csv_header(outcome.criteria)]))
                out.write(report.csv_bytes(report.scored_row(rank, s, outcome.criteria)
                                           for rank, s in enumerate(ranked, 1)))
                out.write(report.csv_bytes(report.failed_row(f, outcome.criteria)
                                           for f in failures))
            else:
                for rank, summary in enumerate(ranked, 1):
                    out.write(report.jsonl_scored(rank, summary,
                                                  outcome.evaluation(summary["index"])))
                for failure in failures:
                    out.write(report.jsonl_failed(failure))
    _print_summary(ranked, failures, outcome.criteria, console, args.output)
    if args.portfolio is not None:
        _print_portfolio(portfolio.build(ranked, failures, budget, args.currency), console)
    return BAD_INPUT if failures else OK


def _print_summary(ranked: list[dict[str, Any]], failures: list[dict[str, Any]],
                   criteria: list[str], console: Console, output: Path | None,
                   scored: int | None = None, failed: int | None = None) -> None:
    scored = len(ranked) if scored is None else scored
    failed = len(failures) if failed is None else failed
    table = Table(title=f"Best {min(10, len(ranked))} of {scored:,} scored",
                  title_justify="left")
    for column in ("rank", "line", "proposal", "overall", *criteria, "recommendation"):
        table.add_column(column, justify="left" if column in ("proposal", "recommendation")
                         else "right")
    for rank, summary in enumerate(ranked[:10], 1):
        table.add_row(str(rank), str(summary.get("line")),
                      summary.get("proposal_id") or summary["title"],
                      f"{summary['overall_score']:.2f}",
                      *(f"{summary['scores'].get(c, 0):.1f}" for c in criteria),
                      summary["recommendation"].replace("_", " "))
    console.print(table)
    console.print(f"{scored + failed:,} proposals: {scored:,} scored, "
                  f"{failed:,} could not be scored", highlight=False)
    for failure in failures[:5]:
        errors = "; ".join(f"{e['field']}: {e['message']}" for e in failure["errors"])
        console.print(f"  [red]item {failure['index']} (line {failure.get('line')}):[/] "
                      f"{errors}", highlight=False)
    if failed > 5:
        console.print(f"  … and {failed - 5:,} more"
                      + (f" (all in {output})" if output else ""), highlight=False)
    if output is not None:
        console.print(f"wrote {output}", highlight=False)


def _print_portfolio(doc: dict[str, Any], console: Console) -> None:
    symbol = portfolio.SYMBOL[doc["currency"]]
    state = "optimal" if doc["exact"] else f"within {doc['max_shortfall']:g} points of optimal"
    console.print(f"\n[bold]Portfolio[/] ({doc['budget_basis'].replace('_', ' ')}): "
                  f"{len(doc['chosen']):,} funded, total score {doc['total_score']:,.2f} "
                  f"({state}), {symbol}{doc['spent']:,.0f} of {symbol}{doc['budget']:,.0f}",
                  highlight=False)
    reasons = Counter(e["reason"] for e in doc["excluded"])
    console.print("excluded: " + (", ".join(f"{n:,} {reason.replace('_', ' ')}"
                                          for reason, n in reasons.most_common()) or "none"),
                  highlight=False)


# --- remote: the service ----------------------------------------------------------------------


def _request(url: str, method: str = "GET", data: Any = None,
             headers: dict[str, str] | None = None, key: str | None = None) -> Any:
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        return urllib.request.urlopen(request, timeout=600)
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            problem = json.loads(raw)
        except ValueError:
            problem = {"detail": raw.decode(errors="replace")[:300]}
        fail(f"{method} {url} answered {error.code}: {problem.get('detail') or problem}")
    except urllib.error.URLError as error:
        fail(f"cannot reach {url}: {error.reason}")


def _score_remotely(args: argparse.Namespace, fmt: Format, budget: float | None,
                    console: Console) -> int:
    base = args.url.rstrip("/")
    with args.file.open("rb") as body:
        headers = {"Content-Type": MEDIA_TYPE_OF[fmt], "Accept": "application/json",
                   "Content-Length": str(args.file.stat().st_size)}
        with _request(f"{base}/v1/batches?explain={args.explain}", "POST", body, headers,
                      args.key) as answer:
            location = urllib.parse.urljoin(base + "/", answer.headers["Location"])
            status = json.loads(answer.read())
    try:
        status = _follow(location, status, args.key, console)
    except KeyboardInterrupt:
        _request(location, "DELETE", key=args.key).close()
        console.print("[yellow]cancelled the batch on the service[/]")
        return 130
    query = urllib.parse.urlencode({"sort": args.sort})
    if args.output is not None:
        fmt_out = args.output.suffix.lstrip(".")
        with _request(f"{location}/results?{query}&format={fmt_out}", key=args.key
                      ) as download, args.output.open("wb") as out:
            while block := download.read(1 << 16):
                out.write(block)
    with _request(f"{location}/results?{query}&page_size=10", key=args.key) as page:
        best = json.loads(page.read())["items"]
    with _request(f"{location}/failures?page_size=5", key=args.key) as page:
        failures = json.loads(page.read())["items"]
    criteria = list(best[0]["scores"]) if best else []
    _print_summary(best, failures, criteria, console, args.output, status["done"],
                   status["failed"])
    if args.portfolio is not None:
        params: dict[str, str] = {"currency": args.currency}
        if budget is not None:
            params["budget"] = repr(budget)
        with _request(f"{location}/portfolio?{urllib.parse.urlencode(params)}",
                      key=args.key) as answer:
            _print_portfolio(json.loads(answer.read()), console)
    return BAD_INPUT if status["failed"] else OK


def _follow(location: str, status: dict[str, Any], key: str | None, console: Console
            ) -> dict[str, Any]:
    with _progress(console) as progress:
        bar = progress.add_task("score", total=status["total"], rate="")
        while True:
            processed = status["done"] + status["failed"]
            rate = status.get("rate_per_second")
            progress.update(bar, completed=processed, rate=f"{rate:,.0f}/s" if rate else "")
            if status["status"] in ("done", "cancelled"):
                return status
            time.sleep(POLL_SECONDS)
            with _request(location, key=key) as answer:
                status = json.loads(answer.read())
