"""``policy-eval rules``: the analyst's workflow. Check and test locally, see the impact of a
change, then publish it to a running service, activate it and roll it back."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from service.cli import output
from service.cli.client import BAD_INPUT, OK, ServiceError, call, fail, read_json, refuse
from service.cli.output import change, plural, print_table, score, table, words
from service.cli.problems import invalid_proposal, load_engine, print_problems, ruleset_path
from service.config import PROJECT_ROOT as ROOT
from service.engine import (
    CaseResult,
    Change,
    CompiledRules,
    Coverage,
    Engine,
    Impact,
    ProposalInvalid,
    Report,
    RulesetError,
    check_defensible,
    coverage,
    document_json,
    impact,
    impact_label,
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


def _print_defensibility(report: Report, console: Console) -> None:
    """Unacknowledged findings in full, with their counterexample; acknowledged ones in a
    line each; acknowledgments that match nothing, or name what is not there, as warnings."""
    for finding in report.failing:
        console.print(f"[red]{escape(finding.problem().with_severity('error'))}[/]",
                      soft_wrap=True)
        for line in finding.details:
            console.print(f"    {escape(line)}", soft_wrap=True)
    for finding in report.findings:
        if finding.acknowledged is not None:
            text = finding.problem().with_severity("acknowledged")
            console.print(f"[dim]{escape(text)} (reason at line {finding.acknowledged.line})[/]",
                          soft_wrap=True)
    for ack, name, close in report.unknown:
        hint = f" (hint: did you mean {close!r}?)" if close else ""
        console.print(f"[yellow]{escape(report.file)}:{ack.line}: -: warning: acknowledged "
                      f"{ack.check} names {escape(repr(name))}, which is nowhere in the "
                      f"ruleset{escape(hint)}[/]", soft_wrap=True)
    for unused in report.unused:
        names = ", ".join(unused.rules or unused.systems)
        console.print(f"[yellow]{escape(report.file)}:{unused.line}: -: warning: acknowledged "
                      f"{unused.check} of {escape(names)} matches no finding (hint: remove it)[/]",
                      soft_wrap=True)
    console.print(f"[dim]monotonicity: {report.proven} (criterion, field) pairs proven by "
                  f"the rules alone, {report.searched} searched; "
                  f"{plural(report.evaluations, 'proposal')} scored[/]", soft_wrap=True)
    if report.cut_short:
        console.print(f"[yellow]{escape(report.file)}:1: -: warning: the search of "
                      f"{', '.join(report.cut_short)} stopped at its limit of proposals: "
                      "findings there may be missing (hint: fewer rules read each field)[/]",
                      soft_wrap=True)


def _check_one(path: Path, strict: bool, console: Console) -> bool:
    """Print the problems of one ruleset; True when it passes."""
    try:
        ruleset = load_ruleset(path)
    except RulesetError as error:
        print_problems(error, path, console)
        return False
    warnings = lint(ruleset)
    for warning in warnings:
        console.print(f"[yellow]{escape(warning.with_severity('warning'))}[/]", soft_wrap=True)
    report = check_defensible(ruleset)
    _print_defensibility(report, console)
    warned = (len(warnings) + len(report.unused) + len(report.unknown)
              + bool(report.cut_short))
    acknowledged = len(report.findings) - len(report.failing)
    counts = (f"{plural(len(ruleset.rules), 'rule')}, {plural(warned, 'warning')}, "
              f"{plural(len(report.failing), 'finding')}, {acknowledged} acknowledged")
    if report.failing:
        console.print(f"[red]FAILED[/] {path}: {counts}", soft_wrap=True)
        return False
    console.print(f"[green]ok[/] {path}: {ruleset.name} {ruleset.version}, {counts}, "
                  f"{ruleset.content_hash}", soft_wrap=True)
    return not (strict and warned)


def cmd_rules_check(args: argparse.Namespace, console: Console) -> int:
    results = [_check_one(path, args.strict, console) for path in _rulesets(args.paths)]
    return OK if all(results) else BAD_INPUT


def cmd_rules_compile(args: argparse.Namespace, console: Console) -> int:
    """Compile a ruleset as the engine does; with ``--show``, print the generated Python for
    review (plain text on stdout, so it can be piped or diffed)."""
    path = ruleset_path(args.ruleset)
    try:
        ruleset = load_ruleset(path)
    except RulesetError as error:
        print_problems(error, path, console)
        return BAD_INPUT
    started = time.perf_counter()
    compiled = CompiledRules(ruleset)
    elapsed = time.perf_counter() - started
    if args.show:
        sys.stdout.write(compiled.source)
        return OK
    console.print(f"[green]compiled[/] {path}: {ruleset.name} {ruleset.version}, "
                  f"{plural(len(ruleset.rules), 'rule')}, "
                  f"{plural(compiled.source.count(chr(10)), 'line')} of Python in "
                  f"{elapsed * 1000:.1f} ms (--show prints them)", soft_wrap=True)
    return OK


def _test_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for name in paths or [str(ROOT / "rules" / "tests")]:
        path = Path(name)
        files.extend(sorted(path.glob("*.test.yaml")) if path.is_dir() else [path])
    return files


def _print_case(case: CaseResult, console: Console) -> None:
    mark = "[green]PASSED[/]" if case.passed else "[red]FAILED[/]"
    console.print(f"{case.file}:{case.line} {case.name} {mark}")
    for failure in case.failures:
        console.print(f"    [red]{failure}[/]")


def _print_coverage(cover: Coverage, console: Console) -> None:
    found = table(f"Rule coverage: {cover.percent:.1f}%", ("criterion", "covered", "rules", "%"),
                  right=("covered", "rules", "%"))
    for name, (covered, total) in cover.by_criterion.items():
        found.add_row(name, str(covered), str(total), f"{100 * covered / max(total, 1):.0f}")
    print_table(console, found)
    if cover.uncovered:
        console.print(f"fired by no test: {', '.join(cover.uncovered)}", soft_wrap=True)


def _suite_ruleset(path: Path) -> Path:
    """The ruleset a test file names, beside it."""
    try:
        suite = parse_yaml(path.read_text(encoding="utf-8"))
    except OSError as error:
        fail(f"cannot read {path}: {error.strerror}")
    except ValueError as error:  # not YAML, or YAML that the reader refuses
        refuse(f"{path}: {error}")
    if not isinstance(suite, dict) or not isinstance(suite.get("ruleset"), str):
        refuse(f"{path}: a rule test file names its ruleset (ruleset: FILE) and lists cases")
    return path.parent / suite["ruleset"]


def cmd_rules_test(args: argparse.Namespace, console: Console) -> int:
    status = OK
    for path in _test_files(args.paths):
        engine = load_engine(_suite_ruleset(path), "durable", console)
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
        found = []
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as error:
            fail(f"cannot read {path}: {error.strerror}")
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                found.append(json.loads(line))
            except ValueError as error:
                refuse(f"{path}:{number}: not JSON: {error}")
        return found
    data = read_json(path)
    return data if isinstance(data, list) else [data]


def _pair(old: str, new: str) -> str:
    return old if old == new else f"{old} → {new}"


def _overall(item: Change) -> str:
    before, after = score(item.old.overall), score(item.new.overall)
    if before == after:
        return before
    return f"{before} → {after} ({change(item.overall_delta)})"


def _criteria(item: Change) -> str:
    return "\n".join(f"{words(name)} {score(item.old.scores.get(name, 0))} → "
                     f"{score(item.new.scores[name])} ({change(delta)})"
                     for name, delta in item.score_deltas.items())


def _impact_summary(report: Impact) -> str:
    counts = report.summary()
    return (f"{plural(report.total, 'proposal')}: {counts['changed']:,} changed: overall score "
            f"for {counts['overall_score']:,}, a criterion score for "
            f"{counts['criterion_scores']:,}, rating for {counts['rating']:,}, recommendation "
            f"for {counts['recommendation']:,}, rank for {counts['rank']:,}")


def _first_invalid(engine: Engine, proposals: list[dict[str, Any]], source: str,
                   errors: Console) -> int:
    """Report the first invalid proposal, named (the impact stops at it)."""
    for index, proposal in enumerate(proposals):
        try:
            engine.evaluate(proposal)
        except ProposalInvalid as error:
            return invalid_proposal(error, f"{impact_label(proposal, index)} in {source}", errors)
    return BAD_INPUT


def cmd_rules_diff(args: argparse.Namespace, console: Console) -> int:
    errors = output.console(stderr=True)
    old, new = load_engine(args.old, "durable", errors), load_engine(args.new, "durable", errors)
    proposals = _proposals(Path(args.on))
    try:
        report = impact(old, new, proposals)
    except ProposalInvalid:
        return _first_invalid(old, proposals, args.on, errors)
    if args.json:
        print(json.dumps({"old_version": old.ruleset.version, "new_version":
                          new.ruleset.version, **report.as_dict()}, indent=2))
        return OK
    found = table(f"Impact of {args.new} ({new.ruleset.version}) against {args.old} "
                  f"({old.ruleset.version})",
                  ("proposal", "overall", "criteria", "rating", "recommendation", "rank",
                   "rules responsible"))
    for item in report.changes:
        before, after = item.old, item.new
        found.add_row(item.proposal, _overall(item), _criteria(item),
                      _pair(before.rating, after.rating),
                      _pair(words(before.recommendation), words(after.recommendation)),
                      _pair(str(before.rank), str(after.rank)),
                      ", ".join(item.rules) or "none (others moved)")
    if report.changes:
        print_table(console, found)
    console.print(_impact_summary(report), soft_wrap=True)
    return OK


def _problem(error: ServiceError, console: Console) -> int:
    for found in error.problem.get("problems", []):
        console.print(f"[red]{found['text']}[/]", soft_wrap=True)
    console.print(f"[red]{error.status}: {error}[/]", soft_wrap=True)
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
                  f"({published['hash']}) {state}", soft_wrap=True)
    return OK


def cmd_rules_activate(args: argparse.Namespace, console: Console) -> int:
    try:
        active = call(args.url, "PUT", "/v1/rulesets/active",
                      {"version": args.version, "by": args.author}, key=args.key)
    except ServiceError as error:
        return _problem(error, console)
    console.print(f"active: {active['name']} {active['version']} ({active['hash']})",
                  soft_wrap=True)
    return OK


def cmd_rules_versions(args: argparse.Namespace, console: Console) -> int:
    listing = call(args.url, "GET", "/v1/rulesets", key=args.key)
    found = table(f"Ruleset versions on {args.url}",
                  ("version", "active", "published", "author", "note", "hash"))
    for version in listing["versions"]:
        found.add_row(version["version"], "yes" if version["active"] else "",
                      version["created_at"], version["author"], version["note"],
                      version["hash"])
    print_table(console, found)
    return OK
