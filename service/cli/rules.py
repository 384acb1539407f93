"""``policy-eval rules``: the analyst's workflow. Check and test locally, see the impact of a
change, then publish it to a running service, activate it and roll it back."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from service.cli.client import (
    BAD_INPUT,
    OK,
    ServiceError,
    add_remote_arguments,
    call,
    read_json,
)
from service.config import PROJECT_ROOT as ROOT
from service.engine import (
    CaseResult,
    Coverage,
    Engine,
    RulesetError,
    coverage,
    document_json,
    impact,
    lint,
    load_ruleset,
    parse_yaml,
    run_test_file,
)


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
        return [read_json(p) for p in sorted(path.glob("*.json"))]
    if path.suffix == ".jsonl":
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    data = read_json(path)
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


def _problem(error: ServiceError, console: Console) -> int:
    for found in error.problem.get("problems", []):
        console.print(f"[red]{found['text']}[/]", highlight=False, soft_wrap=True)
    console.print(f"[red]{error.status}: {error}[/]", highlight=False, soft_wrap=True)
    return BAD_INPUT


def cmd_rules_publish(args: argparse.Namespace, console: Console) -> int:
    """Check locally first (the same problems, with this file's lines), then send the ruleset
    with its context inline, so the service needs none of the analyst's files."""
    if not _check_one(Path(args.file), strict=False, console=console):
        return BAD_INPUT
    ruleset = load_ruleset(args.file)
    query = {"note": args.note, "author": args.author, "source": str(args.file),
             "activate": "true" if args.activate else "false"}
    try:
        published = call(args.url, "POST", "/v1/rulesets", json.loads(document_json(
            ruleset.document)), query, args.key)
    except ServiceError as error:
        return _problem(error, console)
    state = "and made it active" if published["active"] else "(not active)"
    console.print(f"published {published['name']} {published['version']} "
                  f"({published['hash']}) {state}", highlight=False, soft_wrap=True)
    return OK


def cmd_rules_activate(args: argparse.Namespace, console: Console) -> int:
    try:
        active = call(args.url, "PUT", "/v1/rulesets/active",
                      {"version": args.version, "by": args.author}, key=args.key)
    except ServiceError as error:
        return _problem(error, console)
    console.print(f"active: {active['name']} {active['version']} ({active['hash']})",
                  highlight=False, soft_wrap=True)
    return OK


def cmd_rules_versions(args: argparse.Namespace, console: Console) -> int:
    listing = call(args.url, "GET", "/v1/rulesets", key=args.key)
    table = Table(title=f"Ruleset versions on {args.url}", title_justify="left")
    for column in ("version", "active", "published", "author", "note", "hash"):
        table.add_column(column)
    for version in listing["versions"]:
        table.add_row(version["version"], "yes" if version["active"] else "",
                      version["created_at"], version["author"], version["note"],
                      version["hash"][:19] + "…")
    console.print(table)
    return OK


def add_rules_commands(commands: Any) -> None:
    rules = commands.add_parser("rules", help="check, test, compare and publish rulesets")
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
    publish = rule_commands.add_parser("publish", help="publish a ruleset to a running service")
    publish.add_argument("file", type=Path)
    add_remote_arguments(publish)
    publish.add_argument("--note", default="", help="what changed, for the version list")
    publish.add_argument("--author", default="analyst")
    publish.add_argument("--activate", action="store_true", help="make it the active version")
    publish.set_defaults(run=cmd_rules_publish)

    activate = rule_commands.add_parser("activate", help="make a published version active "
                                                         "(an older one rolls back)")
    activate.add_argument("version")
    add_remote_arguments(activate)
    activate.add_argument("--author", default="analyst")
    activate.set_defaults(run=cmd_rules_activate)

    versions = rule_commands.add_parser("versions", help="list the published versions")
    add_remote_arguments(versions)
    versions.set_defaults(run=cmd_rules_versions)
