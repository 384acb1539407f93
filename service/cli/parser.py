"""Every command and option of ``policy-eval``, with its help, in one place.

Building the parser imports nothing heavy (no engine, Flask or Celery): ``--help``,
``--version`` and shell completion answer at once. Each command names the function that runs
it as ``module:function``; ``main`` imports it only when the command runs.
"""

from __future__ import annotations

import argparse
import os
import textwrap
from importlib import metadata
from pathlib import Path
from typing import Any

from schemas.vocabulary import CURRENCIES, EXPLAIN_LEVELS, RATINGS, ROLES

KEY_ENV = "POLICY_API_KEY"
DISTRIBUTION = "procurement-policy-eval"
ENGINES = ("durable", "native")
WIDTH = 79

EPILOG = """\
exit status: 0 success; 1 the input was judged bad (an invalid proposal or batch item, rule
errors, failing rule tests); 2 usage or environment errors (a file missing, the service
unreachable).

shell completion, in ~/.bashrc or ~/.zshrc:
  eval "$(register-python-argcomplete policy-eval)"
and for fish: register-python-argcomplete --shell fish policy-eval | source
"""


def version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def _paragraph(text: str) -> str:
    """Wrapped here: the raw formatter (which keeps the epilog's lines) does not wrap."""
    return textwrap.fill(text, WIDTH)


def _command(commands: Any, name: str, run: str, summary: str, details: str = "") -> Any:
    """A subcommand with ``summary`` in the command list and ``details`` under its usage."""
    sub = commands.add_parser(name, help=summary, description=_paragraph(details or summary),
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub.set_defaults(run=run)
    return sub


def add_remote_arguments(parser: Any, required: bool = True) -> None:
    """``--url`` and ``--key`` for the commands that talk to a running service."""
    parser.add_argument("--url", required=required, metavar="URL",
                        help="the service, e.g. http://127.0.0.1:8000"
                             + ("" if required else "; without it, locally"))
    parser.add_argument("--key", default=os.environ.get(KEY_ENV), metavar="KEY",
                        help=f"its API key (default: ${KEY_ENV}); a service running embedded "
                             "without keys needs none")


def _local_engine(parser: Any, what: str) -> None:
    parser.add_argument("--ruleset", type=Path, default=None, metavar="FILE",
                        help=f"the ruleset file {what} (default: $POLICY_RULESET, else "
                             "rules/japan-fy2026-2.yaml)")
    parser.add_argument("--engine", choices=ENGINES, default="durable",
                        help="durable (default): durable-rules decides and the native "
                             "evaluator cross-checks; native: the native evaluator alone, "
                             "faster, same results")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="policy-eval", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description=_paragraph("Score defense-procurement proposals against an analysts' "
                               "ruleset: one proposal or a whole batch, locally or on a "
                               "running service; check, test and publish rulesets."))
    parser.add_argument("--version", action="version", version=f"policy-eval {version()}",
                        help="print the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _serving_commands(commands)
    _evaluate_command(commands)
    _score_command(commands)
    _robustness_command(commands)
    _rules_commands(commands)
    _decisions_commands(commands)
    _keys_commands(commands)
    return parser


def _serving_commands(commands: Any) -> None:
    serve = _command(commands, "serve", "service.cli.serving:cmd_serve",
                     "run the HTTP API (with an embedded worker unless --redis)",
                     "Run the HTTP API for development: one process, with an embedded worker "
                     "unless --redis is given. Production runs gunicorn (see the README).")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default: 127.0.0.1; 0.0.0.0 for every "
                            "interface)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.add_argument("--redis", metavar="URL", default=None,
                       help="use this Redis and separate workers (policy-eval worker) instead "
                            "of the embedded worker")

    worker = _command(commands, "worker", "service.cli.serving:cmd_worker",
                      "run a Celery worker against Redis")
    worker.add_argument("--redis", metavar="URL", default="redis://127.0.0.1:6379/0",
                        help="the broker and result back-end (default: "
                             "redis://127.0.0.1:6379/0)")
    worker.add_argument("--concurrency", type=int, default=2, metavar="N",
                        help="pool processes (default: 2)")
    worker.add_argument("--loglevel", default="info", metavar="LEVEL",
                        help="debug, info (default), warning, error or critical")


def _evaluate_command(commands: Any) -> None:
    evaluate = _command(commands, "evaluate", "service.cli.evaluate:cmd_evaluate",
                        "evaluate one proposal file and explain the result",
                        "Evaluate one proposal (a JSON file) and print its scores, rating, "
                        "recommendation and the rules that decided them.")
    evaluate.add_argument("file", type=Path, help="the proposal, a JSON object")
    evaluate.add_argument("--json", action="store_true",
                          help="print the result as JSON (as the API answers it)")
    evaluate.add_argument("--explain", choices=EXPLAIN_LEVELS, default="summary",
                          help="summary (default): the rules that fired; full: also the rules "
                               "that did not, and the condition that failed")
    evaluate.add_argument("--set", action="append", metavar="FIELD=VALUE",
                          help="what if: give a field (a dotted path) another value, JSON or "
                               "text (repeatable); prints the result before and after, and "
                               "what changed")
    evaluate.add_argument("--unset", action="append", metavar="FIELD",
                          help="what if: leave a field out (repeatable)")
    _local_engine(evaluate, "to evaluate with")
    add_remote_arguments(evaluate, required=False)
    compare = _command(commands, "compare", "service.cli.whatif:cmd_compare",
                       "compare 2 to 20 proposal files side by side",
                       "Evaluate 2 to 20 proposals (JSON files) and print their scores side by "
                       "side with ranks, and for each pair the rules that separate them.")
    compare.add_argument("files", type=Path, nargs="+", metavar="FILE",
                         help="the proposals, each a JSON object")
    compare.add_argument("--json", action="store_true",
                         help="print the comparison as JSON (as the API answers it)")
    _local_engine(compare, "to evaluate with")
    add_remote_arguments(compare, required=False)


def _score_command(commands: Any) -> None:
    score = _command(
        commands, "score", "service.cli.score:cmd_score",
        "score a batch file (JSON, JSON Lines, CSV or .xlsx) with a progress bar",
        "Score every proposal of FILE, on every core or on a service (--url): print the best "
        "ten, write all of them ranked (-o), and the best portfolio within a budget "
        "(--portfolio). Exit status 1 when some proposals could not be scored.")
    score.add_argument("file", type=Path,
                       help="a .json (array), .jsonl, .csv (comma, semicolon or tab) or .xlsx "
                            "(first sheet) file; CSV and spreadsheet columns are field paths")
    score.add_argument("-o", "--output", type=Path, metavar="FILE",
                       help="write every result, ranked, then every failure, to a .csv or "
                            ".jsonl file")
    score.add_argument("--sort", default="overall_score", metavar="KEY",
                       help="rank by overall_score (default) or a criterion, e.g. budget_fit")
    score.add_argument("--explain", choices=EXPLAIN_LEVELS, default="summary",
                       help="how much explanation each result in a .jsonl output carries "
                            "(default: summary)")
    score.add_argument("--counterfactuals", action="store_true",
                       help="also search each proposal's distance to the next band and the "
                            "best verified change that would lift it: next_band_gap and "
                            "best_option in the output (slower)")
    score.add_argument("--portfolio", metavar="BUDGET",
                       help="print the best set of proposals within BUDGET (a number in "
                            "--currency, e.g. 2e12), or 'envelopes': each capability area "
                            "within what remains of its Defense Buildup Program envelope")
    score.add_argument("--portfolio-output", type=Path, metavar="FILE",
                       help="with --portfolio: write it to a .csv (every proposal: funded or "
                            "the reason it is not) or .json (as the API answers it) file")
    score.add_argument("--currency", choices=CURRENCIES, default="JPY",
                       help="currency of the --portfolio budget and costs (default: JPY)")
    add_remote_arguments(score, required=False)
    score.add_argument("--workers", type=int, default=os.cpu_count() or 1, metavar="N",
                       help="local worker processes (default: one per core)")
    _local_engine(score, "to score with, locally")


def _robustness_command(commands: Any) -> None:
    robustness = _command(
        commands, "robustness", "service.cli.robustness:cmd_robustness",
        "how far a batch file's ranking and portfolio hold under uncertain weights and costs",
        "Score FILE (as score does, or on a service with --url), then analyse it under the "
        "uncertainty its ruleset declares: per criterion, how far its weight can move before "
        "the first place and the top K change, and who takes over; per proposal, how likely "
        "it is to rank first or in the top K; which proposals the portfolio funds whatever "
        "the weights and costs. Prints tables; -o writes the report and its SVG charts.")
    robustness.add_argument("file", type=Path,
                            help="a .json (array), .jsonl, .csv or .xlsx file, as for score")
    robustness.add_argument("--samples", type=int, default=10_000, metavar="N",
                            help="weight and cost samples (default: 10,000; the portfolio uses "
                                 "the first 500)")
    robustness.add_argument("--top-k", type=int, default=10, metavar="K",
                            help="the size of the top set (default: 10)")
    robustness.add_argument("--portfolio", default="envelopes", metavar="BUDGET",
                            help="the portfolio's budget in --currency, e.g. 2e12, or "
                                 "'envelopes' (default): each capability area within what "
                                 "remains of its envelope")
    robustness.add_argument("--currency", choices=CURRENCIES, default="JPY",
                            help="currency of the --portfolio budget (default: JPY)")
    robustness.add_argument("--seed", type=int, default=None, metavar="N",
                            help="draws the samples (default: derived from the file, so the "
                                 "same file gives the same answer, locally or on a service)")
    robustness.add_argument("-o", "--output", type=Path, metavar="FILE",
                            help="write the report to a .json file, and its charts beside it "
                                 "(FILE-tornado.svg, …)")
    add_remote_arguments(robustness, required=False)
    robustness.add_argument("--workers", type=int, default=os.cpu_count() or 1, metavar="N",
                            help="local worker processes (default: one per core)")
    _local_engine(robustness, "to score with, locally")
    robustness.set_defaults(explain="summary", counterfactuals=False)


def _rules_commands(commands: Any) -> None:
    rules = _command(commands, "rules", "", "check, test, compare and publish rulesets")
    sub = rules.add_subparsers(dest="rules_command", required=True, metavar="COMMAND")
    check = _command(sub, "check", "service.cli.rules:cmd_rules_check",
                     "load rulesets and report every problem as file:line:col")
    check.add_argument("paths", nargs="*", metavar="PATH",
                       help="ruleset files or folders (default: rules/)")
    check.add_argument("--strict", action="store_true", help="fail on warnings too")

    compiled = _command(sub, "compile", "service.cli.rules:cmd_rules_compile",
                        "compile a ruleset to the Python the engine runs",
                        "Compile a ruleset as the engine does: one function that tests every "
                        "rule and adds up each criterion's points, and for each rule the "
                        "functions that word its finding and its why-not. --show prints the "
                        "source for review.")
    compiled.add_argument("ruleset", nargs="?", type=Path, metavar="RULESET",
                          help="a ruleset file (default: POLICY_RULESET, else the shipped one)")
    compiled.add_argument("--show", action="store_true", help="print the generated source")

    test = _command(sub, "test", "service.cli.rules:cmd_rules_test", "run the rule test cases")
    test.add_argument("paths", nargs="*", metavar="PATH",
                      help="test files or folders (default: rules/tests/)")
    test.add_argument("--coverage", action="store_true",
                      help="report the rules no test case fires")
    test.add_argument("--min-coverage", type=float, metavar="PERCENT",
                      help="fail when rule coverage is below PERCENT")

    diff = _command(sub, "diff", "service.cli.rules:cmd_rules_diff",
                    "what a new ruleset would change for proposals, before publishing it",
                    "Evaluate proposals under both rulesets and list every proposal whose "
                    "overall score, a criterion score, rating, recommendation or rank changes, "
                    "by how much, and the rules responsible.")
    diff.add_argument("old", type=Path, help="the ruleset in force")
    diff.add_argument("new", type=Path, help="the candidate ruleset")
    diff.add_argument("--on", required=True, metavar="PATH",
                      help="the proposals: a folder of .json files, a JSON array, or .jsonl")
    diff.add_argument("--json", action="store_true",
                      help="print the report as JSON (as the impact endpoint answers it)")

    publish = _command(sub, "publish", "service.cli.rules:cmd_rules_publish",
                       "check a ruleset, then publish it to a running service")
    publish.add_argument("file", type=Path, help="the ruleset file (its context is sent inline)")
    add_remote_arguments(publish)
    publish.add_argument("--note", default="", help="what changed, for the version list")
    publish.add_argument("--author", default="analyst",
                         help="who publishes it, for the version list (default: analyst)")
    publish.add_argument("--activate", action="store_true",
                         help="make it the version new evaluations use")

    activate = _command(sub, "activate", "service.cli.rules:cmd_rules_activate",
                        "make a published version active (an older one rolls back)")
    activate.add_argument("version", help="a published version, e.g. 2026.1.0")
    add_remote_arguments(activate)
    activate.add_argument("--author", default="analyst",
                          help="who activates it, for the activation log (default: analyst)")

    versions = _command(sub, "versions", "service.cli.rules:cmd_rules_versions",
                        "list the published versions and which is active")
    add_remote_arguments(versions)


def _decisions_commands(commands: Any) -> None:
    decisions = _command(commands, "decisions", "", "read the decision log (admin key)")
    sub = decisions.add_subparsers(dest="decisions_command", required=True, metavar="COMMAND")
    export = _command(sub, "export", "service.cli.decisions:cmd_export",
                      "every decision, as JSON Lines")
    add_remote_arguments(export)
    export.add_argument("-o", "--output", default="-", metavar="FILE",
                        help="a file (default: stdout)")
    export.add_argument("--since", metavar="TIME",
                        help="decisions at or after TIME (ISO 8601 with a zone)")
    export.add_argument("--until", metavar="TIME",
                        help="decisions before TIME (ISO 8601 with a zone)")
    export.add_argument("--ruleset-version", metavar="VERSION",
                        help="decisions made with this ruleset version")
    export.add_argument("--rating", choices=RATINGS, help="decisions with this rating")
    export.add_argument("--caller", metavar="NAME", help="decisions asked for by this key name")


def _keys_commands(commands: Any) -> None:
    keys = _command(commands, "keys", "", "make API keys")
    sub = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    new = _command(sub, "new", "service.cli.keys:cmd_new",
                   "a new random key for one caller, and the line that configures it")
    new.add_argument("--name", required=True,
                     help="who uses it (it names the caller in the decision log)")
    new.add_argument("--role", choices=ROLES, required=True,
                     help="evaluator: evaluate and score batches; analyst: also publish "
                          "rulesets; admin: also activate them and read the decision log")
