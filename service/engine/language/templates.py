"""Explanation templates: ``"{system.name} costs {derived.share_of_annual_budget:.1%} of..."``.

Only field paths are substituted, through our own lookup, never ``str.format`` on the proposal
object: a template cannot reach attributes, indexes or anything but catalogued fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from service.engine.language.fieldspec import FieldSpec

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)(?::([^{}]*))?\}")
# Widths and precisions beyond this are refused at load time: `{derived.total_cost_jpy:.999999999f}`
# is a valid format that would build a gigabyte string in every evaluation the rule explains.
MAX_FORMAT_WIDTH = 40
SAMPLES: dict[str, Any] = {"number": 1234.5, "string": "text", "bool": True, "list": ["a", "b"]}
ABSENT = "(not given)"


def show(value: Any, spec: str = "") -> str:
    """A value as the explanation prints it; lists read as "a, b", never as Python reprs."""
    if isinstance(value, list):
        return ", ".join(map(str, value)) if value else "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if spec:
        return format(value, spec)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    if isinstance(value, (int, float)):
        return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.2f}"
    return str(value)


def check_template(text: str, catalog: Mapping[str, FieldSpec]) -> list[tuple[str, str]]:
    """(placeholder, problem) for every placeholder that names no field or has a bad format."""
    problems = []
    for match in PLACEHOLDER.finditer(text):
        path, spec = match.group(1), match.group(2) or ""
        field = catalog.get(path)
        if field is None:
            problems.append((match.group(0), f"template names unknown field {path!r}"))
            continue
        if any(len(n) > 2 or int(n) > MAX_FORMAT_WIDTH for n in re.findall(r"\d+", spec)):
            problems.append((match.group(0), f"format {spec[:20]!r} asks for a width or "
                             f"precision above {MAX_FORMAT_WIDTH}"))
            continue
        try:
            show(SAMPLES[field.kind], spec)
        except (ValueError, TypeError) as error:
            problems.append((match.group(0), f"format {spec!r} does not fit {path}: {error}"))
    return problems


def filled(value: Any, spec: str) -> str:
    """A placeholder filled with a value the fact has: ``show``, with its two commonest cases
    (text without a format, a number with one) taken without its type dispatch."""
    kind = type(value)
    if kind is str and not spec:
        return value
    if kind is float and spec:
        return format(value, spec)
    return show(value, spec)


class Template:
    """A template split once into its fixed text and its placeholders (``parts``, then
    ``tail``), so that rendering only formats the values."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.parts: list[tuple[str, str, str]] = []  # (text before, field path, format)
        start = 0
        for match in PLACEHOLDER.finditer(text):
            self.parts.append((text[start:match.start()], match.group(1), match.group(2) or ""))
            start = match.end()
        self.tail = text[start:]

    def render(self, fact: Mapping[str, Any]) -> str:
        pieces = []
        for before, path, spec in self.parts:
            pieces.append(before)
            pieces.append(filled(fact[path], spec) if path in fact else ABSENT)
        pieces.append(self.tail)
        return "".join(pieces)


def template_fields(text: str) -> frozenset[str]:
    """The field paths a template reads: what its sentence can reveal of a proposal."""
    return frozenset(match.group(1) for match in PLACEHOLDER.finditer(text))
