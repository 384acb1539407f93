"""Generated proposals for benchmarks, tests and trying batches out: varied enough that scores,
costs and deficiencies spread, deterministic for a seed.

``invalid`` mutations break one field each, the way client data goes wrong (a number sent as a
string, a missing field, a value outside the vocabulary, not an object at all), and report
which field the service must name.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import random
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import openpyxl

from schemas.vocabulary import (
    ACQUISITION_PATHS,
    CAPABILITY_AREAS,
    DATALINKS,
    IFF_MODES,
    MUNITIONS_COMMONALITY,
    STANDARDS,
    SYSTEM_CATEGORIES,
    THREATS,
)
from service.batch.csvmap import LIST_SEPARATOR, columns

COUNTRIES = ("US", "AU", "GB", "KR", "CA", "DE", "IT", "NL", "NO", "DK", "PL", "IN", "FR")
SYSTEMS = ("F-35A", "Tomahawk Block V", "SM-6 Block I", "SM-3 Block IIA", "E-2D Advanced Hawkeye",
           "KC-46A", "AMRAAM AIM-120D", "JASSM-ER", "Aegis", "Global Hawk", "MQ-9B",
           "Indigenous widget")


def _some(rng: random.Random, values: tuple[str, ...], most: int) -> list[str]:
    return rng.sample(values, rng.randint(0, min(most, len(values))))


def proposal(rng: random.Random, number: int) -> dict[str, Any]:
    quantity = rng.randint(1, 400)
    cost_kind = rng.choice(("unit_cost", "total_cost"))
    amount = round(10 ** rng.uniform(6.5, 9.5) * (1 if cost_kind == "unit_cost" else quantity))
    currency = rng.choice(("USD", "USD", "JPY"))
    if currency == "JPY":
        amount *= 150
    acquisition: dict[str, Any] = {
        "path": rng.choice(ACQUISITION_PATHS), "quantity": quantity,
        cost_kind: {"amount": amount, "currency": currency},
        "capability_area": rng.choice(CAPABILITY_AREAS),
        "delivery_start_year": rng.randint(2024, 2034),
    }
    if rng.random() < 0.7:
        acquisition["sustainment_cost_per_year"] = {"amount": round(amount * rng.uniform(0.01,
                                                                                         0.1)),
                                                    "currency": currency}
    return {
        "id": f"gen-{number}",
        "title": f"Generated proposal {number}",
        "fiscal_year": rng.randint(2024, 2027),
        "system": {"name": rng.choice(SYSTEMS), "category": rng.choice(SYSTEM_CATEGORIES),
                   "origin_country": rng.choice(("US", "US", "JP", "GB"))},
        "acquisition": acquisition,
        "capabilities": {"datalinks": _some(rng, DATALINKS, 3),
                         "iff_modes": _some(rng, IFF_MODES, 2),
                         "standards": _some(rng, STANDARDS, 3),
                         "munitions_commonality": rng.choice(MUNITIONS_COMMONALITY)},
        "threats_addressed": _some(rng, THREATS, 4),
        "partners": {"operators": _some(rng, COUNTRIES, 5),
                     "co_developers": _some(rng, COUNTRIES, 2),
                     "training_with": _some(rng, COUNTRIES, 3)},
    }


def invalid(rng: random.Random, number: int) -> tuple[Any, str]:
    """A broken proposal and the field path the service must report."""
    broken = proposal(rng, number)
    kind = rng.randrange(5)
    if kind == 0:
        broken["acquisition"]["quantity"] = str(broken["acquisition"]["quantity"])
        return broken, "acquisition.quantity"
    if kind == 1:
        del broken["title"]
        return broken, "title"
    if kind == 2:
        broken["system"]["category"] = "starship"
        return broken, "system.category"
    if kind == 3:
        broken["capabilities"]["datalinks"] = ["link16", "smoke signals"]
        return broken, "capabilities.datalinks.1"
    return [broken["title"]], "$"


def batch(count: int, invalid_share: float = 0.0, seed: int = 2026
          ) -> Iterator[tuple[Any, str | None]]:
    """``count`` items: each a proposal and None, or a broken one and its bad field."""
    rng = random.Random(seed)
    for number in range(count):
        if rng.random() < invalid_share:
            yield invalid(rng, number)
        else:
            yield proposal(rng, number), None


def variants(programmes: list[dict[str, Any]], count: int, seed: int = 2026
             ) -> Iterator[dict[str, Any]]:
    """``count`` what-if variants of ``programmes`` (taken in turn): each one's cost (its
    ``total_cost`` or ``unit_cost``) scaled by 0.5-1.5×, the rest unchanged, so the variants of
    one programme share a few scores at scattered costs, as an analyst's what-if batch does."""
    rng = random.Random(seed)
    for number in range(count):
        variant = copy.deepcopy(programmes[number % len(programmes)])
        variant["id"] = f"{variant.get('id', 'programme')}-v{number}"
        acquisition = variant["acquisition"]
        cost = acquisition["total_cost" if "total_cost" in acquisition else "unit_cost"]
        cost["amount"] = round(cost["amount"] * rng.uniform(0.5, 1.5))
        yield variant


# CSV files of proposals, for tests and benchmarks of CSV batches

def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return LIST_SEPARATOR.join(
            f"{v['fiscal_year']}:{v['amount']!r}:{v['currency']}" if isinstance(v, Mapping)
            else str(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def proposal_to_row(proposal: Mapping[str, Any], header: list[str]) -> list[str]:
    """The CSV cells of a JSON proposal under ``header`` (the inverse of ``row_to_proposal``
    for proposals whose fields all have a column)."""
    row = []
    for name in header:
        node: Any = proposal
        for key in name.split("."):
            node = node.get(key) if isinstance(node, Mapping) else None
        row.append(_cell(node))
    return row


def header_for(proposals: Iterable[Mapping[str, Any]]) -> list[str]:
    """The columns the given proposals use, in the schema's order."""
    used: set[str] = set()
    for proposal in proposals:
        used.update(_paths(proposal, ""))
    return [name for name in columns() if name in used]


def _paths(node: Mapping[str, Any], prefix: str) -> Iterable[str]:
    for key, value in node.items():
        if isinstance(value, Mapping):
            yield from _paths(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def write(path: Path, proposals: list[dict[str, Any]]) -> None:
    """``proposals`` as a batch file, in the format its name gives: a JSON array, JSON Lines,
    CSV, or a spreadsheet whose number cells hold numbers (as a person would type them)."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        path.write_text(json.dumps(proposals, indent=1) + "\n")
    elif suffix == ".jsonl":
        path.write_text("".join(json.dumps(p) + "\n" for p in proposals))
    elif suffix in (".csv", ".xlsx"):
        header = header_for(proposals)
        rows = [proposal_to_row(p, header) for p in proposals]
        if suffix == ".csv":
            with path.open("w", newline="") as out:
                writer = csv.writer(out)
                writer.writerow(header)
                writer.writerows(rows)
        else:
            _write_xlsx(path, header, rows)
    else:
        raise SystemExit(f"{path}: name it .json, .jsonl, .csv or .xlsx")


def _write_xlsx(path: Path, header: list[str], rows: list[list[str]]) -> None:
    numeric = [columns()[name].kind in ("integer", "number") for name in header]
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("proposals")
    sheet.append(header)
    for row in rows:
        sheet.append([float(cell) if is_number and cell else cell
                      for is_number, cell in zip(numeric, row, strict=True)])
    workbook.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description="Write generated proposals to a batch file.")
    parser.add_argument("file", type=Path, help="a .json, .jsonl, .csv or .xlsx file to write")
    parser.add_argument("--count", type=int, default=1000, help="proposals (default: 1000)")
    parser.add_argument("--seed", type=int, default=2026, help="same seed, same proposals")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    write(args.file, [proposal(rng, number) for number in range(args.count)])
    print(f"wrote {args.count:,} proposals to {args.file}")


if __name__ == "__main__":
    main()
