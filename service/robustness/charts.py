"""The robustness charts as SVG text, drawn here: no JavaScript, fonts or files to fetch.

Made for a brief: black text on white, shades of grey with a black outline (they print on any
printer and read without colour), every figure also written as text, and a ``<title>`` and
``<desc>`` that say what the chart shows, for screen readers (``role="img"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from service.robustness.acceptability import RankAcceptability
from service.robustness.core import CORE, CoreIndices
from service.robustness.proposals import Proposals
from service.robustness.stability import Bound, CriterionStability

FONT = 'font-family="sans-serif" font-size="12"'
LABEL_CHARS = 32


def _svg(width: int, height: int, title: str, desc: str, body: Sequence[str]) -> str:
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="title desc">',
        f'<title id="title">{escape(title)}</title>',
        f'<desc id="desc">{escape(desc)}</desc>',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<g {FONT} fill="black">', *body, "</g>", "</svg>", ""])


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>'
            f"{escape(text)}</text>")


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1] + "…"


def _who(proposals: Proposals, bound: Bound) -> str:
    return ", ".join(proposals.label(p) for p in bound.takes_over[:2]) + (
        " …" if len(bound.takes_over) > 2 else "")


def tornado(stability: Sequence[CriterionStability], proposals: Proposals, top_k: int) -> str:
    """Per criterion, how far its weight can move (the others rescaled in proportion) before
    the first place, and the top-k set, change; most sensitive criterion on top."""
    rows = sorted(stability, key=lambda s: (s.first.upper.weight - s.first.lower.weight,
                                            s.criterion))
    left, plot, right, row_height, top = 190, 420, 250, 58, 56

    def x(weight: float) -> float:
        return left + weight * plot

    height = top + row_height * len(rows) + 40
    body = [_text(left, 20, f"Weight-stability intervals: dark, the first place holds; light, "
                            f"the top {top_k} hold"),
            _text(left, 38, "The mark is the stated weight; past a bound, the proposal named "
                            "there ranks first.", extra=' font-size="11"')]
    for tick in (0, 0.25, 0.5, 0.75, 1):
        body.append(f'<line x1="{x(tick):.1f}" y1="{top - 6}" x2="{x(tick):.1f}" '
                    f'y2="{height - 34}" stroke="#bbbbbb" stroke-width="1"/>')
        body.append(_text(x(tick), height - 18, f"{tick:g}", "middle"))
    for i, row in enumerate(rows):
        y = top + i * row_height
        body.append(_text(left - 10, y + 20, _short(row.criterion.replace("_", " ")), "end"))
        for offset, shade, found, name in ((4, "#555555", row.first, "first"),
                                           (26, "#cccccc", row.top_k, f"top {top_k}")):
            low, high = found.lower.weight, found.upper.weight
            body.append(f'<rect x="{x(low):.1f}" y="{y + offset}" '
                        f'width="{max(1.0, x(high) - x(low)):.1f}" height="16" fill="{shade}" '
                        f'stroke="black" stroke-width="1"><title>{escape(name)}: '
                        f'{low:.3f} to {high:.3f}</title></rect>')
            body.append(_text(x(1) + 8, y + offset + 12, f"{name}: {low:.3f}–{high:.3f}"))
        for bound, anchor, shift in ((row.first.lower, "end", -4), (row.first.upper, "start",
                                                                     4)):
            if bound.takes_over:
                body.append(_text(x(bound.weight) + shift, y + 2, _who(proposals, bound),
                                  anchor, ' font-size="10"'))
        body.append(f'<line x1="{x(row.weight):.1f}" y1="{y}" x2="{x(row.weight):.1f}" '
                    f'y2="{y + 46}" stroke="black" stroke-width="3"/>')
    desc = "; ".join(
        f"{s.criterion} weight {s.weight:g}: first place holds from {s.first.lower.weight:.3f} "
        f"to {s.first.upper.weight:.3f}, top {top_k} from {s.top_k.lower.weight:.3f} to "
        f"{s.top_k.upper.weight:.3f}" for s in rows)
    return _svg(left + plot + right, height, "Weight-stability intervals", desc, body)


def heat_map(acceptability: RankAcceptability, proposals: Proposals, shown: int = 15) -> str:
    """The share of samples in which each of the ``shown`` best proposals (by expected rank)
    takes each of the first ``shown`` ranks."""
    best = sorted(acceptability.proposals, key=lambda a: (a.expected_rank, a.position))
    shown = min(shown, len(best), acceptability.shares.shape[1])
    best = best[:shown]
    left, cell, top = 230, 40, 70
    body = [_text(10, 20, f"Rank acceptability over {acceptability.samples:,} samples: the "
                          "share of samples in which a proposal takes a rank"),
            _text(left + cell * shown / 2, top - 28, "rank", "middle")]
    for rank in range(1, shown + 1):
        body.append(_text(left + cell * (rank - 0.5), top - 8, str(rank), "middle"))
    cells = []
    for i, found in enumerate(best):
        y = top + i * cell
        body.append(_text(left - 8, y + cell / 2 + 4,
                          _short(proposals.label(found.position)), "end"))
        for rank in range(1, shown + 1):
            share = acceptability.share(found.position, rank)
            grey = round(255 * (1 - share))
            body.append(f'<rect x="{left + cell * (rank - 1)}" y="{y}" width="{cell}" '
                        f'height="{cell}" fill="rgb({grey},{grey},{grey})" stroke="black" '
                        'stroke-width="0.5"/>')
            if share >= 0.005:
                colour = "white" if share > 0.5 else "black"
                body.append(_text(left + cell * (rank - 0.5), y + cell / 2 + 4,
                                  f"{share:.0%}", "middle", f' fill="{colour}" font-size="11"'))
                cells.append(f"{proposals.label(found.position)} rank {rank}: {share:.0%}")
    desc = (f"Rows: the {shown} proposals with the best expected rank; columns: ranks 1 to "
            f"{shown}. " + "; ".join(cells))
    return _svg(left + cell * shown + 20, top + cell * shown + 20, "Rank acceptability", desc,
                body)


def core_bars(core: CoreIndices, proposals: Proposals, shown: int = 40) -> str:
    """Each proposal's portfolio core index with its standard error, most often funded first:
    every borderline proposal (up to ``shown``), and core ones as room allows; the rest are
    counted, not drawn."""
    by_share = sorted(core.proposals, key=lambda c: (-c.share, c.position))
    borderline = [c for c in by_share if c.status == "borderline"]
    cores = [c for c in by_share if c.status == "core"]
    drawn = sorted(cores[:max(0, shown - len(borderline))] + borderline[:shown],
                   key=lambda c: (-c.share, c.position))
    counts = (f"{len(cores)} core ({len(cores) - sum(c.status == 'core' for c in drawn)} not "
              f"drawn), {len(borderline)} borderline ({max(0, len(borderline) - shown)} not "
              f"drawn), {len(by_share) - len(cores) - len(borderline)} never funded (exterior).")
    left, plot, row, top = 230, 400, 22, 60

    def x(share: float) -> float:
        return left + share * plot

    height = top + row * max(1, len(drawn)) + 60
    body = [_text(10, 20, f"Portfolio core indices over {core.samples:,} samples: how often "
                          "the optimal portfolio funds each proposal"),
            _text(10, 38, f"core: funded in at least {CORE:.0%} of samples; bars show ± one "
                          "standard error", extra=' font-size="11"')]
    for tick in (0, 0.25, 0.5, 0.75, 1):
        body.append(f'<line x1="{x(tick):.1f}" y1="{top - 6}" x2="{x(tick):.1f}" '
                    f'y2="{height - 50}" stroke="#bbbbbb" stroke-width="1"/>')
        body.append(_text(x(tick), height - 36, f"{tick:.0%}", "middle"))
    body.append(f'<line x1="{x(CORE):.1f}" y1="{top - 10}" x2="{x(CORE):.1f}" '
                f'y2="{height - 50}" stroke="black" stroke-dasharray="4 3"/>')
    for i, found in enumerate(drawn):
        y = top + i * row
        shade = {"core": "#444444", "borderline": "#aaaaaa", "exterior": "white"}[found.status]
        body.append(_text(left - 8, y + 14, _short(proposals.label(found.position)), "end"))
        body.append(f'<rect x="{left}" y="{y + 3}" width="{found.share * plot:.1f}" '
                    f'height="14" fill="{shade}" stroke="black" stroke-width="1"/>')
        low, high = (max(0.0, found.share - found.standard_error),
                     min(1.0, found.share + found.standard_error))
        body.append(f'<line x1="{x(low):.1f}" y1="{y + 10}" x2="{x(high):.1f}" y2="{y + 10}" '
                    'stroke="black" stroke-width="1.5"/>')
        body.append(_text(x(1) + 8, y + 14, f"{found.status} {found.share:.1%}"))
    body.append(_text(10, height - 12, counts))
    desc = "; ".join(f"{proposals.label(c.position)}: {c.status}, funded in {c.share:.1%} of "
                     f"samples (± {c.standard_error:.1%})" for c in drawn)
    desc = f"{desc}. {counts}" if desc else counts
    return _svg(left + plot + 150, height, "Portfolio core indices", desc, body)

