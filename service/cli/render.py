"""Readable terminal output of an evaluation (rich), for analysts rather than machines."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from service.cli.output import change, print_table, score, table, words

STYLE = {
    "recommend": "bold green",
    "recommend_with_conditions": "bold yellow",
    "defer": "bold dark_orange",
    "do_not_recommend": "bold red",
}
KINDS = (("strengths", "green", ""), ("weaknesses", "yellow", ""), ("deficiencies", "red", "!"))


def _scores(result: dict[str, Any], out: Console) -> None:
    numbers = ("weight", "baseline", "points", "score", "weighted")
    found = table("Criteria", ("criterion", *numbers), right=numbers)
    for c in result["criteria"]:
        found.add_row(c["label"], f"{c['weight']:.2f}", score(c["baseline"]),
                      change(c["points"]), score(c["score"]), score(c["weighted_score"]))
    found.add_row("[bold]overall[/]", "", "", "", "", f"[bold]{score(result['overall_score'])}[/]")
    print_table(out, found)


def _grid() -> Table:
    """Points, rule id, then the words, which wrap under themselves rather than under the
    points."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", no_wrap=True, min_width=5)
    grid.add_column(style="dim", no_wrap=True, min_width=6)
    grid.add_column(overflow="fold")
    return grid


def _findings(result: dict[str, Any], out: Console) -> None:
    for c in result["criteria"]:
        out.print(Text(f"\n{c['label']} — {score(c['score'])}/100", style="bold"))
        grid = _grid()
        for kind, colour, mark in KINDS:
            for f in c[kind]:
                grid.add_row(Text(f"  {mark}{change(f['points'])}", style=colour), f["rule_id"],
                             f["sentence"])
                for e in f["evidence"]:
                    grid.add_row("", "", Text(e["text"], style="dim"))
                if "scale" in f:  # a graded rule: where its points come from
                    grid.add_row("", "", Text(f["scale"]["text"], style="dim"))
        print_table(out, grid)


def _assumptions(result: dict[str, Any], out: Console) -> None:
    """What the result takes on trust: defaults used, claims not confirmed."""
    out.print(Text("\nTaken on trust", style="bold"))
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="yellow", no_wrap=True)
    grid.add_column(overflow="fold")
    for assumption in result["assumptions"]:
        grid.add_row(f"  {assumption['kind']}", assumption["text"])
    print_table(out, grid)


def _why_not(result: dict[str, Any], out: Console) -> None:
    """Each rule that did not fire, then each condition that failed on a line of its own (each
    is a whole sentence)."""
    out.print(Text("\nRules that did not fire", style="bold"))
    grid = _grid()
    for rule in result.get("not_fired", []):
        grid.add_row(Text(f"  {change(rule['points'])}", style="dim"), rule["rule_id"],
                     rule["title"])
        for e in rule["failed"]:
            grid.add_row("", "", Text(e["text"], style="dim"))
    print_table(out, grid)
    if result.get("not_applicable"):  # apart: neither a failed condition nor a missed point
        out.print(Text("\nRules that do not apply to this kind of proposal", style="bold"))
        grid = _grid()
        for rule in result["not_applicable"]:
            grid.add_row("", rule["rule_id"], f"{rule['title']}: {rule['text']}")
        print_table(out, grid)


def _what_it_would_take(answer: dict[str, Any], out: Console) -> None:
    """How far the next band is, the verified changes that reach it or lift a cap, and the
    why-not by points at stake."""
    band = answer["next_band"]
    heading = ("already in the top band" if band is None else
               f"{score(band['gap'])} points short of {band['rating']} "
               f"({score(band['min_score'])})")
    out.print(Text(f"\nWhat it would take: {heading}", style="bold"), soft_wrap=True)
    grid = _grid()
    for number, option in enumerate(answer["options"], 1):
        grid.add_row(f"  {number}.", "", option["sentence"])
    if answer["reason"]:
        grid.add_row("", "", answer["reason"])
    for cap in answer["caps"]:
        lifted = cap["removed_by"][0]["sentence"] if cap["removed_by"] else (
            "no change the ruleset allows lifts it")
        grid.add_row(Text("  cap", style="red"), cap["rule_id"], lifted)
    for entry in answer["why_not"][:5]:
        grid.add_row(Text(f"  {change(entry['points'])}", style="dim"), entry["rule_id"],
                     entry["sentence"])
    print_table(out, grid)


def print_evaluation(result: dict[str, Any], console: Console) -> None:
    verdict = Text.assemble(
        ("Rating: ", "bold"), result["rating"], ("   Recommendation: ", "bold"),
        (words(result["recommendation"]), STYLE[result["recommendation"]]),
    )
    # the summary starts with the title, which a panel's title line would cut to fit
    console.print(Panel(Group(Text(result["summary"]), verdict),
                        title=result.get("proposal_id"), title_align="left"))
    _scores(result, console)
    _findings(result, console)
    if result.get("assumptions"):
        _assumptions(result, console)
    if "not_fired" in result:
        _why_not(result, console)
    if "counterfactuals" in result:
        _what_it_would_take(result["counterfactuals"], console)
    ruleset = result["ruleset"]
    console.print(Text(f"\nruleset {ruleset['name']} {ruleset['version']} ({ruleset['hash']})  "
                       f"decision {result['decision_id']}", style="dim"), soft_wrap=True)
