"""How CSV columns map to proposal fields, both ways.

A column is named by the field's dotted path, exactly as rules and error messages name it:
``acquisition.unit_cost.amount``, ``capabilities.datalinks``. The columns and their types are
read from ``ProposalSchema``, so a field added to the schema is a column at once.

Cells are converted by the field's type, because CSV has only text and the schema is strict:
- integer fields take an integer (``400``); number fields a decimal number (``2350000000``,
  ``2.35e9``); no thousands separators, no NaN or infinity;
- list fields take their values separated by ``|`` (``link16|cec``);
- the phasing, a list of records, takes ``fiscal_year:amount:currency`` entries separated by
  ``|`` (``2026:4e10:JPY|2027:4e10:JPY``);
- an empty cell leaves the field out, as if the key were absent from the JSON (a money field
  with both cells empty is left out whole).

A cell that does not convert is an error of that item (with its field and line), never of the
upload; a row converted without error is exactly the JSON proposal it stands for, so a CSV
batch scores the same as the JSON one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from marshmallow import Schema, fields

from schemas.fields import StrictBoolean, StrictFloat, StrictInteger
from schemas.proposal import ProposalSchema

Kind = Literal["string", "integer", "number", "boolean", "list", "records"]
LIST_SEPARATOR = "|"
_INTEGER = re.compile(r"^[+-]?\d+$")
# each digit can be matched one way only: ``\d+\.?\d*`` could split a run of digits between
# its two parts, and a long cell that fails late took quadratic time (5 s for 20,000 digits)
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
ConversionError = dict[str, str]


@dataclass(frozen=True)
class Column:
    path: str
    kind: Kind
    required: bool
    description: str


def _kind(field: fields.Field) -> Kind:
    if isinstance(field, fields.List):
        return "records" if isinstance(field.inner, fields.Nested) else "list"
    if isinstance(field, StrictInteger):
        return "integer"
    if isinstance(field, StrictFloat):
        return "number"
    if isinstance(field, StrictBoolean):
        return "boolean"
    return "string"


def _walk(schema: Schema, prefix: str, required: bool) -> Iterable[Column]:
    for name, field in schema.fields.items():
        path = f"{prefix}{field.data_key or name}"
        if isinstance(field, fields.Nested):
            nested = field.schema
            yield from _walk(nested, f"{path}.", required and field.required)
        else:
            enum = field.metadata.get("enum")
            inner = getattr(field, "inner", None)
            if enum is None and inner is not None and not isinstance(inner, fields.Nested):
                enum = inner.metadata.get("enum")
            kind = _kind(field)
            described = {"list": f"values separated by '{LIST_SEPARATOR}'",
                         "records": "fiscal_year:amount:currency entries separated by "
                                    f"'{LIST_SEPARATOR}'",
                         "integer": "an integer", "number": "a number",
                         "boolean": "true or false"}.get(kind, "text")
            if enum:
                described += f"; one of {', '.join(enum)}"
            yield Column(path, kind, required and field.required, described)


@cache
def columns() -> dict[str, Column]:
    """Every CSV column, by name, in the schema's order."""
    return {c.path: c for c in _walk(ProposalSchema(), "", True)}


def check_header(header: list[str]) -> None:
    """Raise ``ValueError`` naming unknown or repeated columns: either would silently drop or
    overwrite a field in every row."""
    known = columns()
    unknown = [name for name in header if name not in known]
    if unknown:
        raise ValueError(
            f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            "columns are proposal field paths such as acquisition.unit_cost.amount "
            "(the README lists them all)")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise ValueError(f"column{'s' if len(repeated) > 1 else ''} "
                         f"{', '.join(map(repr, repeated))} given more than once")


def _integer(cell: str) -> int:
    if not _INTEGER.match(cell):
        raise ValueError("Not an integer: write digits only, e.g. 400.")
    return int(cell)


def _number(cell: str) -> int | float:
    if not _NUMBER.match(cell):
        raise ValueError("Not a number: write e.g. 2350000000 or 2.35e9, without "
                         "thousands separators.")
    return int(cell) if _INTEGER.match(cell) else float(cell)


def _record(entry: str) -> dict[str, Any]:
    """``2026:4e10:JPY`` as {fiscal_year, amount, currency}; the schema checks the values."""
    parts = [part.strip() for part in entry.split(":")]
    if len(parts) != 3:
        raise ValueError(f"Not a phasing entry: {entry[:40]!r}; write fiscal_year:amount:currency"
                         ", e.g. 2026:4e10:JPY.")
    return {"fiscal_year": _integer(parts[0]), "amount": _number(parts[1]),
            "currency": parts[2]}


def _convert(column: Column, cell: str) -> Any:
    if column.kind == "string":
        return cell
    if column.kind == "list":
        return [value.strip() for value in cell.split(LIST_SEPARATOR) if value.strip()]
    if column.kind == "records":
        return [_record(entry) for entry in cell.split(LIST_SEPARATOR) if entry.strip()]
    if column.kind == "integer":
        return _integer(cell)
    if column.kind == "number":
        return _number(cell)
    lowered = cell.lower()
    if lowered not in ("true", "false"):
        raise ValueError("Not a boolean: write true or false.")
    return lowered == "true"


def row_to_proposal(header: list[str], cells: list[str]
                    ) -> tuple[dict[str, Any], list[ConversionError]]:
    """The proposal a CSV row stands for, and the cells that did not convert."""
    known = columns()
    proposal: dict[str, Any] = {}
    errors: list[ConversionError] = []
    for name, raw in zip(header, cells, strict=True):
        cell = raw.strip()
        if not cell:
            continue
        column = known[name]
        try:
            value = _convert(column, cell)
        except ValueError as error:
            errors.append({"field": column.path, "message": str(error)})
            continue
        node = proposal
        *parents, leaf = column.path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return proposal, errors
