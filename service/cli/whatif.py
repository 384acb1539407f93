"""``policy-eval evaluate FILE --set field=value --unset field``: the proposal evaluated as it
is and as edited, and the diff; ``policy-eval compare A.json B.json …``: proposals side by
side. Locally through the engine, or with ``--url`` through the service's what-if and
comparison endpoints, which answer the same JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from schemas.errors import field_errors
from service.cli import output
from service.cli.client import BAD_INPUT, OK, ServiceError, call, fail, read_json
from service.cli.output import change, print_table, score, table, words
from service.cli.problems import invalid_proposal, load_engine, print_invalid, ruleset_path
from service.engine import (
    EditInvalid,
    Engine,
    ProposalInvalid,
    apply,
    comparison,
    edits,
    name_edit_errors,
    what_if_diff,
)


def parse_set(given: list[str]) -> dict[str, Any]:
    """``field=value`` pairs: the value as JSON when it reads as JSON (``12``, ``["link16"]``,
    ``null``), else as text (``--set system.name=Aegis``)."""
    found: dict[str, Any] = {}
    for pair in given:
        field, equals, text = pair.partition("=")
        if not equals or not field:
            fail(f"--set {pair!r}: write it as field=value, e.g. acquisition.quantity=12")
        try:
            found[field] = json.loads(text)
        except ValueError:
            found[field] = text
    return found


def what_if(args: argparse.Namespace, proposal: Any, console: Console) -> int:
    """``evaluate`` with edits: the what-if answer, printed as a diff (or as JSON)."""
    errors = output.console(stderr=True)
    requested = {"set": parse_set(args.set or []), "unset": list(args.unset or [])}
    answer = (_remote_what_if(args, proposal, requested, errors) if args.url
              else _local_what_if(args, proposal, requested, errors))
    if isinstance(answer, int):
        return answer
    if args.json:
        print(json.dumps(answer, indent=2, ensure_ascii=False))
    else:
        print_diff(answer, console)
    return OK


def _local_what_if(args: argparse.Namespace, proposal: Any, requested: dict[str, Any],
                   errors: Console) -> dict[str, Any] | int:
    engine = load_engine(ruleset_path(args.ruleset), args.engine, errors)
    try:
        before = engine.evaluate(proposal, args.explain)
    except ProposalInvalid as error:
        return invalid_proposal(error, str(args.file), errors)
    try:
        changes = edits(proposal, requested["set"], requested["unset"])
    except EditInvalid as error:
        return print_invalid([{"field": error.field, "message": error.message}],
                             f"edit of {args.file}", errors)
    try:
        after = engine.evaluate(apply(proposal, changes), args.explain) if changes else before
    except ProposalInvalid as error:
        named = name_edit_errors(field_errors(error.messages), changes, requested["unset"])
        return print_invalid(named, f"edit of {args.file}", errors)
    return {"evaluation_id": None, "after_evaluation_id": None,
            "changes": [c.data() for c in changes], "before": before, "after": after,
            "diff": what_if_diff(before, after)}


def _remote_what_if(args: argparse.Namespace, proposal: Any, requested: dict[str, Any],
                    errors: Console) -> dict[str, Any] | int:
    try:
        original = call(args.url, "POST", "/v1/evaluations", proposal,
                        {"explain": args.explain}, args.key)
        if original.get("status") != "done":
            fail(f"{args.url} has not finished the evaluation yet; try again later")
        answer: dict[str, Any] = call(args.url, "POST",
                                      f"/v1/evaluations/{original['id']}/what-if", requested,
                                      None, args.key)
    except ServiceError as error:
        if error.status == 422 and isinstance(error.problem.get("errors"), list):
            return print_invalid(error.problem["errors"], str(args.file), errors)
        fail(f"{args.url} answered {error.status}: {error}")
    return answer


def print_diff(answer: dict[str, Any], out: Console) -> None:
    """The edits, then each criterion and the overall before and after, the rating and the
    recommendation, and the rules gained and lost with their points."""
    diff = answer["diff"]
    out.print(Text("What if", style="bold"))
    for edit in answer["changes"] or [{"field": "(nothing changed)", "from": "", "to": ""}]:
        out.print(f"  {edit['field']}: {_shown(edit['from'])} → {_shown(edit['to'])}",
                  soft_wrap=True)
    found = table("Scores", ("criterion", "before", "after", "change"),
                  right=("before", "after", "change"))
    for row in diff["criteria"]:
        found.add_row(row["label"], score(row["before"]), score(row["after"]),
                      change(row["delta"]))
    overall = diff["overall"]
    found.add_row("[bold]overall[/]", score(overall["before"]), score(overall["after"]),
                  f"[bold]{change(overall['delta'])}[/]")
    for name in ("rating", "recommendation"):
        moved = diff[name]
        found.add_row(name, words(moved["before"]), words(moved["after"]),
                      "changed" if moved["changed"] else "same")
    print_table(out, found)
    for title, rules in (("Rules gained", diff["rules_gained"]),
                         ("Rules lost", diff["rules_lost"])):
        if rules:
            out.print(Text(f"\n{title}", style="bold"))
            for rule in rules:
                out.print(f"  {change(rule['points']):>6} {rule['rule_id']} {rule['title']}",
                          soft_wrap=True)


def _shown(value: Any) -> str:
    if value is None:
        return "(absent)"
    return json.dumps(value, ensure_ascii=False)


def cmd_compare(args: argparse.Namespace, console: Console) -> int:
    errors = output.console(stderr=True)
    proposals = [read_json(path) for path in args.files]
    if not 2 <= len(proposals) <= 20:
        fail("compare takes 2 to 20 proposal files")
    if args.url:
        try:
            answer = call(args.url, "POST", "/v1/comparisons",
                          {"items": [{"proposal": p} for p in proposals]}, None, args.key)
        except ServiceError as error:
            if error.status == 422 and isinstance(error.problem.get("errors"), list):
                return print_invalid(error.problem["errors"], "to compare", errors)
            fail(f"{args.url} answered {error.status}: {error}")
    else:
        found = _local_comparison(load_engine(ruleset_path(args.ruleset), args.engine, errors),
                                  proposals, args.files, errors)
        if isinstance(found, int):
            return found
        answer = found
    if args.json:
        print(json.dumps(answer, indent=2, ensure_ascii=False))
    else:
        print_comparison(answer, console)
    return OK


def _local_comparison(engine: Engine, proposals: list[Any], files: list[Path],
                      errors: Console) -> dict[str, Any] | int:
    results = []
    for proposal, path in zip(proposals, files, strict=True):
        try:
            results.append(engine.evaluate(proposal))
        except ProposalInvalid as error:
            invalid_proposal(error, str(path), errors)
            return BAD_INPUT
    return comparison(results, [None] * len(results))


def print_comparison(answer: dict[str, Any], out: Console, differences: int = 5) -> None:
    """A column per proposal: each criterion's score with its rank, the overall, the rating and
    the recommendation; then, per pair, the rules that separate it most."""
    items = answer["items"]
    names = [item["proposal_id"] or f"#{item['index']}" for item in items]
    found = table("Side by side (rank in brackets)", ("criterion", *names), right=names)
    for criterion in answer["criteria"]:
        found.add_row(criterion["label"], *(
            f"{score(i['scores'][criterion['criterion']]['score'])} "
            f"({i['scores'][criterion['criterion']]['rank']})" for i in items))
    found.add_row("[bold]overall[/]", *(f"[bold]{score(i['overall_score'])}[/] ({i['rank']})"
                                        for i in items))
    found.add_row("rating", *(i["rating"] for i in items))
    found.add_row("recommendation", *(words(i["recommendation"]) for i in items))
    print_table(out, found)
    for pair in answer["pairs"]:
        a, b = names[pair["a"]], names[pair["b"]]
        out.print(Text(f"\n{a} − {b}: {change(pair['score_difference'])}", style="bold"),
                  soft_wrap=True)
        for difference in pair["differences"][:differences]:
            side = {"a": a, "b": b, "both": "both"}[difference["fired_in"]]
            out.print(f"  {change(difference['points']):>7} {difference['rule_id']} "
                      f"{difference['title']} (fires in {side})", soft_wrap=True)
        rest = pair["differences"][differences:]
        if rest:
            out.print(f"  {change(sum(d['points'] for d in rest)):>7} "
                      f"{output.plural(len(rest), 'other rule')}", soft_wrap=True)
        if pair["other"]:
            out.print(f"  {change(pair['other']):>7} no rule (a score held within 0-100)",
                      soft_wrap=True)
