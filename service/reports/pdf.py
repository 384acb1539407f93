"""The layouts: an evaluation (scores, reasons, why not, identity) and a portfolio (spend against
each envelope, funded and excluded proposals, identity), each on one A4 page.

A page holds what it can: a layout is drawn at the most generous density first and at tighter
ones (smaller type, fewer why-not lines and rows) until it fits, and long lists end with how
many were left out. The console shows everything; the page is for the file and the signature.
A report takes ~90 ms (F-35's, the longest example; ~40 ms of it reads the two fonts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from service.engine import FieldSpec, format_value

FONTS = Path(__file__).parent / "fonts"
FAMILY = "DejaVu"
MARGIN = 12.0  # mm
INK, MUTED, RULE = (20, 20, 20), (90, 90, 90), (200, 200, 200)
BAR, BAR_BACK, DEFICIENT = (40, 90, 160), (225, 230, 238), (170, 30, 30)
HEAD = (236, 239, 244)
NOT_YET = "not offered by this service yet."
# amounts read as the explanations' evidence reads them (¥366 billion)
MONEY = {currency: FieldSpec("cost", "number", "Cost", unit=currency)
         for currency in ("JPY", "USD")}


@dataclass(frozen=True)
class Density:
    size: float  # body type, pt
    why_not: int  # rules not fired listed, at most
    rows: int  # funded / excluded rows listed, at most


DENSITIES = (Density(8.5, 6, 28), Density(7.5, 4, 20), Density(6.5, 2, 14), Density(6, 0, 8))


def words(code: str | None) -> str:
    return (code or "").replace("_", " ")


def money(amount: float | None, currency: str) -> str:
    return "—" if amount is None else format_value(amount, MONEY[currency])


class Sheet(FPDF):
    def __init__(self, size: float) -> None:
        super().__init__(format="A4", unit="mm")
        self.size = size
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, MARGIN)
        self.add_font(FAMILY, "", FONTS / "DejaVuSansCondensed.ttf")
        self.add_font(FAMILY, "B", FONTS / "DejaVuSansCondensed-Bold.ttf")
        self.set_text_color(*INK)
        self.add_page()

    @property
    def line_height(self) -> float:
        return self.size * 0.45

    def text_block(self, text: str, size: float | None = None, bold: bool = False,
                   color: tuple[int, int, int] = INK, indent: float = 0.0) -> None:
        size = size or self.size
        self.set_font(FAMILY, "B" if bold else "", size)
        self.set_text_color(*color)
        self.set_x(MARGIN + indent)
        self.multi_cell(self.epw - indent, size * 0.45, text, align="L",
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)

    def heading(self, text: str) -> None:
        self.ln(self.size * 0.35)
        self.text_block(text, self.size + 1.5, bold=True)
        y = self.get_y()
        self.set_draw_color(*RULE)
        self.line(MARGIN, y, MARGIN + self.epw, y)
        self.ln(0.8)

    def pairs(self, items: Iterable[tuple[str, str]]) -> None:
        """Label: value lines, the labels in a column."""
        label_width = 30.0
        for label, value in items:
            self.set_font(FAMILY, "B", self.size)
            self.cell(label_width, self.line_height, label)
            self.set_font(FAMILY, "", self.size)
            self.multi_cell(self.epw - label_width, self.line_height, value, align="L",
                            new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def row(self, cells: Sequence[tuple[str, float, str]], bold: bool = False) -> None:
        """One line of a table: (text, width mm, align) per cell; text is cut to fit."""
        self.set_font(FAMILY, "B" if bold else "", self.size)
        for text, width, align in cells:
            self.cell(width, self.line_height + 0.6, self.fit(text, width), align=align)
        self.ln(self.line_height + 0.6)

    def fit(self, text: str, width: float) -> str:
        if self.get_string_width(text) <= width - 1:
            return text
        while text and self.get_string_width(text + "…") > width - 1:
            text = text[:-1]
        return text + "…"

    def bar(self, x: float, y: float, width: float, share: float,
            color: tuple[int, int, int] = BAR) -> None:
        height = self.line_height * 0.7
        self.set_fill_color(*BAR_BACK)
        self.rect(x, y, width, height, style="F")
        self.set_fill_color(*color)
        self.rect(x, y, width * max(0.0, min(share, 1.0)), height, style="F")


def _one_page(draw: Callable[[Sheet, Density], None], created: datetime | None) -> bytes:
    """The layout at the first density that fits on one page (the last one regardless)."""
    for density in DENSITIES:
        sheet = Sheet(density.size)
        if created is not None:
            sheet.set_creation_date(created)  # the same result gives the same file
        draw(sheet, density)
        if sheet.page_no() == 1:
            break
    return bytes(sheet.output())


def _date(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


# --- an evaluation ----------------------------------------------------------------------------


def _scores(sheet: Sheet, evaluation: dict[str, Any]) -> None:
    widths = (62.0, 16.0, 16.0, 16.0, 16.0, 18.0)
    bar_width = sheet.epw - sum(widths) - 2
    sheet.row([("Criterion", widths[0], "L"), ("Weight", widths[1], "R"),
               ("Baseline", widths[2], "R"), ("Points", widths[3], "R"),
               ("Score", widths[4], "R"), ("Weighted", widths[5], "R")], bold=True)
    for criterion in evaluation["criteria"]:
        y = sheet.get_y()
        sheet.row([(criterion["label"], widths[0], "L"),
                   (f"{criterion['weight']:.0%}", widths[1], "R"),
                   (f"{criterion['baseline']:g}", widths[2], "R"),
                   (f"{criterion['points']:+g}", widths[3], "R"),
                   (f"{criterion['score']:g}", widths[4], "R"),
                   (f"{criterion['weighted_score']:.2f}", widths[5], "R")])
        sheet.bar(MARGIN + sum(widths) + 2, y + 0.6, bar_width, criterion["score"] / 100)
    sheet.row([("Overall (Σ weight × score)", sum(widths[:5]), "L"),
               (f"{evaluation['overall_score']:.2f}", widths[5], "R")], bold=True)


def _reasons(sheet: Sheet, evaluation: dict[str, Any]) -> None:
    sheet.heading("Reasons: every point, by the rule that gave it")
    for criterion in evaluation["criteria"]:
        findings = [*criterion["deficiencies"], *criterion["strengths"],
                    *criterion["weaknesses"]]
        sheet.text_block(f"{criterion['label']}: {criterion['score']:g} "
                         f"(baseline {criterion['baseline']:g}, "
                         f"{criterion['points']:+g} points)", bold=True)
        if not findings:
            sheet.text_block("No rule fired: the baseline stands.", color=MUTED, indent=3)
        for finding in findings:
            caps = finding.get("caps_at")
            lead = f"{finding['points']:+g}  {finding['rule_id']}  "
            text = finding["sentence"] + (f" Deficiency: caps the recommendation at "
                                          f"{words(caps)}." if caps else "")
            sheet.text_block(lead + text, color=DEFICIENT if caps else INK, indent=3)


def _why_not(sheet: Sheet, evaluation: dict[str, Any], limit: int) -> None:
    missed = [rule for rule in evaluation.get("not_fired") or [] if rule["points"] > 0]
    if limit == 0 or not missed:
        return
    missed.sort(key=lambda rule: -rule["points"])
    sheet.heading("Why not more: the strengths that did not apply, most points first")
    for rule in missed[:limit]:
        failed = "; ".join(atom["text"] for atom in rule["failed"])
        sheet.text_block(f"+{rule['points']:g}  {rule['rule_id']}  {rule['title']}: {failed}",
                         indent=3)
    if len(missed) > limit:
        sheet.text_block(f"… and {len(missed) - limit} more (the console lists them all).",
                         color=MUTED, indent=3)


def _evaluation(job: dict[str, Any]) -> Callable[[Sheet, Density], None]:
    evaluation = job["evaluation"]
    ruleset = evaluation["ruleset"]

    def draw(sheet: Sheet, density: Density) -> None:
        sheet.text_block(f"Evaluation report · {ruleset['name']} {ruleset['version']}",
                         color=MUTED)
        sheet.text_block(evaluation["title"], sheet.size + 4, bold=True)
        verdict = (f"Overall {evaluation['overall_score']:.2f} / 100 · rated "
                   f"{evaluation['rating']} · {words(evaluation['recommendation'])}")
        sheet.text_block(verdict, sheet.size + 2.5, bold=True)
        if evaluation["capped_by"]:
            sheet.text_block(f"Capped by {', '.join(evaluation['capped_by'])}: the rating "
                             f"alone would {words(evaluation['band_recommendation'])}.",
                             color=DEFICIENT)
        sheet.heading("Scores")
        _scores(sheet, evaluation)
        _reasons(sheet, evaluation)
        _why_not(sheet, evaluation, density.why_not)
        sheet.heading("What it would take, and how robust")
        sheet.text_block(f"What it would take: {NOT_YET} Robustness: {NOT_YET}", color=MUTED)
        sheet.heading("Identity")
        sheet.pairs([
            ("Evaluation", f"{job['id']} (completed {job.get('completed_at') or '—'})"),
            ("Decision id", evaluation["decision_id"]),
            ("Input hash", evaluation["input_hash"]),
            ("Ruleset", f"{ruleset['name']} {ruleset['version']}"),
            ("Ruleset hash", ruleset["hash"]),
        ])

    return draw


def evaluation_pdf(job: dict[str, Any]) -> bytes:
    """One page for a finished evaluation (the body of ``GET /v1/evaluations/{id}``)."""
    return _one_page(_evaluation(job), _date(job.get("completed_at")))


# --- a portfolio ------------------------------------------------------------------------------


def _spend(sheet: Sheet, portfolio: dict[str, Any]) -> None:
    currency = portfolio["currency"]
    name_width, amount_width = 52.0, 64.0
    bar_width = sheet.epw - name_width - amount_width - 2
    for group in portfolio["groups"]:
        y = sheet.get_y()
        share = group["spent"] / group["budget"] if group["budget"] else 0.0
        name = "the whole batch" if group["name"] == "all" else words(group["name"])
        sheet.row([(name, name_width, "L"),
                   (f"{money(group['spent'], currency)} of "
                    f"{money(group['budget'], currency)}", amount_width, "R")])
        sheet.bar(MARGIN + name_width + amount_width + 2, y + 0.6, bar_width, share)


def _entries(sheet: Sheet, header: Sequence[tuple[str, float, str]],
             rows: Sequence[Sequence[str]], limit: int) -> None:
    """A table of at most ``limit`` rows whose cells wrap; header: (title, width mm, align)."""
    sheet.set_font(FAMILY, "", sheet.size)
    sheet.set_fill_color(255, 255, 255)  # a table paints its cells with the current fill
    with sheet.table(col_widths=[width for _, width, _ in header],
                     text_align=[align for _, _, align in header], width=sheet.epw,
                     borders_layout="HORIZONTAL_LINES", line_height=sheet.line_height,
                     padding=(0.4, 1.0), align="LEFT",
                     headings_style=FontFace(emphasis="BOLD", fill_color=HEAD)) as grid:
        for cells in [[title for title, _, _ in header], *rows[:limit]]:
            row = grid.row()
            for text in cells:
                row.cell(text)
    if len(rows) > limit:
        sheet.text_block(f"… and {len(rows) - limit} more (the console lists them all).",
                         color=MUTED)


def _portfolio(report: dict[str, Any]) -> Callable[[Sheet, Density], None]:
    portfolio, batch, decisions = report["portfolio"], report["batch"], report["decisions"]
    currency = portfolio["currency"]
    ruleset = report.get("ruleset") or {}

    def title(entry: dict[str, Any]) -> str:
        return str(entry.get("title") or f"item {entry['index']}")

    by_area = portfolio["budget_basis"] != "given"  # else every entry's group is "all"
    funded = [[title(e), *([words(e.get("group"))] if by_area else []),
               f"{e.get('overall_score') or 0:.2f}", money(e.get("cost"), currency),
               decisions.get(str(e["index"]), "—")] for e in portfolio["chosen"]]
    excluded = [[title(e), words(e.get("reason")), e.get("detail") or ""]
                for e in portfolio["excluded"]]

    def draw(sheet: Sheet, density: Density) -> None:
        sheet.text_block(f"Portfolio report · batch {batch['id']}", color=MUTED)
        basis = ("the given budget" if portfolio["budget_basis"] == "given"
                 else "each capability area's remaining envelope")
        sheet.text_block(f"{len(portfolio['chosen'])} of {batch['done']} scored proposals "
                         f"funded within {basis}", sheet.size + 4, bold=True)
        proven = ("optimal (proven)" if portfolio["exact"]
                  else f"best found; no set scores more than {portfolio['upper_bound']:.2f}")
        sheet.text_block(f"Spent {money(portfolio['spent'], currency)} of "
                         f"{money(portfolio['budget'], currency)} · total score "
                         f"{portfolio['total_score']:.2f} · {proven}", sheet.size + 1.5,
                         bold=True)
        sheet.heading("Spend against each budget")
        _spend(sheet, portfolio)
        sheet.heading("Funded")
        area = [("Capability area", 30, "LEFT")] if by_area else []
        _entries(sheet, [("Proposal", 96 - len(area) * 30, "LEFT"), *area,
                         ("Score", 12, "RIGHT"), ("Cost", 22, "RIGHT"),
                         ("Decision id", 56, "LEFT")], funded, density.rows)
        sheet.heading("Left out, each with its reason")
        _entries(sheet, [("Proposal", 66, "LEFT"), ("Reason", 28, "LEFT"), ("Why", 92, "LEFT")],
                 excluded, density.rows)
        sheet.heading("Robustness")
        sheet.text_block(f"Rank acceptability and the portfolio core: {NOT_YET}", color=MUTED)
        sheet.heading("Identity")
        sheet.pairs([
            ("Batch", f"{batch['id']} ({batch['total']} proposals, {batch['failed']} failed; "
                      f"finished {batch.get('finished_at') or '—'})"),
            ("Ruleset", f"{ruleset.get('name', '—')} {ruleset.get('version', '')}"),
            ("Ruleset hash", ruleset.get("hash", "—")),
        ])

    return draw


def portfolio_pdf(report: dict[str, Any]) -> bytes:
    """One page for a portfolio report (the body of ``GET …/portfolio/report``)."""
    return _one_page(_portfolio(report), _date(report["batch"].get("finished_at")))
