"""How ``policy-eval`` prints for people: one style for money, scores and counts, labels instead
of vocabulary codes, and tables that are never cut.

Money reads as the explanations write it (``¥2.05 trillion``, ``$23.1 billion``: the engine's
own formatter), scores with at most two decimals and no trailing zeros (``89.2``, ``65.65``,
``100``), counts with thousands separators and the right plural (``1 error``, ``1,204
proposals``).

Tables fold a long cell onto more lines instead of cutting it with "…". On a terminal they fit
its width; written to a file or a pipe (where rich would assume 80 columns) a table takes the
width it needs, so a redirected report holds every id, date and hash whole. Progress bars and
messages about the run go to stderr, leaving stdout to the results.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from rich.console import Console
from rich.table import Table

from schemas.vocabulary import CAPABILITY_AREA_LABELS
from service.engine import FieldSpec, format_value

Currency = Literal["JPY", "USD"]
UNBOUNDED = 100_000  # columns: room to measure a table's natural width


def console(stderr: bool = False) -> Console:
    """The console of one run: stdout for results, stderr for progress and notes."""
    return Console(stderr=stderr, highlight=False)


def table(title: str, columns: Sequence[str], right: Sequence[str] = ()) -> Table:
    """A table whose cells fold instead of being cut; ``right`` names the numeric columns."""
    found = Table(title=title, title_justify="left")
    for name in columns:
        found.add_column(name, justify="right" if name in right else "left", overflow="fold")
    return found


def print_table(out: Console, found: Table) -> None:
    """Fit a terminal; elsewhere take the table's natural width (rich assumes 80 columns
    when it cannot ask a terminal, and would squeeze and cut every column to that)."""
    if out.is_terminal:
        out.print(found)
        return
    needed = out.measure(found, options=out.options.update_width(UNBOUNDED)).maximum
    if needed <= out.width:
        out.print(found)
        return
    width = out.width
    out.width = needed
    try:
        out.print(found)
    finally:
        out.width = width


def words(code: str) -> str:
    """A vocabulary code as words: ``recommend_with_conditions`` → ``recommend with
    conditions``."""
    return code.replace("_", " ")


def area(code: str | None) -> str:
    """A capability area by its Defense Buildup Program name."""
    if not code:
        return "no capability area"
    return CAPABILITY_AREA_LABELS.get(code, words(code))


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 error``, ``0 errors``, ``1,204 proposals``."""
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"


def score(value: float) -> str:
    """A score as people write it: at most two decimals, none that are zero."""
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def change(value: float) -> str:
    """A signed difference of scores: ``+3``, ``−2.5``; one too small to show is ``±0``, never
    ``−0``."""
    shown = score(abs(value))
    return ("±" if shown == "0" else "+" if value > 0 else "−") + shown


def money(amount: float, currency: Currency) -> str:
    """``¥2.05 trillion``, ``$23.1 billion``, ``¥850,000``: as the explanations write money."""
    return format_value(float(amount), FieldSpec("", "number", "", unit=currency))
