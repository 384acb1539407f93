"""Entry point of ``policy-eval``: serve, worker, evaluate, rules check / test / diff.

Exit codes, for scripts and CI: 0 success, 1 the input was judged bad (invalid proposal, rule
problems, failing rule tests), 2 usage or environment errors (file missing, service unreachable).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from service.cli.render import print_evaluation
from service.config import PROJECT_ROOT as ROOT
from service.config import Settings
from service.engine import Engine, ProposalInvalid, RulesetError, load_ruleset
from service.engine.impact import impact
from service.engine.lint import lint
from service.engine.ruletests import CaseResult, Coverage, coverage, run_test_file
from service.engine.yamlsource import parse_yaml

OK, BAD_INPUT, USAGE = 0, 1, 2


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SystemExit(f"policy-eval: no such file: {path}") from None
    except json.JSONDecodeError as error:
        raise SystemExit(f"policy-eval: {path} is not JSON: {error}") from None


def _post(url: str, proposal: Any, explain: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{url.rstrip('/')}/v1/evaluations?explain={explain}",
        data=json.dumps(proposal).encode(), method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            body: dict[str, Any] = json.loads(response.read())
    except urllib.error.HTTPError as error:
        problem = json.loads(error.read() or b"{}")
        if error.code == 422:
            raise ProposalInvalid(problem.get("errors", problem)) from None
        raise SystemExit(f"policy-eval: {url} answered {error.code}: {problem}") from None
    except urllib.error.URLError as error:
        raise SystemExit(f"policy-eval: cannot reach {url}: {error.reason}") from None
    evaluation: dict[str, Any] = body["evaluation"]
    return evaluation


def cmd_evaluate(args: argparse.Namespace, console: Console) -> int:
    proposal = _read_json(Path(args.file))
    try:
        if args.url:
            result = _post(args.url, proposal, args.explain)
        else:
            engine = Engine.from_path(args.ruleset or Settings.from_env().ruleset,
                                      mode=args.engine)
            result = engine.evaluate(proposal, args.explain)
    except ProposalInvalid as error:
        console.print(f"[red]invalid proposal {args.file}:[/] {json.dumps(error.messages)}")
        return BAD_INPUT
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print_evaluation(result, console)
    return OK


def _rulesets(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for name in paths or [str(ROOT / "rules")]:
        path = Path(name)
        found.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
    return found


def _check_one(path: Path, strict: bool, console: Console) -> bool:
    """Print the problems of one ruleset; True when it passes."""
    try:
        ruleset = load_ruleset(path)
    except RulesetError as error:
        for problem in error.problems:
            console.print(f"[red]{problem}[/]", highlight=False, soft_wrap=True)
        console.print(f"{path}: {len(error.problems)} error(s)", highlight=False)
        return False
    warnings = lint(ruleset)
    for warning in warnings:
        console.print(f"[yellow]{warning.with_severity('warning')}[/]", highlight=False,
                      soft_wrap=True)
    console.print(f"[green]ok[/] {path}: {ruleset.name} {ruleset.version}, "
                  f"{len(ruleset.rules)} rules, {len(warnings)} warning(s), "
                  f"{ruleset.content_hash}", highlight=False, soft_wrap=True)
    return not (strict and warnings)


def cmd_rules_check(args: argparse.Namespace, console: Console) -> int:
    results = [_check_one(path, args.strict, console) for path in _rulesets(args.paths)]
    return OK if all(results) else BAD_INPUT


def _test_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for name in paths or [str(ROOT / "rules" / "tests")]:
        path = Path(name)
        files.extend(sorted(path.glob("*.test.yaml")) if path.is_dir() else [path])
    return files


def _print_case(case: CaseResult, console: Console) -> None:
    mark = "[green]PASSED[/]" if case.passed else "[red]FAILED[/]"
    console.print(f"{case.file}:{case.line} {case.name} {mark}", highlight=False)
    for failure in case.failures:
        console.print(f"    [red]{failure}[/]", highlight=False)


def _print_coverage(cover: Coverage, console: Console) -> None:
    table = Table(title=f"Rule coverage: {cover.percent:.1f}%", title_justify="left")
    for column in ("criterion", "covered", "rules", "%"):
        table.add_column(column, justify="left" if column == "criterion" else "right")
    for name, (covered, total) in cover.by_criterion.items():
        table.add_row(name, str(covered), str(total), f"{100 * covered / max(total, 1):.0f}")
    console.print(table)
    if cover.uncovered:
        console.print(f"fired by no test: {', '.join(cover.uncovered)}", highlight=False)


def cmd_rules_test(args: argparse.Namespace, console: Console) -> int:
    status = OK
    for path in _test_files(args.paths):
        suite = parse_yaml(path.read_text(encoding="utf-8"))
        engine = Engine.from_path(path.parent / suite["ruleset"])
        results = run_test_file(path, engine)
        for case in results:
            _print_case(case, console)
        failed = sum(not case.passed for case in results)
        console.print(f"{len(results) - failed} passed, {failed} failed")
        status = BAD_INPUT if failed else status
        if args.coverage or args.min_coverage is not None:
            cover = coverage(engine.ruleset, results)
            _print_coverage(cover, console)
            if args.min_coverage is not None and cover.percent < args.min_coverage:
                console.print(f"[red]coverage {cover.percent:.1f}% is below "
                              f"{args.min_coverage:g}%[/]")
                status = BAD_INPUT
    return status


def _proposals(path: Path) -> list[dict[str, Any]]:
    """Proposals from a folder of JSON files, a JSON array or object, or JSON Lines."""
    if path.is_dir():
        return [_read_json(p) for p in sorted(path.glob("*.json"))]
    if path.suffix == ".jsonl":
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    data = _read_json(path)
    return data if isinstance(data, list) else [data]


def _pair(old: object, new: object) -> str:
    return str(old) if old == new else f"{old} → {new}"


def cmd_rules_diff(args: argparse.Namespace, console: Console) -> int:
    old, new = Engine.from_path(args.old), Engine.from_path(args.new)
    report = impact(old, new, _proposals(Path(args.on)))
    if args.json:
        print(json.dumps(dataclasses.asdict(report), indent=2))
        return OK
    table = Table(title=f"Impact of {args.new} against {args.old}", title_justify="left")
    for column in ("proposal", "score", "rating", "recommendation", "rank", "rules responsible"):
        table.add_column(column)
    for change in report.changes:
        before, after = change.old, change.new
        table.add_row(change.proposal, _pair(f"{before.overall:.2f}", f"{after.overall:.2f}"),
                      _pair(before.rating, after.rating),
                      _pair(before.recommendation, after.recommendation).replace("_", " "),
                      _pair(before.rank, after.rank),
                      ", ".join(change.rules) or "(others moved)")
    console.print(table)
    console.print(f"{report.total} proposals: {len(report.changes)} changed; rating changed for "
                  f"{report.count('rating')}, recommendation for {report.count('recommendation')},"
                  f" rank for {report.count('rank')}")
    return OK


def cmd_serve(args: argparse.Namespace, console: Console) -> int:
    from service.api.server import serve

    serve(args.host, args.port, args.redis)
    return OK


def cmd_worker(args: argparse.Namespace, console: Console) -> int:
    from service.worker import run_worker

    run_worker(args.redis, args.concurrency, args.loglevel)
    return OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="policy-eval", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP API (embedded worker by default)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--redis", metavar="URL", default=None,
                       help="use Redis and separate workers instead of the embedded worker")
    serve.set_defaults(run=cmd_serve)

    worker = commands.add_parser("worker", help="run a Celery worker against Redis")
    worker.add_argument("--redis", metavar="URL", default="redis://127.0.0.1:6379/0")
    worker.add_argument("--concurrency", type=int, default=2)
    worker.add_argument("--loglevel", default="info")
    worker.set_defaults(run=cmd_worker)

    evaluate = commands.add_parser("evaluate", help="evaluate one proposal file")
    evaluate.add_argument("file")
    evaluate.add_argument("--json", action="store_true", help="print the result as JSON")
    evaluate.add_argument("--explain", choices=("summary", "full"), default="summary")
    evaluate.add_argument("--ruleset", type=Path, default=None,
                          help="default: POLICY_RULESET, else the shipped ruleset")
    evaluate.add_argument("--engine", choices=("durable", "native"), default="durable")
    evaluate.add_argument("--url", help="evaluate on a running service instead of locally")
    evaluate.set_defaults(run=cmd_evaluate)

    rules = commands.add_parser("rules", help="check and test rulesets")
    rule_commands = rules.add_subparsers(dest="rules_command", required=True)
    check = rule_commands.add_parser("check", help="load rulesets, report file:line problems")
    check.add_argument("paths", nargs="*", help="ruleset files or folders (default: rules/)")
    check.add_argument("--strict", action="store_true", help="fail on warnings too")
    check.set_defaults(run=cmd_rules_check)
    test = rule_commands.add_parser("test", help="run the rule test cases")
    test.add_argument("paths", nargs="*", help="test files or folders (default: rules/tests/)")
    test.add_argument("--coverage", action="store_true", help="report rules fired by no test")
    test.add_argument("--min-coverage", type=float, metavar="PERCENT",
                      help="fail when rule coverage is below PERCENT")
    test.set_defaults(run=cmd_rules_test)
    diff = rule_commands.add_parser("diff", help="impact of a new ruleset on proposals")
    diff.add_argument("old", type=Path, help="the ruleset in force")
    diff.add_argument("new", type=Path, help="the candidate ruleset")
    diff.add_argument("--on", required=True, metavar="PATH",
                      help="proposals: a folder of .json files, a JSON array, or .jsonl")
    diff.add_argument("--json", action="store_true", help="print the report as JSON")
    diff.set_defaults(run=cmd_rules_diff)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.run(args, Console())
    return status


if __name__ == "__main__":
    sys.exit(main())
