"""Readable terminal output of an evaluation (rich), for analysts rather than machines."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

STYLE = {
    "recommend": "bold green",
    "recommend_with_conditions": "bold yellow",
    "defer": "bold dark_orange",
    "do_not_recommend": "bold red",
}
KINDS = (("strengths", "green", "+"), ("weaknesses", "yellow", ""), ("deficiencies", "red", "!"))


def _scores(result: dict[str, Any]) -> Table:
    table = Table(title="Criteria", title_justify="left", expand=True)
    for column in ("criterion", "weight", "baseline", "points", "score", "weighted"):
        table.add_column(column, justify="left" if column == "criterion" else "right")
    for c in result["criteria"]:
        table.add_row(c["label"], f"{c['weight']:.2f}", f"{c['baseline']:g}",
                      f"{c['points']:+g}", f"{c['score']:g}", f"{c['weighted_score']:.2f}")
    table.add_row("[bold]overall[/]", "", "", "", "", f"[bold]{result['overall_score']:.2f}[/]")
    return table


def _findings(result: dict[str, Any]) -> Group:
    lines: list[Text] = []
    for c in result["criteria"]:
        lines.append(Text(f"\n{c['label']} — {c['score']:g}/100", style="bold"))
        for kind, colour, mark in KINDS:
            for f in c[kind]:
                points = f"{mark}{f['points']:+g}" if mark == "!" else f"{f['points']:+g}"
                lines.append(Text.assemble((f"  {points:>6} ", colour), (f"{f['rule_id']} ", "dim"),
                                           f["sentence"]))
                lines.extend(Text(f"           {e['text']}", style="dim") for e in f["evidence"])
    return Group(*lines)


def _why_not(result: dict[str, Any]) -> Group:
    lines = [Text("\nRules that did not fire", style="bold")]
    for rule in result.get("not_fired", []):
        reason = "; ".join(e["text"] for e in rule["failed"])
        lines.append(Text.assemble((f"  {rule['points']:+6g} {rule['rule_id']} ", "dim"),
                                   f"{rule['title']}: ", (reason, "dim")))
    return Group(*lines)


def print_evaluation(result: dict[str, Any], console: Console) -> None:
    verdict = Text.assemble(
        ("Rating: ", "bold"), result["rating"], ("   Recommendation: ", "bold"),
        (result["recommendation"].replace("_", " "), STYLE[result["recommendation"]]),
    )
    console.print(Panel(Group(Text(result["summary"]), verdict), title=result["title"]))
    console.print(_scores(result))
    console.print(_findings(result))
    if "not_fired" in result:
        console.print(_why_not(result))
    ruleset = result["ruleset"]
    console.print(Text(f"\nruleset {ruleset['name']} {ruleset['version']} ({ruleset['hash'][:19]}…)"
                       f"  decision {result['decision_id']}", style="dim"))
