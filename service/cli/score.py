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
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
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

from service.batch import intake, portfolio, report
from service.batch.chunks import Chunk, Scored, score_chunk
from service.batch.formats import EXTENSIONS, MEDIA_TYPE_OF, CountingReader, Format, UploadError
from service.batch.settings import BatchSettings
from service.cli import output
from service.cli.client import BAD_INPUT, OK, fail, problem_of, refuse
from service.cli.problems import load_engine, ruleset_path
from service.cli.results import SHOWN, SHOWN_FAILURES, portfolio_report, print_summary
from service.engine import Explain, Mode
from service.registry.engines import EngineCache, file_engines

POLL_SECONDS = 0.5
OUTPUTS = (".csv", ".jsonl")
PORTFOLIO_OUTPUTS = (".csv", ".json")
# the service read the upload and judged it bad (unreadable, too large, not a format it takes)
UPLOAD_REFUSED = (400, 413, 415, 422)


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
        fail(f"{path}: cannot tell the format; name it {', '.join(EXTENSIONS)}")
    return found


def cmd_score(args: argparse.Namespace, console: Console) -> int:
    fmt = _format_of(args.file)
    if not args.file.is_file():
        fail(f"no such file: {args.file}")
    if args.output is not None and args.output.suffix not in OUTPUTS:
        fail(f"{args.output}: the output must be a {' or '.join(OUTPUTS)} file")
    if args.portfolio_output is not None:
        if args.portfolio is None:
            fail("--portfolio-output writes the portfolio: give --portfolio BUDGET (or "
                 "envelopes) too")
        if args.portfolio_output.suffix not in PORTFOLIO_OUTPUTS:
            fail(f"{args.portfolio_output}: the portfolio output must be a "
                 f"{' or '.join(PORTFOLIO_OUTPUTS)} file")
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


def _progress() -> Progress:
    """The progress bar, on stderr: redirected results stay free of it."""
    return Progress(TextColumn("[bold]scoring"), BarColumn(), MofNCompleteColumn(),
                    TaskProgressColumn(), TextColumn("{task.fields[rate]}"),
                    TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                    console=output.console(stderr=True), transient=False)


# --- local: a process pool --------------------------------------------------------------------

_engines: EngineCache | None = None


def _start_worker(ruleset: Path, mode: Mode) -> None:
    """In each pool process, after the fork: this process's engines (durable-rules state must
    not cross a fork)."""
    global _engines
    _engines = file_engines(ruleset, mode)


def _score_in_worker(chunk: Chunk, keep_evaluations: bool
                     ) -> list[tuple[int, int, dict[str, Any] | None, bytes | None]]:
    assert _engines is not None, "the pool's initializer builds the engines"
    found: list[tuple[int, int, dict[str, Any] | None, bytes | None]] = []
    engine = _engines.engine()
    for outcome in score_chunk(engine, chunk):
        if isinstance(outcome, Scored):
            # worded only when written out, as the service words what it is asked for
            evaluation = (orjson.dumps(engine.result(outcome.assessment))
                          if keep_evaluations else None)
            found.append((outcome.index, outcome.line, outcome.summary, evaluation))
        else:
            found.append((outcome.index, outcome.line, outcome.as_dict(), None))
    return found


def _chunks(path: Path, fmt: Format, explain: Explain, settings: BatchSettings,
            counterfactuals: bool = False) -> Iterator[tuple[Chunk, int]]:
    """The file's chunks, as the API makes them, each with how many of the file's bytes have
    been read (for the estimate)."""
    with path.open("rb") as stream:
        reader = CountingReader(stream)
        for chunk in intake.chunks(fmt, explain, reader, settings, counterfactuals):
            yield chunk, reader.bytes_read


def _ready() -> bool:
    return True


def _score_locally(args: argparse.Namespace, fmt: Format, budget: float | None,
                   console: Console) -> int:
    workers = max(1, args.workers)
    keep = args.output is not None and args.output.suffix == ".jsonl"
    settings = BatchSettings.from_env()
    file_size = max(args.file.stat().st_size, 1)
    ruleset = ruleset_path(args.ruleset)
    # its problems now, once, rather than from every pool process as it starts
    load_engine(ruleset, "native", output.console(stderr=True))
    with tempfile.TemporaryFile() as spill:
        outcome = Outcome(spill=spill if keep else None)
        if not _score_into(args, fmt, ruleset, workers, keep, settings, file_size, outcome):
            return BAD_INPUT
        return _finish(args, outcome, budget, console)


def _score_into(args: argparse.Namespace, fmt: Format, ruleset: Path, workers: int, keep: bool,
                settings: BatchSettings, file_size: int, outcome: Outcome) -> bool:
    """Score the file into ``outcome``; False when the file cannot be read."""
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                             initializer=_start_worker,
                             initargs=(ruleset, args.engine)) as pool:
        # fork every worker before the progress bar starts its refresh thread: a fork while
        # another thread holds a lock can leave the child waiting on it forever
        pool.submit(_ready).result()
        started = time.monotonic()
        try:
            with _progress() as progress:
                bar = progress.add_task("score", total=None, rate="")
                pending: set[Future[Any]] = set()
                read = done = 0
                for chunk, position in _chunks(args.file, fmt, args.explain, settings,
                                               args.counterfactuals):
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
            output.console(stderr=True).print(f"[red]{args.file}: {error}[/]", soft_wrap=True)
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
                searched = args.counterfactuals
                out.write(report.csv_bytes([report.csv_header(outcome.criteria, searched)]))
                out.write(report.csv_bytes(report.scored_row(rank, s, outcome.criteria, searched)
                                           for rank, s in enumerate(ranked, 1)))
                out.write(report.csv_bytes(report.failed_row(f, outcome.criteria, searched)
                                           for f in failures))
            else:
                for rank, summary in enumerate(ranked, 1):
                    out.write(report.jsonl_scored(rank, summary,
                                                  outcome.evaluation(summary["index"])))
                for failure in failures:
                    out.write(report.jsonl_failed(failure))
    print_summary(ranked, failures, outcome.criteria, console, args.output)
    if args.portfolio is not None:
        portfolio_report(portfolio.build(ranked, failures, budget, args.currency),
                         args.portfolio_output, console)
    return BAD_INPUT if failures else OK


# --- remote: the service ----------------------------------------------------------------------


def _request(url: str, method: str = "GET", data: Any = None,
             headers: dict[str, str] | None = None, key: str | None = None) -> Any:
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        return urllib.request.urlopen(request, timeout=600)
    except urllib.error.HTTPError as error:
        problem = problem_of(error.read())
        message = f"{method} {url} answered {error.code}: {problem.get('detail') or problem}"
        if error.code in UPLOAD_REFUSED:
            refuse(message)
        fail(message)
    except urllib.error.URLError as error:
        fail(f"cannot reach {url}: {error.reason}")


def _score_remotely(args: argparse.Namespace, fmt: Format, budget: float | None,
                    console: Console) -> int:
    base = args.url.rstrip("/")
    with args.file.open("rb") as body:
        headers = {"Content-Type": MEDIA_TYPE_OF[fmt], "Accept": "application/json",
                   "Content-Length": str(args.file.stat().st_size)}
        searched = "&counterfactuals=true" if args.counterfactuals else ""
        with _request(f"{base}/v1/batches?explain={args.explain}{searched}", "POST", body,
                      headers, args.key) as answer:
            location = urllib.parse.urljoin(base + "/", answer.headers["Location"])
            status = json.loads(answer.read())
    try:
        status = _follow(location, status, args.key)
    except KeyboardInterrupt:
        _request(location, "DELETE", key=args.key).close()
        output.console(stderr=True).print("[yellow]cancelled the batch on the service[/]")
        raise
    query = urllib.parse.urlencode({"sort": args.sort})
    if args.output is not None:
        fmt_out = args.output.suffix.lstrip(".")
        with _request(f"{location}/results?{query}&format={fmt_out}", key=args.key
                      ) as download, args.output.open("wb") as out:
            while block := download.read(1 << 16):
                out.write(block)
    with _request(f"{location}/results?{query}&page_size={SHOWN}", key=args.key) as page:
        best = json.loads(page.read())["items"]
    with _request(f"{location}/failures?page_size={SHOWN_FAILURES}", key=args.key) as page:
        failures = json.loads(page.read())["items"]
    criteria = list(best[0]["scores"]) if best else []
    print_summary(best, failures, criteria, console, args.output, status["done"],
                   status["failed"])
    if args.portfolio is not None:
        params: dict[str, str] = {"currency": args.currency}
        if budget is not None:
            params["budget"] = repr(budget)
        with _request(f"{location}/portfolio?{urllib.parse.urlencode(params)}",
                      key=args.key) as answer:
            portfolio_report(json.loads(answer.read()), args.portfolio_output, console)
    return BAD_INPUT if status["failed"] else OK


def _follow(location: str, status: dict[str, Any], key: str | None) -> dict[str, Any]:
    with _progress() as progress:
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
