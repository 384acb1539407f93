"""Entry point of ``policy-eval``: serve, worker, evaluate, rules check, rules test.

Exit codes, for scripts and CI: 0 success, 1 the input was judged bad (invalid proposal, rule
problems, failing rule tests), 2 usage or environment errors (file missing, service unreachable).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from rich.console import Console

from service.cli.render import print_evaluation
from service.engine import Engine, ProposalInvalid, RulesetError
from service.paths import ROOT, default_ruleset

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
            engine = Engine.from_path(args.ruleset, mode=args.engine)
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


def cmd_rules_check(args: argparse.Namespace, console: Console) -> int:
    status = OK
    for path in _rulesets(args.paths):
        try:
            ruleset = Engine.from_path(path).ruleset
        except RulesetError as error:
            for problem in error.problems:
                console.print(str(problem), highlight=False, soft_wrap=True)
            status = BAD_INPUT
            continue
        console.print(f"[green]ok[/] {path}: {ruleset.name} {ruleset.version}, "
                      f"{len(ruleset.rules)} rules, {ruleset.content_hash}", highlight=False)
    return status


def cmd_rules_test(args: argparse.Namespace, console: Console) -> int:
    from service.engine.ruletests import run_test_file

    files: list[Path] = []
    for name in args.paths or [str(ROOT / "rules" / "tests")]:
        path = Path(name)
        files.extend(sorted(path.glob("*.test.yaml")) if path.is_dir() else [path])
    passed = failed = 0
    for path in files:
        for case in run_test_file(path):
            mark = "[green]PASS[/]" if case.passed else "[red]FAIL[/]"
            console.print(f"{mark} {path}:{case.line} {case.name}", highlight=False)
            for failure in case.failures:
                console.print(f"     [red]{failure}[/]", highlight=False)
            passed += case.passed
            failed += not case.passed
    console.print(f"{passed} passed, {failed} failed")
    return BAD_INPUT if failed else OK


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
    evaluate.add_argument("--ruleset", type=Path, default=default_ruleset())
    evaluate.add_argument("--engine", choices=("durable", "native"), default="durable")
    evaluate.add_argument("--url", help="evaluate on a running service instead of locally")
    evaluate.set_defaults(run=cmd_evaluate)

    rules = commands.add_parser("rules", help="check and test rulesets")
    rule_commands = rules.add_subparsers(dest="rules_command", required=True)
    check = rule_commands.add_parser("check", help="load rulesets, report file:line problems")
    check.add_argument("paths", nargs="*", help="ruleset files or folders (default: rules/)")
    check.set_defaults(run=cmd_rules_check)
    test = rule_commands.add_parser("test", help="run the rule test cases")
    test.add_argument("paths", nargs="*", help="test files or folders (default: rules/tests/)")
    test.set_defaults(run=cmd_rules_test)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.run(args, Console())
    return status


if __name__ == "__main__":
    sys.exit(main())
