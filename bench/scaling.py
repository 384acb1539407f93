"""Scaling: the cost of one full evaluation against the number of rules and
against the size of the proposal, for both engines, as a table and as docs/scaling.png.

Run: ``python bench/scaling.py [--seconds 0.5] [--out docs/scaling.png]`` (about 25 s).
From a runner::

    from bench import scaling
    rows = scaling.measure(seconds)        # list of dicts, one per (axis, point, engine)
    print(scaling.table(rows))             # markdown
    scaling.plot(rows, path)               # the PNG

The rulesets are generated, seeded, under the shipped ruleset's criteria, bands and context:
each rule tests 1-4 real fields with any operator and realistic thresholds
(``bench.randomrules``, the generator of the evaluator agreement tests), so every
count is a prefix of the 1,000-rule set and the points differ only in how many rules there are.
The shipped ruleset is measured beside them as the check that generated rules cost what real
ones do.
"""

from __future__ import annotations

import argparse
import copy
import math
import platform
import random
import time
from collections.abc import Callable, Iterable
from datetime import date
from itertools import product
from pathlib import Path
from string import ascii_uppercase
from typing import Any

import yaml

from bench import synthetic
from bench.randomrules import RandomConditions
from schemas.proposal import MAX_LIST
from schemas.vocabulary import DATALINKS, IFF_MODES, STANDARDS, THREATS
from service.engine import Engine, Ruleset, load_ruleset, parse_ruleset
from service.engine.evaluation.durable import compile_ruleset
from service.engine.evaluation.engine import Mode, validate_proposal
from service.engine.evaluation.facts import build_fact

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "rules" / "japan-fy2026.yaml"
RULE_COUNTS = (10, 30, 100, 300, 1000)
SIZE_RULES = 100  # the size axis is measured against the 100-rule set
MODES: tuple[Mode, ...] = ("durable", "native")
PROPOSALS = 20  # per point: enough spread in which rules fire, few enough for short rounds
SEED = 20261125

Proposal = dict[str, Any]
Row = dict[str, Any]


# --- rulesets ------------------------------------------------------------------------------


def _when(conditions: RandomConditions) -> Any:
    """1-4 atoms, alone or joined by ``all`` (one time in four ``any``): the shape of the
    shipped rules (1-3 atoms, all ``all``), one atom longer to cover heavier rulesets."""
    rng = conditions.rng
    atoms = [conditions.atom() for _ in range(rng.randint(1, 4))]
    if len(atoms) == 1:
        return atoms[0]
    return {"all" if rng.random() < 0.75 else "any": atoms}


def _rule(number: int, conditions: RandomConditions, criteria: list[str]) -> dict[str, Any]:
    rng = conditions.rng
    rule: dict[str, Any] = {
        "id": f"GEN-{number:04d}", "criterion": rng.choice(criteria),
        "title": f"Generated rule {number}", "when": _when(conditions),
        "points": rng.choice([-10, -5, 5, 10, 15]),
        "because": f"{{system.name}} meets generated rule {number}.",
    }
    if rng.random() < 0.08:  # the shipped ruleset: 5 deficiencies in 63 rules
        rule["deficiency"] = True
    return rule


def generated_ruleset(count: int, seed: int = SEED) -> Ruleset:
    """``count`` seeded rules under the shipped header; each count is a prefix of a larger one
    (one rng draws the rules in order). Loaded by the real loader, so it is valid for both
    engines and durable-rules shards it as it would any ruleset."""
    conditions = RandomConditions(random.Random(seed), synthetic.COUNTRIES)
    header = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    criteria = list(header["criteria"])
    header["name"] = f"scaling-{count}"
    header.pop("acknowledged", None)  # the shipped ruleset's, about its own rules
    header["rules"] = [_rule(number, conditions, criteria) for number in range(count)]
    return parse_ruleset(yaml.safe_dump(header, sort_keys=False), f"scaling-{count}",
                         SHIPPED.parent)


# --- proposals -----------------------------------------------------------------------------


def _minimal(proposal: Proposal) -> Proposal:
    """Only what the schema requires: no lists, no optional field, one cost."""
    acquisition = proposal["acquisition"]
    cost = "unit_cost" if "unit_cost" in acquisition else "total_cost"
    return {
        "title": proposal["title"], "fiscal_year": proposal["fiscal_year"],
        "system": {key: proposal["system"][key] for key in ("name", "category")},
        "acquisition": {key: acquisition[key]
                        for key in ("path", "quantity", cost, "capability_area")},
    }


def _country_codes(count: int) -> list[str]:
    """``count`` distinct codes the schema accepts: the synthetic proposals' countries first,
    then made-up two-letter codes (the schema checks the form, not the registry)."""
    extra = ("".join(pair) for pair in product(ascii_uppercase, repeat=2))
    codes = list(synthetic.COUNTRIES)
    codes += [code for code in extra if code not in codes][: max(0, count - len(codes))]
    return codes[:count]


def _full(countries: int) -> Callable[[Proposal], Proposal]:
    """Every optional field given, every vocabulary value in every list, ``countries`` codes in
    each partner list."""

    def fill(proposal: Proposal) -> Proposal:
        full = copy.deepcopy(proposal)
        full["requesting_country"] = "JP"
        full["system"]["prime_contractor"] = "Generated Systems Corp."
        acquisition = full["acquisition"]
        cost = acquisition.get("unit_cost") or acquisition["total_cost"]
        acquisition.setdefault("sustainment_cost_per_year",
                               {"amount": round(cost["amount"] * 0.05),
                                "currency": cost["currency"]})
        full["capabilities"].update(datalinks=list(DATALINKS), iff_modes=list(IFF_MODES),
                                    standards=list(STANDARDS))
        full["threats_addressed"] = list(THREATS)
        full["partners"] = {role: _country_codes(countries) for role in full["partners"]}
        return full

    return fill


# name → how a synthetic proposal becomes one of that size
SIZES: dict[str, Callable[[Proposal], Proposal]] = {
    "minimal": _minimal,
    "typical": lambda proposal: proposal,  # bench.synthetic as it generates them
    "large": _full(len(synthetic.COUNTRIES)),
    "schema maximum": _full(MAX_LIST),
}


def proposals(size: str = "typical", count: int = PROPOSALS, seed: int = SEED) -> list[Proposal]:
    """``count`` seeded synthetic proposals, reshaped to ``size`` (a key of SIZES)."""
    rng = random.Random(seed)
    return [SIZES[size](synthetic.proposal(rng, number)) for number in range(count)]


def _leaves(value: Any) -> Iterable[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    else:
        yield value


def _shape(batch: list[Proposal]) -> dict[str, float]:
    """Mean list items and mean scalar fields given, per proposal."""
    leaves = [list(_leaves(proposal)) for proposal in batch]
    items = [sum(len(v) for v in each if isinstance(v, list)) for each in leaves]
    scalars = [sum(not isinstance(v, list) for v in each) for each in leaves]
    return {"list_items": sum(items) / len(batch), "fields": sum(scalars) / len(batch)}


# --- measurement ---------------------------------------------------------------------------


def best_us(call: Callable[[Any], object], items: list[Any], seconds: float) -> float:
    """CPU µs per ``call(item)``: the best of rounds over ``items`` for ``seconds`` of wall
    time (at least three rounds).

    CPU time of this process, and the best round, because the machine is shared: a wall clock
    also counts the time other processes hold the core, and interference only ever adds time.
    The evaluation is single-threaded (durable-rules' C engine runs in the calling thread), so
    on an idle core the two clocks agree; the shape of the curves is what this is for.
    """
    for item in items:  # warm-up: durable-rules creates its shards on first use
        call(item)
    best, rounds, deadline = math.inf, 0, time.perf_counter() + seconds
    while rounds < 3 or time.perf_counter() < deadline:
        start = time.process_time()
        for item in items:
            call(item)
        best = min(best, (time.process_time() - start) / len(items))
        rounds += 1
    return best * 1e6


def _engine_row(engine: Engine, batch: list[Proposal], seconds: float) -> Row:
    """The full evaluation, and deciding alone (``Engine.fired`` on built facts: what grows
    with the rules before scoring and explaining the fired ones)."""
    context = engine.ruleset.context
    facts = [build_fact(validate_proposal(proposal), context) for proposal in batch]
    fired = sum(len(engine.fired(fact)) for fact in facts) / len(facts)
    return {"engine": engine.mode, "fired": fired,
            "us": best_us(engine.evaluate, batch, seconds),
            "decide_us": best_us(engine.fired, facts, seconds)}


def _point(ruleset: Ruleset, batch: list[Proposal], seconds: float, **labels: Any) -> list[Row]:
    """One row per engine for one ruleset and one set of proposals."""
    shared = {**labels, "rules": len(ruleset.rules), "shards": len(compile_ruleset(ruleset)),
              **_shape(batch)}
    return [{**shared, **_engine_row(Engine(ruleset, mode), batch, seconds)} for mode in MODES]


def measure(seconds: float = 0.5) -> list[Row]:
    """Every point of both axes for both engines; ``seconds`` of wall time for each of the 40
    timings (10 points × 2 engines × full evaluation and deciding), plus ~3 s of setup.

    Each row: ``axis`` ("rules", "shipped" or "size"), ``engine`` ("durable"/"native"),
    ``rules``, ``shards`` (durable-rules rulesets the rules are split into), ``size``,
    ``list_items`` and ``fields`` (means per proposal), ``fired`` (mean rules fired), ``us``
    (CPU µs per full evaluation) and ``decide_us`` (CPU µs deciding which rules fire,
    ``Engine.fired``; for "durable" that is durable-rules and the compiled cross-check).
    """
    typical = proposals("typical")
    rows = [row for count in RULE_COUNTS
            for row in _point(generated_ruleset(count), typical, seconds,
                              axis="rules", size="typical")]
    rows += _point(load_ruleset(SHIPPED), typical, seconds, axis="shipped", size="typical")
    sized = generated_ruleset(SIZE_RULES)
    rows += [row for size in SIZES
             for row in _point(sized, proposals(size), seconds, axis="size", size=size)]
    return rows


# --- report --------------------------------------------------------------------------------


def _pairs(rows: list[Row], axis: str) -> list[tuple[Row, Row]]:
    """(durable, native) rows of one axis, in measuring order."""
    durable = [r for r in rows if r["axis"] == axis and r["engine"] == "durable"]
    native = [r for r in rows if r["axis"] == axis and r["engine"] == "native"]
    return list(zip(durable, native, strict=True))


def _timings(durable: Row, native: Row) -> str:
    return (f"{durable['us']:,.0f} | {native['us']:,.0f} | {durable['us'] / native['us']:.1f}× | "
            f"{durable['decide_us']:,.0f} | {native['decide_us']:,.0f} |")


TIMING_HEADER = "durable µs | native µs | durable / native | deciding: durable µs | " \
                "deciding: native µs |"


def table(rows: list[Row]) -> str:
    """Two markdown tables: µs per evaluation (and deciding alone) by rule count, then by
    proposal size."""
    lines = [f"| rules | durable-rules shards | rules fired | {TIMING_HEADER}",
             "|---" * 8 + "|"]
    for durable, native in _pairs(rows, "rules") + _pairs(rows, "shipped"):
        name = f"{durable['rules']:,}" + (" (shipped)" if durable["axis"] == "shipped" else "")
        lines.append(f"| {name} | {durable['shards']} | {native['fired']:.1f} | "
                     + _timings(durable, native))
    lines += ["", f"| proposal ({SIZE_RULES} rules) | list items | scalar fields | rules fired | "
              + TIMING_HEADER, "|---" * 9 + "|"]
    for durable, native in _pairs(rows, "size"):
        lines.append(f"| {durable['size']} | {durable['list_items']:.1f} | "
                     f"{durable['fields']:.1f} | {native['fired']:.1f} | "
                     + _timings(durable, native))
    return "\n".join(lines)


LABELS = {"durable": "durable-rules + native cross-check (default)", "native": "native only"}
COLORS = {"durable": "tab:blue", "native": "tab:orange"}


def _lines(axes: Any, rows: list[Row], axis: str, x: str) -> None:
    """Per engine: the full evaluation (solid) and deciding alone (dashed)."""
    for mode in MODES:
        points = [r for r in rows if r["axis"] == axis and r["engine"] == mode]
        xs = [r[x] for r in points]
        axes.plot(xs, [r["us"] for r in points], "o-", color=COLORS[mode],
                  label=f"{LABELS[mode]}: full evaluation")
        axes.plot(xs, [r["decide_us"] for r in points], "o--", color=COLORS[mode],
                  markersize=4, alpha=0.7, label=f"{mode}: deciding which rules fire")


def _rules_panel(axes: Any, rows: list[Row]) -> None:
    _lines(axes, rows, "rules", "rules")
    for mode in MODES:
        shipped = [r for r in rows if r["axis"] == "shipped" and r["engine"] == mode]
        axes.plot([r["rules"] for r in shipped], [r["us"] for r in shipped], "*",
                  color=COLORS[mode], markersize=13, label=f"{mode}: shipped ruleset (63)")
    for row in (r for r in rows if r["axis"] == "rules" and r["engine"] == "durable"):
        axes.annotate(f"{row['shards']} shard{'s' * (row['shards'] > 1)}",
                      (row["rules"], row["decide_us"]), textcoords="offset points",
                      xytext=(6, -12), fontsize=8, color=COLORS["durable"])
    axes.set(xscale="log", yscale="log", xlabel="rules in the ruleset (log)",
             ylabel="CPU µs per proposal (log)",
             title="Against the number of rules (typical proposals)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7.5)


def _size_panel(axes: Any, rows: list[Row]) -> None:
    _lines(axes, rows, "size", "list_items")
    points = [r for r in rows if r["axis"] == "size" and r["engine"] == "durable"]
    # the first two sizes are ~11 items apart: the first labelled to its left (room made
    # below 0), the second to its right, the others centred
    aligns = ["right", "left"] + ["center"] * len(points)
    for row, align in zip(points, aligns, strict=False):
        shift = {"right": -4, "left": 4, "center": 0}[align]
        axes.annotate(f"{row['size']}\n{row['fields']:.0f} fields", (row["list_items"],
                      row["us"]), textcoords="offset points", xytext=(shift, 8), ha=align,
                      fontsize=8)
    axes.set_xlim(left=-0.15 * max(r["list_items"] for r in points))
    axes.set(xlabel="list items in the proposal (datalinks, IFF, standards, threats, partners)",
             ylabel="CPU µs per proposal",
             ylim=(0, 1.15 * max(r["us"] for r in rows if r["axis"] == "size")),
             title=f"Against the proposal size ({SIZE_RULES} rules)")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=7.5, loc="upper left")


def plot(rows: list[Row], path: str | Path) -> None:
    """Write the two panels to ``path`` (PNG). matplotlib is imported here, so measuring needs
    only the engine; the Figure is drawn without pyplot, so no display backend is involved."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(13, 5.5), layout="constrained")
    left, right = figure.subplots(1, 2)
    _rules_panel(left, rows)
    _size_panel(right, rows)
    figure.suptitle("Cost of one evaluation (validate, enrich, fire, score, explain) and of "
                    f"deciding alone; CPU time, best round, Python {platform.python_version()}, "
                    f"{date.today()}")
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=0.5,
                        help="measuring time per point, engine and measure "
                             "(default 0.5: ~25 s in all)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "scaling.png")
    args = parser.parse_args()
    rows = measure(args.seconds)
    plot(rows, args.out)
    print(f"machine: {platform.processor() or platform.machine()}, Python "
          f"{platform.python_version()}, {date.today()}; {args.seconds:g} s a point, "
          f"{PROPOSALS} proposals, CPU time of the best round")
    print(table(rows))
    print(f"plot: {args.out}")


if __name__ == "__main__":
    main()
