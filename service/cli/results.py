"""What ``policy-eval score`` prints and writes besides the ranked results: the best proposals,
the ones that could not be scored, and the portfolio (printed, and written whole to
``--portfolio-output``). The same for a local run and one on a service."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console

from service.batch import report
from service.cli.output import area, money, plural, print_table, score, table, words

SHOWN = 10  # best results printed
SHOWN_FAILURES = 5
SHOWN_FUNDED = 20


def _name(item: dict[str, Any]) -> str:
    return str(item.get("proposal_id") or item.get("title") or f"item {item['index']}")


def print_summary(ranked: list[dict[str, Any]], failures: list[dict[str, Any]],
                   criteria: list[str], console: Console, written: Path | None,
                   scored: int | None = None, failed: int | None = None) -> None:
    scored = len(ranked) if scored is None else scored
    failed = len(failures) if failed is None else failed
    numbers = ("rank", "line", "overall", *map(words, criteria))
    found = table(f"Best {min(SHOWN, len(ranked))} of {scored:,} scored",
                  ("rank", "line", "proposal", "overall", *map(words, criteria),
                   "recommendation"), right=numbers)
    for rank, summary in enumerate(ranked[:SHOWN], 1):
        found.add_row(str(rank), str(summary.get("line")), _name(summary),
                      score(summary["overall_score"]),
                      *(score(summary["scores"].get(c, 0)) for c in criteria),
                      words(summary["recommendation"]))
    print_table(console, found)
    console.print(f"{plural(scored + failed, 'proposal')}: {scored:,} scored, {failed:,} could "
                  "not be scored", soft_wrap=True)
    for failure in failures[:SHOWN_FAILURES]:
        named = failure.get("proposal_id") or failure.get("title")
        errors = "; ".join(f"{e['field']}: {e['message']}" for e in failure["errors"])
        console.print(f"  [red]item {failure['index']} (line {failure.get('line')})"
                      f"{' ' + named if named else ''}:[/] {errors}", soft_wrap=True)
    if failed > SHOWN_FAILURES:
        console.print(f"  … and {failed - SHOWN_FAILURES:,} more"
                      + (f" (all in {written})" if written else ""), soft_wrap=True)
    if written is not None:
        console.print(f"wrote {written}", soft_wrap=True)


REASONS = {"invalid": "not scored", "deficiency": "deficient", "over_budget": "over budget",
           "lower_value_per_cost": "lower value for money", "crowded_out": "crowded out"}


def portfolio_report(doc: dict[str, Any], written: Path | None, console: Console) -> None:
    """Print the portfolio (the funded proposals, best first, and why the others are not) and
    write it to ``written`` (``--portfolio-output``): .json as the API answers it, else CSV."""
    currency = doc["currency"]
    basis = ("within each capability area's remaining envelope"
             if doc["budget_basis"] == "capability_area_envelopes" else "within the budget")
    state = ("optimal" if doc["exact"] else
             f"at most {score(doc['max_shortfall'])} points below the optimum")
    console.print(f"\n[bold]Portfolio[/] {basis}: {plural(len(doc['chosen']), 'proposal')} "
                  f"funded, total score {score(doc['total_score'])} ({state}); "
                  f"{money(doc['spent'], currency)} of {money(doc['budget'], currency)}",
                  soft_wrap=True)
    funded = sorted(doc["chosen"], key=lambda e: (-e["overall_score"], e["index"]))
    by_area = doc["budget_basis"] == "capability_area_envelopes"
    found = table(f"Funded, best first ({min(SHOWN_FUNDED, len(funded))} of {len(funded):,})",
                  ("line", "proposal", *(("capability area",) if by_area else ()), "overall",
                   "cost"), right=("line", "overall", "cost"))
    for entry in funded[:SHOWN_FUNDED]:
        found.add_row(str(entry.get("line")), _name(entry),
                      *((area(entry.get("group")),) if by_area else ()),
                      score(entry["overall_score"]), money(entry["cost"], currency))
    if funded:
        print_table(console, found)
    if len(funded) > SHOWN_FUNDED:
        where = (f"all in {written}" if written else
                 "--portfolio-output FILE writes them all")
        console.print(f"  … and {len(funded) - SHOWN_FUNDED:,} more ({where})", soft_wrap=True)
    reasons = Counter(e["reason"] for e in doc["excluded"])
    console.print("not funded: " + (", ".join(f"{n:,} {REASONS.get(r, words(r))}"
                                             for r, n in reasons.most_common()) or "none"),
                  soft_wrap=True)
    if written is not None:
        with written.open("wb") as out:
            if written.suffix == ".json":
                out.write(json.dumps(doc, indent=2, ensure_ascii=False).encode() + b"\n")
            else:
                out.write(report.csv_bytes([list(report.PORTFOLIO_COLUMNS)]))
                out.write(report.csv_bytes(report.portfolio_rows(doc)))
        console.print(f"wrote {written}", soft_wrap=True)
