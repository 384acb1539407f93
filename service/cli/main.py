"""Entry point of ``policy-eval``: serve, worker, evaluate, and the ``rules`` commands.

Exit codes, for scripts and CI: 0 success, 1 the input was judged bad (invalid proposal, rule
problems, failing rule tests), 2 usage or environment errors (file missing, service unreachable).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from schemas.vocabulary import EXPLAIN_LEVELS
from service.cli.client import (
    BAD_INPUT,
    OK,
    ServiceError,
    add_remote_arguments,
    call,
    fail,
    read_json,
)
from service.cli.decisions import add_decisions_commands
from service.cli.keys import add_keys_commands
from service.cli.render import print_evaluation
from service.cli.rules import add_rules_commands
from service.cli.score import add_score_command
from service.config import Settings
from service.engine import Engine, ProposalInvalid


def _evaluate_remotely(url: str, key: str | None, proposal: Any,
                       explain: str) -> dict[str, Any]:
    try:
        answer = call(url, "POST", "/v1/evaluations", proposal, {"explain": explain}, key)
    except ServiceError as error:
        if error.status == 422:
            raise ProposalInvalid(error.problem.get("errors", error.problem)) from None
        fail(f"{url} answered {error.status}: {error}")
    evaluation: dict[str, Any] = answer["evaluation"]
    return evaluation


def cmd_evaluate(args: argparse.Namespace, console: Console) -> int:
    proposal = read_json(Path(args.file))
    try:
        if args.url:
            result = _evaluate_remotely(args.url, args.key, proposal, args.explain)
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
    evaluate.add_argument("--explain", choices=EXPLAIN_LEVELS, default="summary")
    evaluate.add_argument("--ruleset", type=Path, default=None,
                          help="default: POLICY_RULESET, else the shipped ruleset")
    evaluate.add_argument("--engine", choices=("durable", "native"), default="durable")
    add_remote_arguments(evaluate, required=False)  # with --url: on a running service
    evaluate.set_defaults(run=cmd_evaluate)

    add_score_command(commands)
    add_rules_commands(commands)
    add_decisions_commands(commands)
    add_keys_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.run(args, Console())
    return status


if __name__ == "__main__":
    sys.exit(main())
