"""Batch results as files: ranked CSV and JSON Lines, written the same way by the API's
downloads and by ``policy-eval score``, so the two can be compared line for line.

Scored items come first, by rank; failed items follow in upload order, with an empty rank and
their errors, so a download accounts for every item of the upload.

CSV cells are neutralized against formula injection (OWASP "CSV injection"): a text cell that a
spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
return) gets a leading apostrophe. Only text cells: numbers are written by us, never negative.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BASE_COLUMNS = ("rank", "index", "line", "status", "proposal_id", "title", "overall_score",
                "rating", "recommendation")
TAIL_COLUMNS = ("deficiencies", "capped_by", "total_cost_jpy", "total_cost_usd",
                "capability_area", "decision_id", "errors")
# only in the downloads of a batch submitted with counterfactuals
COUNTERFACTUAL_COLUMNS = ("next_band_gap", "best_option")


def neutralize(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _number(value: Any) -> str:
    return "" if value is None else repr(value)


def _text(value: Any) -> str:
    return "" if value is None else neutralize(str(value))


def csv_header(criteria: Sequence[str], counterfactuals: bool = False) -> list[str]:
    return [*BASE_COLUMNS, *criteria, *TAIL_COLUMNS,
            *(COUNTERFACTUAL_COLUMNS if counterfactuals else ())]


def scored_row(rank: int, summary: Mapping[str, Any], criteria: Sequence[str],
               counterfactuals: bool = False) -> list[str]:
    scores = summary.get("scores", {})
    return [
        str(rank), str(summary["index"]), str(summary.get("line", "")), "done",
        _text(summary.get("proposal_id")), _text(summary.get("title")),
        _number(summary.get("overall_score")), _text(summary.get("rating")),
        _text(summary.get("recommendation")),
        *(_number(scores.get(name)) for name in criteria),
        _text("|".join(summary.get("deficiencies", []))),
        _text("|".join(summary.get("capped_by", []))),
        _number(summary.get("total_cost_jpy")), _number(summary.get("total_cost_usd")),
        _text(summary.get("capability_area")), _text(summary.get("decision_id")), "",
        *((_number(summary.get("next_band_gap")), _text(summary.get("best_option")))
          if counterfactuals else ()),
    ]


def failed_row(failure: Mapping[str, Any], criteria: Sequence[str],
               counterfactuals: bool = False) -> list[str]:
    errors = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in failure["errors"])
    row = ["", str(failure["index"]), str(failure.get("line", "")), _text(failure["status"]),
           _text(failure.get("proposal_id")), _text(failure.get("title"))]
    row += [""] * (len(BASE_COLUMNS) - len(row) + len(criteria) + len(TAIL_COLUMNS) - 1)
    return [*row, _text(errors), *([""] * len(COUNTERFACTUAL_COLUMNS) if counterfactuals
                                   else [])]


def csv_bytes(rows: Iterable[list[str]]) -> bytes:
    buffer = io.StringIO()
    # CRLF as RFC 4180 has it: the writer then quotes a cell holding a carriage return, which
    # unquoted would end the row in a reader and start the next with the client's text
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode()


def jsonl_scored(rank: int, summary: Mapping[str, Any], evaluation: bytes) -> bytes:
    extra = {key: summary[key] for key in COUNTERFACTUAL_COLUMNS if key in summary}
    head = orjson.dumps({"rank": rank, "index": summary["index"], "line": summary.get("line"),
                         "status": "done", **extra})
    return head[:-1] + b',"evaluation":' + evaluation + b"}\n"


def jsonl_failed(failure: Mapping[str, Any]) -> bytes:
    return orjson.dumps({"rank": None, **failure}) + b"\n"


PORTFOLIO_COLUMNS = ("funded", "reason", "index", "line", "proposal_id", "title",
                     "overall_score", "cost", "currency", "score_per_billion", "group", "detail")


def _money_cell(amount: Any, currency: str) -> str:
    """Yen to the yen, dollars to the cent: what the figures support."""
    if amount is None:
        return ""
    return f"{amount:.0f}" if currency == "JPY" else f"{amount:.2f}"


def portfolio_rows(doc: Mapping[str, Any]) -> Iterable[list[str]]:
    """A portfolio as CSV rows: every proposal once, upload order, funded or with the reason
    it is not (``PORTFOLIO_COLUMNS``)."""
    currency = doc["currency"]
    entries = [(True, e) for e in doc["chosen"]] + [(False, e) for e in doc["excluded"]]
    for funded, entry in sorted(entries, key=lambda pair: pair[1]["index"]):
        yield [
            "yes" if funded else "no", "" if funded else _text(entry.get("reason")),
            str(entry["index"]), _number(entry.get("line")), _text(entry.get("proposal_id")),
            _text(entry.get("title")), _number(entry.get("overall_score")),
            _money_cell(entry.get("cost"), currency), currency,
            _number(entry.get("score_per_billion")), _text(entry.get("group")),
            _text(entry.get("detail", "")),
        ]
